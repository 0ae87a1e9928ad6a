"""One monitor pass: snapshots → rules → alerts (fired and resolved) → deliveries.

``compute_snapshots`` and each turn of ``run_monitor`` call ``run_monitor_pass``, which
computes through predictions' snapshot service and evaluates the rules here, directly.
``POST health-snapshots/compute/`` (predictions' API) computes through the same service
and reaches ``evaluate_snapshots`` through a signal (alerting.receivers); the service
itself sends none, so no snapshot is evaluated twice. Several monitors may run at once:
the snapshot of a version for one interval slot is stored once (a unique constraint), and
the rules are only evaluated by the monitor that stored it; rule states and delivery
claims take care of everything else.

Every production and staging version of the registry is snapshotted at each pass, with
or without predictions in its window (no data is a signal: ``num_predictions < 1``). A
rule with its own ``window_minutes`` is evaluated on the figures of that window.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from alerting.choices import DeliveryStatus
from alerting.deliveries import deliver_due, repost_firing
from alerting.heartbeat import record_pass
from alerting.models import Alert, Delivery
from alerting.rule_checks import custom_metric
from alerting.rules import evaluate, rules_for_version
from predictions.choices import MetricName
from predictions.custom_metrics import window_value
from predictions.metrics import window_metrics
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


class RuleWindows:
    """The figures of a version over a rule's own window, measured once per pass."""

    def __init__(self, now):
        self.now = now
        self.figures = {}

    def pushed_value(self, snapshot: HealthSnapshot, rule):
        """(value, None, window) of a ``custom:<name>`` rule: the pushed values' aggregate
        over the rule's window (no label count: min_samples does not apply)."""
        window = rule.window_minutes or snapshot.window_minutes
        aggregate = (rule.conditions or {}).get("aggregate") or "avg"
        value = window_value(
            custom_metric(rule.metric_name), snapshot.model_version,
            self.now - timedelta(minutes=window), self.now, aggregate,
        )
        return value, None, window

    def value(self, snapshot: HealthSnapshot, rule):
        """(value, num_with_outcome, window_minutes) of the rule's metric for the snapshot."""
        window = rule.window_minutes
        if not window or window == snapshot.window_minutes:
            return (snapshot_metric_value(snapshot, rule.metric_name),
                    snapshot.num_with_outcome, snapshot.window_minutes)
        key = (snapshot.model_version, window)
        if key not in self.figures:
            self.figures[key] = window_metrics(snapshot.model_version, window, now=self.now)
        figures = self.figures[key]
        if rule.metric_name not in figures:  # trend and drift figures come from the snapshot
            return (snapshot_metric_value(snapshot, rule.metric_name),
                    snapshot.num_with_outcome, snapshot.window_minutes)
        value = figures[rule.metric_name]
        if isinstance(value, bool):
            value = 1.0 if value else 0.0
        return value, figures.get("num_with_outcome") or 0, window


def evaluate_snapshot(snapshot: HealthSnapshot, now=None, deliver: bool = False,
                      windows: RuleWindows | None = None):
    """Evaluate every enabled rule watching the snapshot's version on its metrics.

    Returns (alerts fired, alerts resolved).
    """
    now = now or snapshot.timestamp
    windows = windows or RuleWindows(now)
    fired, resolved = [], []
    for rule in rules_for_version(snapshot.model_version):
        if custom_metric(rule.metric_name) is not None:
            value, num_with_outcome, window_minutes = windows.pushed_value(snapshot, rule)
        elif rule.metric_name in MetricName.values:
            value, num_with_outcome, window_minutes = windows.value(snapshot, rule)
        else:
            continue
        evaluation = evaluate(
            rule,
            value,
            snapshot.model_version,
            now=now,
            num_with_outcome=num_with_outcome,
            deliver=deliver,
            window_minutes=window_minutes,
        )
        if evaluation.fired:
            fired.append(evaluation.alert)
        elif evaluation.resolved:
            resolved.append(evaluation.alert)
    return fired, resolved


def evaluate_snapshots(snapshots, now, deliver: bool) -> MonitorPassResult:
    """Evaluate the rules on snapshots just stored; what fired and resolved (none sent yet
    unless ``deliver``: then each alert's notifications go out after commit)."""
    result = MonitorPassResult(snapshots=list(snapshots))
    windows = RuleWindows(now)
    for snapshot in result.snapshots:
        fired, resolved = evaluate_snapshot(snapshot, now=now, deliver=deliver, windows=windows)
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
    """Snapshot the version (or every active and every production/staging one), evaluate
    the rules, send what is due, and leave the heartbeat.

    With ``retry_due`` False (a web request) only this pass's own notifications are sent,
    not every delivery waiting for a retry.
    """
    now = now or timezone.now()
    # Versions whose slot another monitor holds are left out: that monitor evaluates them.
    snapshots = compute_snapshots(
        model_version, window_minutes=window_minutes, now=now, monitor_slot=monitor_slot,
        include_registry=True,
    )
    result = evaluate_snapshots(snapshots, now=now, deliver=not retry_due)
    if retry_due:
        result.deliveries_sent = deliver_due(now=now)
        # Alertmanager forgets a firing alert that is not posted again (SPEC §11).
        repost_firing()
    else:
        result.deliveries_sent = sent_deliveries(result)
    record_pass(now)
    if result.snapshots or result.deliveries_sent:
        logger.info(
            "monitor pass: %d snapshot(s), %d alert(s) fired, %d resolved, %d delivered",
            len(result.snapshots), len(result.alerts_fired), len(result.alerts_resolved),
            result.deliveries_sent,
        )
    return result
