"""Evaluate an alert rule against a metric value (SPEC §5).

Order: enabled → version scope → null never fires → comparison → conditions
(``min_value``/``max_value``, ``min_samples``) → cooldown per (rule, model version) →
alert. The cooldown lives in a RuleCooldown row locked for the decision
(``select_for_update`` on PostgreSQL; SQLite's IMMEDIATE transactions serialize writers),
so racing evaluations in several processes fire at most one alert. Notifications are
queued as Delivery rows in the same transaction and sent after it commits.
"""
from __future__ import annotations

import logging
import math
import operator
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerting.choices import Comparison, DeliveryKind
from alerting.deliveries import deliver_after_commit, queue_deliveries
from alerting.lifecycle import SYSTEM, resolve_alert
from alerting.models import Alert, AlertRule, RuleCooldown

logger = logging.getLogger("alerting.rules")

COMPARISONS = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
}


def alert_title(component: str, metric_name: str) -> str:
    return f"{(component or '').upper()}: {metric_name} Alert"


def alert_message(metric_name: str, value: float, comparison: str, threshold: float) -> str:
    return f"{metric_name} is {value:.4f} ({comparison} {threshold:.4f})"


def comparison_holds(comparison: str, value: float, threshold: float) -> bool:
    compare = COMPARISONS.get(comparison)
    if compare is None:
        raise ValueError(f"unknown comparison {comparison!r}")
    return compare(value, threshold)


def within_bounds(conditions: dict, value: float) -> bool:
    """True when ``value`` is inside the rule's optional min_value/max_value."""
    low = conditions.get("min_value")
    high = conditions.get("max_value")
    if low is not None and value < low:
        return False
    return not (high is not None and value > high)


def enough_samples(conditions: dict, num_with_outcome: int | None) -> bool:
    """True unless the rule asks for more labelled predictions than the snapshot has.

    A value pushed from outside (``num_with_outcome`` None) is taken at its word.
    """
    needed = conditions.get("min_samples")
    if needed is None or num_with_outcome is None:
        return True
    return num_with_outcome >= needed


def rule_applies_to(rule: AlertRule, model_version: str) -> bool:
    return not rule.model_version or rule.model_version == model_version


def rules_for_version(model_version: str):
    """Enabled rules watching ``model_version`` (rules with a blank version watch all)."""
    return AlertRule.objects.filter(enabled=True).filter(
        Q(model_version="") | Q(model_version=model_version)
    )


def _as_number(metric_value):
    if metric_value is None or isinstance(metric_value, str):
        return None
    try:
        value = float(metric_value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def evaluate_rule(
    rule: AlertRule,
    metric_value: float | None,
    model_version: str,
    now=None,
    num_with_outcome: int | None = None,
    channel_config: dict | None = None,
    deliver: bool = True,
) -> Alert | None:
    """Run ``rule`` on one value of one version; the alert it fired, or None.

    When the condition no longer holds, the rule's open alerts for that version are
    resolved by "system" and a recovery notice is queued. With ``deliver`` False the
    notifications stay queued for ``deliveries.deliver_due`` (the monitor pass).
    """
    now = now or timezone.now()
    model_version = model_version or ""
    if not rule.enabled or not rule_applies_to(rule, model_version):
        return None
    value = _as_number(metric_value)
    if value is None:
        return None
    conditions = rule.conditions if isinstance(rule.conditions, dict) else {}
    if not enough_samples(conditions, num_with_outcome):
        return None  # too few labels to say anything, either way
    if not (
        comparison_holds(rule.comparison, value, rule.threshold)
        and within_bounds(conditions, value)
    ):
        auto_resolve(rule, model_version, now=now, channel_config=channel_config,
                     deliver=deliver)
        return None

    # The row exists before the decision so that there is always something to lock.
    RuleCooldown.objects.get_or_create(rule=rule, model_version=model_version)
    with transaction.atomic():
        cooldown = RuleCooldown.objects.select_for_update().get(
            rule=rule, model_version=model_version
        )
        cooldown_cutoff = now - timedelta(minutes=rule.cooldown_minutes)
        if cooldown.last_fired_at is not None and (
            cooldown.last_fired_at > cooldown_cutoff or cooldown.last_fired_at > now
        ):
            return None
        cooldown.last_fired_at = now
        cooldown.save(update_fields=["last_fired_at"])
        AlertRule.objects.filter(pk=rule.pk).filter(
            Q(last_triggered__isnull=True) | Q(last_triggered__lt=now)
        ).update(last_triggered=now)
        rule.last_triggered = now
        alert = create_alert(
            severity=rule.severity,
            title=alert_title(rule.component, rule.metric_name),
            message=alert_message(rule.metric_name, value, rule.comparison, rule.threshold),
            metric_name=rule.metric_name,
            metric_value=value,
            threshold=rule.threshold,
            component=rule.component,
            model_version=model_version,
            rule=rule,
            channels=rule.channels if isinstance(rule.channels, list) else (),
            now=now,
            channel_config=channel_config,
            deliver=deliver,
        )
    logger.info("rule %s fired for %s: %s", rule.rule_id, model_version or "-", alert.message)
    return alert


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


def auto_resolve(
    rule: AlertRule,
    model_version: str,
    now=None,
    channel_config: dict | None = None,
    deliver: bool = True,
) -> list[Alert]:
    """Resolve the rule's unresolved alerts for ``model_version``; tell its channels."""
    now = now or timezone.now()
    unresolved_ids = list(
        Alert.objects.unresolved()
        .filter(rule=rule, model_version=model_version)
        .values_list("alert_id", flat=True)
    )
    note = f"{rule.metric_name} no longer {rule.comparison} {rule.threshold:.4f}"
    resolved = []
    for alert_id in unresolved_ids:
        with transaction.atomic():
            # The lifecycle's one conditional update: a racing evaluation or a person
            # resolving it at the same moment leaves one resolution and one recovery notice.
            outcome = resolve_alert(alert_id, by=SYSTEM, note=note, now=now)
            if not outcome.changed:
                continue
            alert = outcome.alert
            channels = rule.channels if isinstance(rule.channels, list) else ()
            deliveries = queue_deliveries(alert, channels, DeliveryKind.RECOVERY, now=now)
            if deliver:
                deliver_after_commit(deliveries, channel_config)
        logger.info("alert %s resolved: %s recovered", alert.alert_id, rule.metric_name)
        resolved.append(alert)
    return resolved
