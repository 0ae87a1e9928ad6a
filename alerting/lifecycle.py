"""An alert's life: open → acknowledged → resolved, each step one conditional update.

The one implementation of acknowledging and resolving. The API, the pages, the admin
actions, the rules' auto-resolve and the legacy shell only parse their input, call a
function here and render what it returns (including the sentence a person is shown).

Every step is ``filter(<not taken yet>).update(<new state>)``, so racing people (two web
workers, the admin and the API, a person and the monitor) leave exactly one winner, and
no other row or column is rewritten. The winner alone queues the step's notice for the
channels that keep their own incident (PagerDuty's acknowledge and resolve, Alertmanager's
endsAt), sent after commit like every delivery.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import methodcaller

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from alerting.choices import AlertStatus, DeliveryKind, Severity
from alerting.deliveries import deliver_after_commit, queue_lifecycle_notices
from alerting.models import Alert

SYSTEM = "system"  # who resolves an alert whose condition stopped holding
CHANGE_PERMISSION = "alerting.change_alert"  # needed to acknowledge or resolve
NOTE_MAX_LENGTH = 2000  # of an acknowledgment or resolution note, on every face


@dataclass(frozen=True)
class Step:
    """One step of the lifecycle: which alerts have not taken it yet, and what it writes."""

    verb: str  # "acknowledge"
    done: str  # "acknowledged"
    not_taken: Callable  # alerts → those of them that have not taken the step
    who_field: str
    when_field: str
    values: Callable[[str, str, object], dict]
    notice: str  # the Delivery kind the step sends to channels that follow the lifecycle


def _acknowledgment(by, note, now):
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


def _resolution(by, note, now):
    return {
        "status": AlertStatus.RESOLVED,
        "resolved_at": now,
        "resolved_by": by or "",
        "resolution_note": note or "",
    }


ACKNOWLEDGE = Step("acknowledge", "acknowledged", methodcaller("unacknowledged"),
                   "acknowledged_by", "acknowledged_at", _acknowledgment,
                   DeliveryKind.ACKNOWLEDGMENT)
RESOLVE = Step("resolve", "resolved", methodcaller("unresolved"),
               "resolved_by", "resolved_at", _resolution, DeliveryKind.RECOVERY)


@dataclass
class Outcome:
    """What a step did to one alert: ``alert`` is None when the id is unknown.

    ``changed`` False with an alert means someone took the step first; ``alert`` then
    shows who and when.
    """

    step: Step
    alert_id: str
    alert: Alert | None
    changed: bool = False

    @property
    def already(self) -> bool:
        return self.alert is not None and not self.changed

    @property
    def message(self) -> str:
        """The sentence the pages show (and the API's clients can read in the alert)."""
        if self.alert is None:
            return f"No alert {self.alert_id}."
        if self.changed:
            return f"Alert {self.alert_id} {self.step.done}."
        who = getattr(self.alert, self.step.who_field) or "someone"
        when = getattr(self.alert, self.step.when_field)
        at = f" at {when:%Y-%m-%d %H:%M} UTC" if when else ""
        return f"Alert {self.alert_id} was already {self.step.done} by {who}{at}."


@dataclass
class BulkOutcome:
    """What a step did to a selection of alerts (the admin's actions)."""

    step: Step
    changed: int
    skipped: int

    @property
    def message(self) -> str:
        noun = "alert" if self.changed == 1 else "alerts"
        text = f"{self.changed} {noun} {self.step.done}."
        if self.skipped:
            text += f" {self.skipped} already {self.step.done}."
        return text


def may_change_alerts(user) -> bool:
    """Whether ``user`` may acknowledge and resolve alerts (pages show the forms)."""
    return user.has_perm(CHANGE_PERMISSION)


def acting_person(user) -> str:
    """The name recorded for ``user``; PermissionDenied (a 403 everywhere) without the right."""
    if not may_change_alerts(user):
        raise PermissionDenied("You may not change alerts.")
    return user.get_username()


def take_step(step: Step, alert_id: str, by: str, note: str = "", now=None,
              notify: bool = True) -> Outcome:
    """Take ``step`` for one alert; the first one to take it is kept.

    ``notify`` False: the caller sends the notices itself (the rules' auto-resolve tells
    every channel of the rule).
    """
    now = now or timezone.now()
    # The notice is queued in the step's transaction: committed together, or not at all.
    with transaction.atomic():
        changed = step.not_taken(Alert.objects.filter(alert_id=alert_id)).update(
            **step.values(by, note, now)
        )
        if changed and notify:
            _notify(step, Alert.objects.filter(alert_id=alert_id), now)
    alert = Alert.objects.filter(alert_id=alert_id).first()
    return Outcome(step=step, alert_id=alert_id, alert=alert, changed=bool(changed))


def take_step_for_all(step: Step, alerts, by: str, note: str = "", now=None) -> BulkOutcome:
    """Take ``step`` for every alert of the queryset ``alerts`` that has not taken it."""
    now = now or timezone.now()
    selected = alerts.count()
    with transaction.atomic():
        changed = step.not_taken(alerts).update(**step.values(by, note, now))
        if changed:
            # The ones this update changed carry its moment and person.
            _notify(step, alerts.filter(**{step.when_field: now, step.who_field: by or ""}),
                    now)
    return BulkOutcome(step=step, changed=changed, skipped=max(selected - changed, 0))


def _notify(step: Step, changed_alerts, now) -> None:
    """Queue the step's notice for the channels that follow the lifecycle; send after commit."""
    if step is ACKNOWLEDGE:
        # Acknowledging a resolved alert changes nothing elsewhere: its incident is over.
        changed_alerts = changed_alerts.unresolved()
    deliver_after_commit(queue_lifecycle_notices(changed_alerts, step.notice, now))


def acknowledge_alert(alert_id: str, by: str, note: str = "", now=None) -> Outcome:
    """Acknowledge one alert; the first acknowledger is kept, later ones are told so."""
    return take_step(ACKNOWLEDGE, alert_id, by, note, now)


def resolve_alert(alert_id: str, by: str, note: str = "", now=None,
                  notify: bool = True) -> Outcome:
    """Resolve one alert with a note; resolving twice keeps the first resolution."""
    return take_step(RESOLVE, alert_id, by, note, now, notify=notify)


def acknowledge_alerts(alerts, by: str, note: str = "", now=None) -> BulkOutcome:
    return take_step_for_all(ACKNOWLEDGE, alerts, by, note, now)


def resolve_alerts(alerts, by: str, note: str = "", now=None) -> BulkOutcome:
    return take_step_for_all(RESOLVE, alerts, by, note, now)


def alert_statistics(queryset=None) -> dict:
    """Counts of alerts (legacy get_alert_statistics shape, plus by_status)."""
    alerts = Alert.objects.all() if queryset is None else queryset
    by_severity = {severity: 0 for severity in Severity.values[::-1]}
    by_severity.update(alerts.count_by("severity"))
    by_status = {status: 0 for status in AlertStatus.values}
    by_status.update(alerts.count_by("status"))
    return {
        "total_alerts": sum(by_severity.values()),
        "unacknowledged": alerts.filter(acknowledged=False).count(),
        "by_severity": by_severity,
        "by_component": dict(sorted(alerts.count_by("component").items())),
        "by_status": by_status,
    }
