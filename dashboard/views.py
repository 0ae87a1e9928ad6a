"""The dashboard (``/``) and the model version pages (``/models/<version>/``).

They show a version's metrics and its alerts together, so they live in this small app
that reads both ``predictions`` (metrics, charts) and ``alerting`` (alerts): neither of
those apps has to know about the other's pages. Views stay thin: the figures come from
``predictions.overview``/``predictions.metrics``, the alerts from ``Alert.objects``.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from alerting.choices import Severity
from alerting.models import Alert
from alerting.views import alert_forms_context
from predictions.charts import line_chart_svg, reliability_diagram_svg
from predictions.metrics import window_metrics
from predictions.overview import (
    DASHBOARD_WINDOW_MINUTES,
    snapshot_series,
    version_overview,
)
from predictions.registry import version_exists

RECENT_ALERTS = 10


@require_safe
@login_required
def dashboard(request):
    """Every model version with predictions in the last 24 h, and its unresolved alerts."""
    versions = version_overview(DASHBOARD_WINDOW_MINUTES)
    unresolved = Alert.objects.unresolved()
    unresolved_per_version = unresolved.count_by("model_version")
    for version in versions:
        version["open_alerts"] = unresolved_per_version.get(version["model_version"], 0)
    # Versions without recent predictions can still have alerts waiting for someone.
    shown = {row["model_version"] for row in versions}
    quiet_versions = sorted(v for v in unresolved_per_version if v not in shown)
    return render(request, "dashboard/dashboard.html", {
        "versions": versions,
        "quiet_versions": [(v, unresolved_per_version[v]) for v in quiet_versions],
        "open_total": sum(unresolved_per_version.values()),
        "open_critical": unresolved.count_by("severity").get(Severity.CRITICAL, 0),
        "window_hours": DASHBOARD_WINDOW_MINUTES // 60,
    })


@require_safe
@login_required
def model_detail(request, version):
    """One model version: figures of the last 24 h, trend charts, reliability, alerts."""
    recent_alerts = list(Alert.objects.filter(model_version=version)[:RECENT_ALERTS])
    if not recent_alerts and not version_exists(version):
        raise Http404("No predictions, snapshots or alerts for this model version.")
    figures = window_metrics(version, DASHBOARD_WINDOW_MINUTES)
    snapshots = snapshot_series(version)
    charts = [
        line_chart_svg(
            [(s.timestamp, s.accuracy) for s in snapshots],
            title=f"Accuracy of {version} over time", y_label="accuracy", y_min=0, y_max=1,
        ),
        line_chart_svg(
            [(s.timestamp, s.f1_score) for s in snapshots],
            title=f"F1 score of {version} over time", y_label="F1", y_min=0, y_max=1,
        ),
        line_chart_svg(
            [(s.timestamp, s.expected_calibration_error) for s in snapshots],
            title=f"Expected calibration error of {version} over time", y_label="ECE",
            y_min=0,
        ),
    ]
    return render(request, "dashboard/model_detail.html", {
        "version": version,
        "figures": figures,
        "window_hours": DASHBOARD_WINDOW_MINUTES // 60,
        "trend_charts": zip(["Accuracy", "F1 score", "Expected calibration error"], charts,
                            strict=True),
        "num_snapshots": len(snapshots),
        "reliability_chart": reliability_diagram_svg(
            figures.get("calibration_bins") or [],
            title=f"Reliability diagram of {version}, last {DASHBOARD_WINDOW_MINUTES // 60} h",
        ),
        "calibration_bins": figures.get("calibration_bins") or [],
        "recent_alerts": recent_alerts,
        "open_alerts": Alert.objects.unresolved().filter(model_version=version).count(),
        **alert_forms_context(request.user),
    })
