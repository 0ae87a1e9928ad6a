"""Evaluate an alert rule on one value of one model version (SPEC §5, §10).

Order: enabled → version scope → null never decides → the state machine
(``alerting.engine.decide``: conditions, pending, recovery, cooldown) → the incident.
The rule's state per (rule, version) is a RuleState row locked for the decision, so
racing evaluations in several processes take turns: at most one unresolved alert per
rule and version (the database guarantees it too), an evaluation that sees the
condition again adds an occurrence to it, and one reminder per interval goes out.
Notifications are queued as Delivery rows in the same transaction and sent after it
commits; silenced alerts queue none, except their recovery notice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerting import silences
from alerting.choices import AlertStatus, DeliveryKind, RuleStateName
from alerting.deliveries import deliver_after_commit, queue_deliveries
from alerting.engine import Event, Policy, State, as_number, comparison_holds, decide
from alerting.lifecycle import SYSTEM, resolve_alert
from alerting.models import Alert, AlertRule, RuleState
from predictions.choices import PERFORMANCE_METRICS
from predictions.metrics import MetricWindow
from predictions.segments import worst_segments

logger = logging.getLogger("alerting.rules")

__all__ = ["comparison_holds", "create_alert", "evaluate", "evaluate_rule"]


def alert_title(component: str, metric_name: str) -> str:
    return f"{(component or '').upper()}: {metric_name} Alert"


def alert_message(metric_name: str, value: float, comparison: str, threshold: float) -> str:
    return f"{metric_name} is {value:.4f} ({comparison} {threshold:.4f})"


def window_text(window_minutes: int) -> str:
    if window_minutes % 60 == 0:
        return f"{window_minutes // 60} h"
    return f"{window_minutes} min"


def alert_summary(
    model_version: str, metric_name: str, value: float, comparison: str, threshold: float,
    window_minutes: int | None = None, num_with_outcome: int | None = None,
) -> str:
    """``[v3] accuracy 0.6747 < 0.8000 over 24 h (289 labelled)``: the alert in one line."""
    text = f"{metric_name} {value:.4f} {comparison} {threshold:.4f}"
    if model_version:
        text = f"[{model_version}] {text}"
    if window_minutes:
        text += f" over {window_text(window_minutes)}"
    if num_with_outcome is not None:
        text += f" ({num_with_outcome} labelled)"
    return text[:255]


def rule_applies_to(rule: AlertRule, model_version: str) -> bool:
    return not rule.model_version or rule.model_version == model_version


def rules_for_version(model_version: str):
    """Enabled rules watching ``model_version`` (rules with a blank version watch all)."""
    return AlertRule.objects.filter(enabled=True).filter(
        Q(model_version="") | Q(model_version=model_version)
    )


@dataclass
class Evaluation:
    """What one evaluation did: the event, the incident it touched, what went out."""

    event: Event = Event.NOTHING
    alert: Alert | None = None
    reminded: bool = False

    @property
    def fired(self) -> bool:
        return self.event == Event.FIRE

    @property
    def resolved(self) -> bool:
        return self.event == Event.RESOLVE

    @property
    def notified(self) -> bool:
        """A notification went out: a new incident that is not silenced, or a reminder."""
        return (self.fired and not self.alert.silenced) or self.reminded


def _current_state(row: RuleState, open_alert: Alert | None) -> State:
    """The state the decision starts from; the alerts table wins where they disagree.

    An open alert means firing (alerts from before the rule states existed); a state
    that says firing without an open alert means a person resolved it: the cooldown
    counts from that resolution.
    """
    if open_alert is not None:
        if row.state == RuleStateName.FIRING:
            return _as_state(row)
        return State(RuleStateName.FIRING, open_alert.timestamp, open_alert.occurrences,
                     open_alert.last_value, row.last_resolved_at)
    if row.state == RuleStateName.FIRING:
        resolved_at = (
            Alert.objects.filter(rule_id=row.rule_id, model_version=row.model_version,
                                 status=AlertStatus.RESOLVED)
            .order_by("-resolved_at").values_list("resolved_at", flat=True).first()
        )
        return State(RuleStateName.OK, resolved_at, 0, row.last_value,
                     resolved_at or row.last_resolved_at)
    return _as_state(row)


def _as_state(row: RuleState) -> State:
    return State(row.state, row.since, row.consecutive, row.last_value, row.last_resolved_at)


def evaluate(
    rule: AlertRule,
    metric_value: float | None,
    model_version: str,
    now=None,
    num_with_outcome: int | None = None,
    channel_config: dict | None = None,
    deliver: bool = True,
    window_minutes: int | None = None,
) -> Evaluation:
    """Run ``rule`` on one value of one version; what happened to its incident.

    With ``deliver`` False the notifications stay queued for ``deliveries.deliver_due``
    (the monitor pass). ``window_minutes`` (the window the value was measured over) goes
    into the alert's summary.
    """
    now = now or timezone.now()
    model_version = model_version or ""
    if not rule.enabled or not rule_applies_to(rule, model_version):
        return Evaluation()
    value = as_number(metric_value)
    if value is None:
        return Evaluation()  # a null metric never fires, nor resolves
    # The row exists before the decision so that there is always something to lock.
    RuleState.objects.get_or_create(rule=rule, model_version=model_version)
    queued = []
    with transaction.atomic():
        row = RuleState.objects.select_for_update().get(rule=rule, model_version=model_version)
        open_alert = (
            Alert.objects.unresolved().filter(rule=rule, model_version=model_version).first()
        )
        next_state, event = decide(
            Policy.of(rule), _current_state(row, open_alert), value, num_with_outcome, now
        )
        evaluation = Evaluation(event=event, alert=open_alert)
        if event == Event.FIRE:
            evaluation.alert, queued = _open_incident(
                rule, value, model_version, now, num_with_outcome, window_minutes
            )
            row.last_fired_at = now
        elif event == Event.UPDATE:
            Alert.objects.filter(pk=open_alert.pk).update(
                occurrences=F("occurrences") + 1, last_value=value, last_seen_at=now
            )
            open_alert.refresh_from_db()
        elif event == Event.RESOLVE:
            queued = _end_incident(rule, open_alert, now)
        if event in (Event.UPDATE, Event.HOLD):
            reminder = _remind(rule, open_alert, now)
            evaluation.reminded = bool(reminder)
            queued.extend(reminder)
        row.state, row.since, row.consecutive = (
            next_state.state, next_state.since, next_state.consecutive
        )
        row.last_value, row.last_resolved_at = next_state.last_value, next_state.last_resolved_at
        row.last_evaluated_at = now
        row.save()
        if deliver:
            deliver_after_commit(queued, channel_config)
    if event == Event.FIRE:
        logger.info("rule %s fired for %s: %s", rule.rule_id, model_version or "-",
                    evaluation.alert.summary)
    return evaluation


def evaluate_rule(
    rule: AlertRule,
    metric_value: float | None,
    model_version: str,
    now=None,
    num_with_outcome: int | None = None,
    channel_config: dict | None = None,
    deliver: bool = True,
) -> Alert | None:
    """Run ``rule`` on one value; the alert when a notification went out (a new incident
    or a reminder), else None. The face the legacy shell and the API call."""
    evaluation = evaluate(rule, metric_value, model_version, now=now,
                          num_with_outcome=num_with_outcome, channel_config=channel_config,
                          deliver=deliver)
    return evaluation.alert if evaluation.notified else None


def _rule_channels(rule: AlertRule):
    return rule.channels if isinstance(rule.channels, list) else ()


def _worst_segments(rule, model_version, now, window_minutes) -> list:
    """Where a version's performance alert fails most: its five worst segments over the
    rule's window (none for label-free metrics, or an alert on every version at once)."""
    if not model_version or rule.metric_name not in PERFORMANCE_METRICS:
        return []
    minutes = window_minutes or rule.window_minutes or settings.MONITORING_DEFAULT_WINDOW_MINUTES
    return worst_segments(MetricWindow.last(model_version, minutes, now))


