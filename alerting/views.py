"""The monitoring pages: dashboard, model version page, alert list and detail, ack/resolve.

The dashboard and the model page live here, not in ``predictions``, because they show
alerts beside the metrics: ``alerting`` may read ``predictions``, never the reverse.
Views stay thin: they parse input, call ``predictions.overview``/``predictions.metrics``/
``alerting.lifecycle`` and render. Acknowledge and resolve are POST-only, CSRF-protected,
and need ``alerting.change_alert``; a GET never changes anything.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from alerting.choices import AlertStatus, Severity
from alerting.forms import AlertFilterForm, AlertNoteForm
from alerting.lifecycle import acknowledge_alert, resolve_alert
from alerting.models import Alert
from predictions.charts import line_chart_svg, reliability_diagram_svg
from predictions.metrics import window_metrics
from predictions.overview import (
    DASHBOARD_WINDOW_MINUTES,
    snapshot_series,
    version_is_known,
    version_overview,
)

CHANGE_ALERT = "alerting.change_alert"
ALERTS_PER_PAGE = 25
OPEN = ~Q(status=AlertStatus.RESOLVED)


@require_safe
@login_required
def dashboard(request):
    """Every model version with predictions in the last 24 h, and its open alerts."""
    versions = version_overview(DASHBOARD_WINDOW_MINUTES)
    open_alerts = dict(
        Alert.objects.filter(OPEN)
        .order_by()
        .values("model_version")
        .annotate(n=Count("id"))
        .values_list("model_version", "n")
    )
    for version in versions:
        version["open_alerts"] = open_alerts.get(version["model_version"], 0)
    quiet_versions = sorted(
        v for v in open_alerts if v not in {row["model_version"] for row in versions}
    )
    open_by_severity = dict(
        Alert.objects.filter(OPEN)
        .order_by()
        .values("severity")
        .annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    return render(request, "predictions/dashboard.html", {
        "versions": versions,
        "quiet_versions": [(v, open_alerts[v]) for v in quiet_versions],
        "open_total": sum(open_alerts.values()),
        "open_critical": open_by_severity.get(Severity.CRITICAL, 0),
        "window_hours": DASHBOARD_WINDOW_MINUTES // 60,
    })


@require_safe
@login_required
def model_detail(request, version):
    """One model version: figures of the last 24 h, trend charts, reliability, alerts."""
    recent_alerts = list(Alert.objects.filter(model_version=version)[:10])
    if not recent_alerts and not version_is_known(version):
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
    return render(request, "predictions/model_detail.html", {
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
        "open_alerts": Alert.objects.filter(OPEN, model_version=version).count(),
        "can_change_alerts": request.user.has_perm(CHANGE_ALERT),
    })


@require_safe
@login_required
def alert_list(request):
    """Alerts, newest first, with filters, pagination and the ack/resolve forms."""
    filters = AlertFilterForm(request.GET or None)
    alerts = filters.filter(Alert.objects.all()) if request.GET else Alert.objects.all()
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(request, "alerting/alert_list.html", {
        "filters": filters if request.GET else AlertFilterForm(),
        "page": page,
        "alerts": page.object_list,
        "filter_query": kept.urlencode(),
        "can_change_alerts": request.user.has_perm(CHANGE_ALERT),
    })


@require_safe
@login_required
def alert_detail(request, alert_id):
    """One alert and its history: created, acknowledged, resolved, deliveries."""
    alert = get_object_or_404(Alert.objects.select_related("rule"), alert_id=alert_id)
    return render(request, "alerting/alert_detail.html", {
        "alert": alert,
        "deliveries": alert.deliveries.all(),
        "can_change_alerts": request.user.has_perm(CHANGE_ALERT),
    })


def _back(request, alert_id):
    """Where to go after an action: the page the form was on, if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("alert-detail", args=[alert_id])


def _note_or_refuse(request):
    if not request.user.has_perm(CHANGE_ALERT):
        raise PermissionDenied("You may not change alerts.")
    form = AlertNoteForm(request.POST)
    if not form.is_valid():
        return None, "; ".join(e for errors in form.errors.values() for e in errors)
    return form.cleaned_data["note"], None


@require_POST
@login_required
def acknowledge(request, alert_id):
    """Acknowledge one alert with an optional note (the first acknowledger is kept)."""
    note, error = _note_or_refuse(request)
    if error:
        messages.error(request, f"Alert {alert_id} was not acknowledged: {error}")
        return redirect(_back(request, alert_id))
    outcome = acknowledge_alert(alert_id, by=request.user.get_username(), note=note)
    if outcome.alert is None:
        raise Http404("No such alert.")
    if outcome.acknowledged:
        messages.success(request, f"Alert {alert_id} acknowledged.")
    else:
        alert = outcome.alert
        when = f"{alert.acknowledged_at:%Y-%m-%d %H:%M} UTC" if alert.acknowledged_at else ""
        messages.info(
            request,
            f"Alert {alert_id} was already acknowledged by "
            f"{alert.acknowledged_by or 'someone'} {when}".rstrip() + ".",
        )
    return redirect(_back(request, alert_id))


@require_POST
@login_required
def resolve(request, alert_id):
    """Resolve one alert with an optional note (resolving twice keeps the first)."""
    note, error = _note_or_refuse(request)
    if error:
        messages.error(request, f"Alert {alert_id} was not resolved: {error}")
        return redirect(_back(request, alert_id))
    outcome = resolve_alert(alert_id, by=request.user.get_username(), note=note)
    if outcome.alert is None:
        raise Http404("No such alert.")
    if outcome.resolved:
        messages.success(request, f"Alert {alert_id} resolved.")
    else:
        alert = outcome.alert
        messages.info(
            request,
            f"Alert {alert_id} was already resolved by {alert.resolved_by or 'someone'}.",
        )
    return redirect(_back(request, alert_id))
