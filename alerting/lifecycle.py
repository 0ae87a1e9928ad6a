"""An alert's life: open → acknowledged → resolved, each step one conditional update.

Every transition is ``filter(<still in the old state>).update(<new state>)``, so racing
people (two web workers, the admin and the API) leave exactly one winner, and no other
row or column is rewritten.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, Value, When
from django.utils import timezone

from alerting.choices import AlertStatus, Severity
from alerting.models import Alert

SYSTEM = "system"


@dataclass
class AckOutcome:
    """What an acknowledgment did: ``alert`` is None when the id is unknown."""

    alert: Alert | None
    acknowledged: bool = False
    already_acknowledged: bool = False


@dataclass
class ResolveOutcome:
    """What a resolution did: ``alert`` is None when the id is unknown."""

    alert: Alert | None
    resolved: bool = False
    already_resolved: bool = False


def _ack_values(by, note, now):
    return {
        "acknowledged": True,
        "acknowledged_at": now,
        "acknowledged_by": by or "",
        "acknowledgment_note": note or "",
        # A resolved alert may still be acknowledged (someone saw it); it stays resolved.
        "status": Case(
            When(status=AlertStatus.OPEN, then=Value(AlertStatus.ACKNOWLEDGED)),
            default="status",
        ),
    }


def acknowledge_alert(alert_id: str, by: str, note: str = "", now=None) -> AckOutcome:
    """Acknowledge one alert; the first acknowledger is kept, later ones are told so."""
    now = now or timezone.now()
    changed = Alert.objects.filter(alert_id=alert_id, acknowledged=False).update(
        **_ack_values(by, note, now)
    )
    alert = Alert.objects.filter(alert_id=alert_id).first()
    if alert is None:
        return AckOutcome(alert=None)
    return AckOutcome(alert=alert, acknowledged=bool(changed), already_acknowledged=not changed)


def acknowledge_alerts(queryset, by: str, note: str = "", now=None) -> int:
    """Acknowledge every not yet acknowledged alert of ``queryset``; returns how many."""
    now = now or timezone.now()
    return queryset.filter(acknowledged=False).update(**_ack_values(by, note, now))


def _resolve_values(by, note, now):
    return {
        "status": AlertStatus.RESOLVED,
        "resolved_at": now,
        "resolved_by": by or "",
        "resolution_note": note or "",
    }


def resolve_alert(alert_id: str, by: str, note: str = "", now=None) -> ResolveOutcome:
    """Resolve one alert with a note; resolving twice keeps the first resolution."""
    now = now or timezone.now()
    changed = (
        Alert.objects.filter(alert_id=alert_id)
        .exclude(status=AlertStatus.RESOLVED)
        .update(**_resolve_values(by, note, now))
    )
    alert = Alert.objects.filter(alert_id=alert_id).first()
    if alert is None:
        return ResolveOutcome(alert=None)
    return ResolveOutcome(alert=alert, resolved=bool(changed), already_resolved=not changed)


def resolve_alerts(queryset, by: str, note: str = "", now=None) -> int:
    """Resolve every unresolved alert of ``queryset``; returns how many."""
    now = now or timezone.now()
    return queryset.exclude(status=AlertStatus.RESOLVED).update(
        **_resolve_values(by, note, now)
    )


def alert_statistics(queryset=None) -> dict:
    """Counts of alerts (legacy get_alert_statistics shape, plus by_status)."""
    alerts = Alert.objects.all() if queryset is None else queryset
    alerts = alerts.order_by()
    by_severity = {severity: 0 for severity in Severity.values[::-1]}
    for row in alerts.values("severity").annotate(n=Count("id")):
        by_severity[row["severity"]] = row["n"]
    by_status = {status: 0 for status in AlertStatus.values}
    for row in alerts.values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]
    by_component = {
        row["component"]: row["n"]
        for row in alerts.values("component").annotate(n=Count("id")).order_by("component")
    }
    return {
        "total_alerts": sum(by_severity.values()),
        "unacknowledged": alerts.filter(acknowledged=False).count(),
        "by_severity": by_severity,
        "by_component": by_component,
        "by_status": by_status,
    }