def _open_incident(rule, value, model_version, now, num_with_outcome, window_minutes):
    """Store the incident's alert (marked when silenced) and queue its notifications."""
    AlertRule.objects.filter(pk=rule.pk).filter(
        Q(last_triggered__isnull=True) | Q(last_triggered__lt=now)
    ).update(last_triggered=now)
    rule.last_triggered = now
    silenced = silences.is_silenced(rule, model_version, rule.severity, rule.component, now=now)
    alert = Alert.objects.create(
        timestamp=now,
        severity=rule.severity,
        title=alert_title(rule.component, rule.metric_name),
        message=alert_message(rule.metric_name, value, rule.comparison, rule.threshold),
        summary=alert_summary(model_version, rule.metric_name, value, rule.comparison,
                              rule.threshold, window_minutes, num_with_outcome),
        metric_name=rule.metric_name,
        metric_value=value,
        last_value=value,
        last_seen_at=now,
        threshold=rule.threshold,
        component=rule.component or "",
        model_version=model_version,
        rule=rule,
        silenced=silenced,
        worst_segments=_worst_segments(rule, model_version, now, window_minutes),
    )
    if silenced:
        return alert, []
    return alert, queue_deliveries(alert, _rule_channels(rule), DeliveryKind.ALERT, now=now)


