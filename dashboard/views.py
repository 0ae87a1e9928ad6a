"""The dashboard (``/``) and the model version pages (``/models/<version>/``, where
``/registry/<version>/`` leads too).

They show a version's metrics and its alerts together, so they live in this small app
that reads both ``predictions`` (metrics, charts) and ``alerting`` (alerts): neither of
those apps has to know about the other's pages. Views stay thin: the range comes from
``dashboard.ranges``, the figures from ``predictions.overview``/``predictions.metrics``,
the charts from ``dashboard.model_charts``, the alerts from ``Alert.objects``.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from alerting.choices import Severity
from alerting.models import Alert
from alerting.views import alert_forms_context
from dashboard import version_page
from dashboard.model_charts import model_charts
from dashboard.ranges import (
    CUSTOM,
    PRESET_LABELS,
    RangeError,
    parse_range,
    parse_window,
)
from predictions.charts import reliability_diagram_svg
from predictions.metrics import MetricWindow, metrics_of
from predictions.overview import WINDOW_CHOICES, version_overview
from predictions.registry import version_exists


@require_safe
@login_required
def dashboard(request):
    """Every model version with predictions in the chosen window, and its unresolved alerts."""
    context = {"window_choices": [(key, label) for key, (_, label) in WINDOW_CHOICES.items()]}
    try:
        window_key, window_minutes = parse_window(request.GET)
    except RangeError as error:
        context.update(window_key="24h", window_error=str(error))
        return render(request, "dashboard/dashboard.html", context, status=400)
    versions = version_overview(window_minutes)
    unresolved = Alert.objects.unresolved()
    unresolved_per_version = unresolved.count_by("model_version")
    for version in versions:
        version["open_alerts"] = unresolved_per_version.get(version["model_version"], 0)
    # Versions without recent predictions can still have alerts waiting for someone.
    shown = {row["model_version"] for row in versions}
    quiet_versions = sorted(v for v in unresolved_per_version if v not in shown)
    context.update({
        "versions": versions,
        "quiet_versions": [(v, unresolved_per_version[v]) for v in quiet_versions],
        "open_total": sum(unresolved_per_version.values()),
        "open_critical": unresolved.count_by("severity").get(Severity.CRITICAL, 0),
        "window_key": window_key,
        "window_label": WINDOW_CHOICES[window_key][1],
    })
    return render(request, "dashboard/dashboard.html", context)


@require_safe
@login_required
def model_detail(request, version):
    """Everything about one model version: figures and charts over a time range, stage
    and timeline, training figures beside live ones, drift, open alerts, actions."""
    open_alerts = version_page.open_alerts(version)
    if (not open_alerts and not version_exists(version)
            and not Alert.objects.filter(model_version=version).exists()):
        raise Http404("No predictions, snapshots or alerts for this model version.")
    entry = version_page.registry_entry(version)
    context = {
        "version": version,
        "entry": entry,
        "presets": PRESET_LABELS.items(),
        "open_alert_list": open_alerts,
        "open_alerts": Alert.objects.unresolved().filter(model_version=version).count(),
        "events": version_page.short_timeline(version),
        "actions": version_page.version_actions(version),
        "training_vs_live": version_page.training_beside_live(entry, None),
        "timeline_snapshots": version_page.TIMELINE_SNAPSHOTS,
        **version_page.latest_drift(version),
        "start_value": request.GET.get("start", ""),
        "end_value": request.GET.get("end", ""),
        **alert_forms_context(request.user),
    }
    try:
        time_range = parse_range(request.GET)
    except RangeError as error:
        context.update(range_key=CUSTOM, range_error=str(error))
        return render(request, "dashboard/model_detail.html", context, status=400)
    figures = metrics_of(MetricWindow(version, time_range.start, time_range.end))
    if time_range.key != CUSTOM:
        context.update(start_value="", end_value="")
    context.update({
        "time_range": time_range,
        "range_key": time_range.key,
        "figures": figures,
        "training_vs_live": version_page.training_beside_live(entry, figures),
        "charts": model_charts(version, time_range),
        "reliability_chart": reliability_diagram_svg(
            figures["calibration_bins"],
            title=f"Reliability diagram of {version}, {time_range.label}",
        ),
        "calibration_bins": figures["calibration_bins"],
    })
    return render(request, "dashboard/model_detail.html", context)
