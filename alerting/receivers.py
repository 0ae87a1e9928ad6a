"""Alerting's receivers of predictions.signals: rules evaluated on what the API computes.

``POST health-snapshots/compute/`` and ``POST drift-reports/compute/`` live in
predictions' API, which may not import alerting; they send a signal, and these receivers
(connected in ``AlertingConfig.ready``) evaluate the rules and return the alerts as the
alerting API shows them, for the view to add to its answer. The monitor pass does not go
through here: it evaluates directly (alerting.monitor).
"""
from __future__ import annotations

from alerting.api.serializers import AlertSerializer
from alerting.drift_rules import evaluate_drift_rules
from alerting.models import Alert
from alerting.monitor import evaluate_snapshots, sent_deliveries


def _as_shown(alerts) -> list[dict]:
    """The alerts as ``GET alerts/`` shows them (rule id, deliveries), in the given order."""
    stored = Alert.objects.select_related("rule").prefetch_related("deliveries").in_bulk(
        [alert.pk for alert in alerts]
    )
    return AlertSerializer([stored[alert.pk] for alert in alerts], many=True).data


def evaluate_computed_snapshots(sender, snapshots, now, **kwargs) -> dict:
    """Evaluate the rules on snapshots computed over the API, and send what fired."""
    result = evaluate_snapshots(snapshots, now=now, deliver=True)
    return {
        "alerts_fired": _as_shown(result.alerts_fired),
        "alerts_resolved": _as_shown(result.alerts_resolved),
        "deliveries_sent": sent_deliveries(result),
    }


def evaluate_computed_drift_report(sender, report, now, **kwargs) -> dict:
    """Evaluate the drift rules on a report computed over the API."""
    return {"alerts_fired": _as_shown(evaluate_drift_rules(report, now=now))}