def _end_incident(rule, alert, now) -> list:
    """Resolve the incident as "system" and queue its recovery notice (silenced or not)."""
    note = f"{rule.metric_name} no longer {rule.comparison} {rule.threshold:.4f}"
    if rule.recovery_threshold is not None:
        note += f" (recovered past {rule.recovery_threshold:.4f})"
    # The lifecycle's one conditional update: a person resolving it at the same moment
    # leaves one resolution and one recovery notice.
    outcome = resolve_alert(alert.alert_id, by=SYSTEM, note=note, now=now, notify=False)
    if not outcome.changed:
        return []
    alert.__dict__.update(outcome.alert.__dict__)
    logger.info("alert %s resolved: %s recovered", alert.alert_id, rule.metric_name)
    return queue_deliveries(alert, _rule_channels(rule), DeliveryKind.RECOVERY, now=now)


def _remind(rule, alert, now) -> list:
    """Queue a reminder if the interval has passed since the last notification.

    Claimed with one conditional update on the alert, so racing evaluations send one
    reminder per interval; acknowledged, resolved and silenced alerts get none.
    """
    if not rule.repeat_interval_minutes or alert is None or alert.acknowledged:
        return []
    if silences.refresh_silenced(alert, now):
        return []
    cutoff = now - timedelta(minutes=rule.repeat_interval_minutes)
    claimed = (
        Alert.objects.unresolved()
        .filter(pk=alert.pk, acknowledged=False, silenced=False)
        .filter(Q(last_reminded_at__lte=cutoff)
                | Q(last_reminded_at__isnull=True, timestamp__lte=cutoff))
        .update(last_reminded_at=now, reminders_sent=F("reminders_sent") + 1)
    )
    if not claimed:
        return []
    alert.refresh_from_db()
    return queue_deliveries(alert, _rule_channels(rule), DeliveryKind.REMINDER, now=now,
                            reminder_number=alert.reminders_sent)


def create_alert(
    severity,
    title,
    message,
    metric_name,
    metric_value,
    threshold,
    component,
    model_version,
    rule=None,
    channels=(),
    now=None,
    channel_config: dict | None = None,
    deliver: bool = True,
) -> Alert:
    """Store an alert and queue its notifications (sent after the transaction commits)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.create(
            timestamp=now,
            severity=severity,
            title=title,
            message=message,
            metric_name=metric_name or "",
            metric_value=metric_value,
            threshold=threshold,
            component=component or "",
            model_version=model_version or "",
            rule=rule,
        )
        deliveries = queue_deliveries(alert, channels, DeliveryKind.ALERT, now=now)
        if deliver:
            deliver_after_commit(deliveries, channel_config)
    return alert
