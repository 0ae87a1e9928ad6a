"""One monitor pass: snapshots → rules → alerts (fired and resolved) → deliveries.

``compute_snapshots`` and each turn of ``run_monitor`` call ``run_monitor_pass``, which
computes through predictions' snapshot service and evaluates the rules here, directly.
``POST health-snapshots/compute/`` (predictions' API) computes through the same service
and reaches ``evaluate_snapshots`` through a signal (alerting.receivers); the service
itself sends none, so no snapshot is evaluated twice. Several monitors may run at once:
the snapshot of a version for one interval slot is stored once (a unique constraint), and
the rules are only evaluated by the monitor that stored it; cooldown rows and delivery
claims take care of everything else.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from alerting.choices import AlertStatus, DeliveryStatus
from alerting.deliveries import deliver_due
from alerting.models import Alert, Delivery
from alerting.rules import evaluate_rule, rules_for_version
from predictions.choices import MetricName
from predictions.models import HealthSnapshot
from predictions.snapshots import compute_snapshots

logger = logging.getLogger("alerting.monitor")


@dataclass
class MonitorPassResult:
    """What one pass did."""

    snapshots: list[HealthSnapshot] = field(default_factory=list)
    alerts_fired: list[Alert] = field(default_factory=list)
    alerts_resolved: list[Alert] = field(default_factory=list)
    deliveries_sent: int = 0


def snapshot_metric_value(snapshot: HealthSnapshot, metric_name: str):
    """The value of one rule metric on a snapshot (booleans as 1.0/0.0, absent → None)."""
    columns = (
        *HealthSnapshot.METRIC_FIELDS, *HealthSnapshot.COUNT_FIELDS, *HealthSnapshot.TREND_FIELDS
    )
    value = getattr(snapshot, metric_name) if metric_name in columns else None
    if value is None:
        value = (snapshot.metrics or {}).get(metric_name)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return value


def evaluate_snapshot(snapshot: HealthSnapshot, now=None, deliver: bool = False):
    """Evaluate every enabled rule watching the snapshot's version on its metrics.

    Returns (alerts fired, alerts resolved).
    """
    now = now or snapshot.timestamp
    fired, resolved = [], []
    for rule in rules_for_version(snapshot.model_version):
        if rule.metric_name not in MetricName.values:
            continue
        value = snapshot_metric_value(snapshot, rule.metric_name)
        open_before = set(
            Alert.objects.unresolved()
            .filter(rule=rule, model_version=snapshot.model_version)
            .values_list("pk", flat=True)
        )
        alert = evaluate_rule(
            rule,
            value,
            snapshot.model_version,
            now=now,
            num_with_outcome=snapshot.num_with_outcome,
            deliver=deliver,
        )
        if alert is not None:
            fired.append(alert)
        if open_before:
            resolved.extend(
                Alert.objects.filter(
                    pk__in=open_before, status=AlertStatus.RESOLVED, resolved_at=now
                )
            )
    return fired, resolved


def evaluate_snapshots(snapshots, now, deliver: bool) -> MonitorPassResult:
    """Evaluate the rules on snapshots just stored; what fired and resolved (none sent yet
    unless ``deliver``: then each alert's notifications go out after commit)."""
    result = MonitorPassResult(snapshots=list(snapshots))
    for snapshot in result.snapshots:
        fired, resolved = evaluate_snapshot(snapshot, now=now, deliver=deliver)
        result.alerts_fired.extend(fired)
        result.alerts_resolved.extend(resolved)
    return result


def sent_deliveries(result: MonitorPassResult) -> int:
    """How many notifications of the pass's own alerts are sent."""
    return Delivery.objects.filter(
        alert__in=[*result.alerts_fired, *result.alerts_resolved], status=DeliveryStatus.SENT
    ).count()


def run_monitor_pass(
    model_version: str | None = None,
    window_minutes: int = 60,
    now=None,
    monitor_slot: int | None = None,
    retry_due: bool = True,
) -> MonitorPassResult:
    """Snapshot the version (or every active one), evaluate the rules, send what is due.

    With ``retry_due`` False (a web request) only this pass's own notifications are sent,
    not every delivery waiting for a retry.
    """
    now = now or timezone.now()
    # Versions whose slot another monitor holds are left out: that monitor evaluates them.
    snapshots = compute_snapshots(
        model_version, window_minutes=window_minutes, now=now, monitor_slot=monitor_slot
    )
    result = evaluate_snapshots(snapshots, now=now, deliver=not retry_due)
    if retry_due:
        result.deliveries_sent = deliver_due(now=now)
    else:
        result.deliveries_sent = sent_deliveries(result)
    if result.snapshots or result.deliveries_sent:
        logger.info(
            "monitor pass: %d snapshot(s), %d alert(s) fired, %d resolved, %d delivered",
            len(result.snapshots), len(result.alerts_fired), len(result.alerts_resolved),
            result.deliveries_sent,
        )
    return result
