"""The alert pages: the alert list and one alert's page, and the Acknowledge/Resolve forms.

Views stay thin: they parse input, call ``alerting.lifecycle`` and render what it says.
Acknowledge and resolve are POST-only, CSRF-protected, and need the lifecycle's change
permission (403 without); a GET never changes anything. The dashboard and the model
pages, which show alerts beside the metrics, are in the ``dashboard`` app.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from alerting import lifecycle, silences
from alerting.choices import AlertStatus
from alerting.forms import AlertFilterForm, AlertNoteForm
from alerting.models import Alert, Silence
from alerting.statistics import noisiest_rules
from predictions.models import DriftReport

ALERTS_PER_PAGE = 25
SILENCES_SHOWN = 200


def alert_forms_context(user) -> dict:
    """What the Acknowledge/Resolve forms of a page need (alerting/_alert_forms.html)."""
    return {
        "can_change_alerts": lifecycle.may_change_alerts(user),
        "note_max_length": lifecycle.NOTE_MAX_LENGTH,
    }


def unresolved_first(alerts):
    """Unresolved alerts before resolved ones, each newest first (the list's default)."""
    return alerts.annotate(
        resolved_last=Case(When(status=AlertStatus.RESOLVED, then=Value(1)), default=Value(0),
                           output_field=IntegerField())
    ).order_by("resolved_last", "-timestamp", "-id")


@require_safe
@login_required
def alert_list(request):
    """Alerts, newest first, with filters, pagination and the ack/resolve forms."""
    versions = Alert.objects.known_versions()
    filters = AlertFilterForm(request.GET or None, versions=versions)
    alerts = filters.filter(Alert.objects.all()) if request.GET else Alert.objects.all()
    page = Paginator(unresolved_first(alerts), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(request, "alerting/alert_list.html", {
        "filters": filters if request.GET else AlertFilterForm(versions=versions),
        "page": page,
        "alerts": page.object_list,
        "filter_query": kept.urlencode(),
        "noisiest_rules": noisiest_rules(),
        **alert_forms_context(request.user),
    })


@require_safe
@login_required
def alert_detail(request, alert_id):
    """One alert and its history: created, acknowledged, resolved, deliveries."""
    alert = get_object_or_404(Alert.objects.select_related("rule"), alert_id=alert_id)
    latest_drift_report = (
        DriftReport.objects.filter(model_version=alert.model_version)
        .order_by("-created_at", "-id").only("id", "created_at").first()
        if alert.model_version else None
    )
    return render(request, "alerting/alert_detail.html", {
        "alert": alert,
        "deliveries": alert.deliveries.all(),
        "latest_drift_report": latest_drift_report,
        "agent_actions": alert.actions.all()[:20],
        "active_silences": silences.silences_for(
            alert.rule_id, alert.model_version, alert.severity, alert.component, alert.pk
        ).select_related("rule", "alert"),
        "can_silence": request.user.has_perm(silences.ADD_PERMISSION),
        "silence_durations": [("1h", "1 h"), ("4h", "4 h"), ("24h", "24 h"),
                              ("resolved", "until resolved")],
        "segment_min_samples": settings.MONITORING_SEGMENT_MIN_SAMPLES,
        **alert_forms_context(request.user),
    })


def _back(request, alert_id):
    """Where to go after an action: the page the form was on, if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("alert-detail", args=[alert_id])


def _take_step(request, alert_id, step):
    """Parse the note, take the step as the signed-in user, say what happened."""
    by = lifecycle.acting_person(request.user)  # 403 before anything is said or done
    note_form = AlertNoteForm(request.POST)
    if not note_form.is_valid():
        problems = "; ".join(e for errors in note_form.errors.values() for e in errors)
        messages.error(request, f"Alert {alert_id} was not {step.done}: {problems}")
        return redirect(_back(request, alert_id))
    outcome = lifecycle.take_step(step, alert_id, by=by, note=note_form.cleaned_data["note"])
    if outcome.alert is None:
        raise Http404(outcome.message)
    (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect(_back(request, alert_id))


@require_POST
@login_required
def acknowledge(request, alert_id):
    """Acknowledge one alert with an optional note (the first acknowledger is kept)."""
    return _take_step(request, alert_id, lifecycle.ACKNOWLEDGE)


@require_POST
@login_required
def resolve(request, alert_id):
    """Resolve one alert with an optional note (resolving twice keeps the first)."""
    return _take_step(request, alert_id, lifecycle.RESOLVE)


@require_POST
@login_required
def silence_alert(request, alert_id):
    """Silence one alert's rule and version for 1/4/24 h, or the alert until it resolves."""
    if not request.user.has_perm(silences.ADD_PERMISSION):
        raise PermissionDenied("You may not add silences.")
    alert = get_object_or_404(Alert, alert_id=alert_id)
    duration = request.POST.get("duration", "")
    if duration not in silences.PAGE_DURATIONS:
        messages.error(request, f"Not silenced: unknown duration {duration!r}.")
        return redirect(_back(request, alert_id))
    minutes = silences.PAGE_DURATIONS[duration]
    reason = (request.POST.get("reason") or "").strip() or f"silenced from alert {alert_id}"
    if minutes is None:
        wanted = silences.SilenceRequest(reason=reason, alert_id=alert.alert_id)
    else:
        wanted = silences.SilenceRequest(
            reason=reason, rule_id=alert.rule.rule_id if alert.rule_id else None,
            model_version=alert.model_version, duration_minutes=minutes,
            # An alert without a rule is matched by what it is about.
            severity="" if alert.rule_id else alert.severity,
            component="" if alert.rule_id else alert.component,
        )
    try:
        silence = silences.create_silence(wanted, by=request.user.get_username())
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        messages.error(request, f"Not silenced: {problems}")
    else:
        until = "until it resolves" if silence.ends_at is None else (
            f"until {silence.ends_at:%Y-%m-%d %H:%M} UTC")
        messages.success(request, f"Alert {alert_id} silenced {until}.")
    return redirect(_back(request, alert_id))


@require_safe
@login_required
def silence_list(request):
    """Active silences first, then the ended and expired ones, with an Expire button."""
    now = timezone.now()
    active_ids = set(silences.active_silences(now).values_list("pk", flat=True))
    recent = Silence.objects.select_related("rule", "alert").order_by("-created_at", "-id")
    rows = list(recent[:SILENCES_SHOWN])
    return render(request, "alerting/silences.html", {
        "active": [s for s in rows if s.pk in active_ids],
        "inactive": [s for s in rows if s.pk not in active_ids],
        "can_expire": request.user.has_perm(silences.CHANGE_PERMISSION),
        "now": now,
    })


@require_POST
@login_required
def expire_silence(request, silence_id):
    if not request.user.has_perm(silences.CHANGE_PERMISSION):
        raise PermissionDenied("You may not change silences.")
    outcome = silences.expire_silence(silence_id, by=request.user.get_username())
    if outcome.silence is None:
        raise Http404(outcome.message)
    (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect(reverse("silence-list"))
