"""Silences (SPEC §10): which alerts may not notify anyone right now, and why.

A silence is active once started, before its end, until someone expires it, and — for a
silence of one alert — while that alert is unresolved. An alert matching an active
silence is still stored, marked ``silenced``; its notifications and reminders are not
sent, its recovery notice is. The API, the pages and the admin create and expire
silences through ``create_silence`` and ``expire_silence``; the rules ask
``is_silenced``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerting.choices import AlertStatus
from alerting.models import Alert, AlertRule, Silence

ADD_PERMISSION = "alerting.add_silence"
CHANGE_PERMISSION = "alerting.change_silence"
# The durations the alert page offers, in minutes (None: until the alert resolves).
PAGE_DURATIONS = {"1h": 60, "4h": 240, "24h": 1440, "resolved": None}


def active_silences(now=None):
    """Silences in force at ``now``."""
    now = now or timezone.now()
    return (
        Silence.objects.filter(starts_at__lte=now, expired_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .filter(Q(alert__isnull=True) | ~Q(alert__status=AlertStatus.RESOLVED))
    )


def _matchers(rule_id, model_version: str, severity: str, component: str) -> Q:
    """Silences whose matchers (blank: any) all accept these values (not alert silences)."""
    return (
        Q(alert__isnull=True)
        & (Q(rule__isnull=True) | Q(rule_id=rule_id))
        & (Q(model_version="") | Q(model_version=model_version or ""))
        & (Q(severity="") | Q(severity=severity or ""))
        & (Q(component="") | Q(component=component or ""))
    )


def silences_for(rule_id, model_version, severity, component, alert_pk=None, now=None):
    """Active silences that match an alert with these values (or that alert itself)."""
    matching = _matchers(rule_id, model_version, severity, component)
    if alert_pk is not None:
        matching |= Q(alert_id=alert_pk)
    return active_silences(now).filter(matching)


def is_silenced(rule, model_version, severity, component, alert_pk=None, now=None) -> bool:
    rule_id = rule.pk if rule is not None else None
    return silences_for(rule_id, model_version, severity, component, alert_pk, now).exists()


def alert_is_silenced(alert: Alert, now=None) -> bool:
    return is_silenced(alert.rule, alert.model_version, alert.severity, alert.component,
                       alert.pk, now)


def refresh_silenced(alert: Alert, now=None) -> bool:
    """Store on the alert whether it is silenced now (silences start and end); the flag."""
    silenced = alert_is_silenced(alert, now)
    if silenced != alert.silenced:
        Alert.objects.filter(pk=alert.pk).update(silenced=silenced)
        alert.silenced = silenced
    return silenced


def _alerts_matched_by(silence: Silence):
    """Unresolved alerts the silence's matchers select."""
    alerts = Alert.objects.unresolved()
    if silence.alert_id is not None:
        return alerts.filter(pk=silence.alert_id)
    for name in ("model_version", "severity", "component"):
        if getattr(silence, name):
            alerts = alerts.filter(**{name: getattr(silence, name)})
    if silence.rule_id is not None:
        alerts = alerts.filter(rule_id=silence.rule_id)
    return alerts


@dataclass
class SilenceRequest:
    """What a person asks for, before it is checked (API body, page form)."""

    reason: str = ""
    rule_id: str | None = None
    model_version: str = ""
    severity: str = ""
    component: str = ""
    starts_at: object = None
    ends_at: object = None
    duration_minutes: int | None = None
    alert_id: str | None = None


def create_silence(request: SilenceRequest, by: str = "", now=None) -> Silence:
    """Check and store a silence; mark the unresolved alerts it matches as silenced.

    ValidationError({field: message}) names the problem; nothing is stored then.
    """
    now = now or timezone.now()
    errors = {}
    rule = alert = None
    if request.rule_id:
        rule = AlertRule.objects.filter(rule_id=request.rule_id).first()
        if rule is None:
            errors["rule_id"] = ValidationError(f"No alert rule {request.rule_id!r}.",
                                                code="does_not_exist")
    if request.alert_id:
        alert = Alert.objects.filter(alert_id=request.alert_id).first()
        if alert is None:
            errors["alert_id"] = ValidationError(f"No alert {request.alert_id!r}.",
                                                 code="does_not_exist")
        elif not alert.is_open:
            errors["alert_id"] = ValidationError(
                f"Alert {request.alert_id!r} is already resolved.", code="conflict")
    if errors:  # what the silence names does not exist (409): nothing more to check
        raise ValidationError(errors)
    starts_at = request.starts_at or now
    ends_at = request.ends_at
    if request.duration_minutes is not None:
        if ends_at is not None:
            errors["duration_minutes"] = "Give ends_at or duration_minutes, not both."
        elif request.duration_minutes < 1:
            errors["duration_minutes"] = "duration_minutes must be at least 1."
        else:
            ends_at = starts_at + timedelta(minutes=request.duration_minutes)
    silence = Silence(
        rule=rule, alert=alert, model_version=request.model_version or "",
        severity=request.severity or "", component=request.component or "",
        starts_at=starts_at, ends_at=ends_at, reason=(request.reason or "").strip(),
        created_by=by or "", created_at=now,
    )
    try:
        silence.full_clean(exclude=[name for name in ("rule", "alert") if name in errors])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        silence.save()
        mark_matched(silence, now)
    return silence


def mark_matched(silence: Silence, now=None) -> int:
    """Mark the unresolved alerts a started silence matches as silenced; how many."""
    now = now or timezone.now()
    if silence.starts_at > now:
        return 0
    return _alerts_matched_by(silence).filter(silenced=False).update(silenced=True)


@dataclass
class ExpireOutcome:
    silence: Silence | None
    changed: bool

    @property
    def message(self) -> str:
        if self.silence is None:
            return "No such silence."
        if self.changed:
            return f"Silence {self.silence.pk} expired."
        return f"Silence {self.silence.pk} had already expired."


def expire_silence(silence_id, by: str = "", now=None) -> ExpireOutcome:
    """End a silence now (one conditional update); its alerts notify again if nothing else
    silences them."""
    now = now or timezone.now()
    changed = Silence.objects.filter(pk=silence_id, expired_at__isnull=True).update(
        expired_at=now, expired_by=by or ""
    )
    silence = Silence.objects.filter(pk=silence_id).first()
    if silence is not None and changed:
        for alert in _alerts_matched_by(silence).filter(silenced=True).select_related("rule"):
            refresh_silenced(alert, now)
    return ExpireOutcome(silence=silence, changed=bool(changed))


def silence_status(silence: Silence, now=None) -> str:
    """"active", "pending" (starts later) or "expired" (ended, expired, or alert resolved)."""
    now = now or timezone.now()
    if silence.expired_at is not None or (silence.ends_at is not None and silence.ends_at <= now):
        return "expired"
    if silence.alert_id is not None and not silence.alert.is_open:
        return "expired"
    if silence.starts_at > now:
        return "pending"
    return "active"
