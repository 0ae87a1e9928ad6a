"""Evaluate the drift rules on a drift report computed outside a monitor pass (SPEC §8).

The monitor pass evaluates every rule on a snapshot, drift figures included; this is for
``POST drift-reports/compute/``, which produces a report without a snapshot.
"""
from __future__ import annotations

from alerting.models import Alert
from alerting.rules import evaluate, rules_for_version
from predictions.choices import REPORT_METRICS
from predictions.drift import report_metrics
from predictions.models import DriftReport


def evaluate_drift_rules(report: DriftReport, now=None) -> list[Alert]:
    """Run every enabled rule watching a drift or data-quality metric of the report's
    version."""
    values = report_metrics(report)
    fired = []
    for rule in rules_for_version(report.model_version).filter(metric_name__in=REPORT_METRICS):
        evaluation = evaluate(rule, values.get(rule.metric_name), report.model_version, now=now)
        if evaluation.fired:
            fired.append(evaluation.alert)
    return fired
