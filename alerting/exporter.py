"""``GET /metrics``: the site's state in Prometheus's text format (SPEC §11).

A custom collector over a fresh ``CollectorRegistry`` per scrape: every figure is read
from the database when Prometheus asks, so several web workers all answer the same,
and nothing is added to prometheus_client's global registry. Cheap by construction:
no query reads predictions. Models' figures come from each version's latest health
snapshot (one index probe per version), prediction totals from the hourly rollups, the
rest from the small alerting tables.
"""
from __future__ import annotations

from django.db.models import Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from alerting.channels import CHANNELS
from alerting.choices import RuleStateName, Severity
from alerting.heartbeat import MONITOR
from alerting.models import Alert, DeliveryFailures, MonitorHeartbeat, RuleState
from alerting.monitor import snapshot_metric_value
from predictions.choices import MetricName
from predictions.models import HealthSnapshot, PredictionHour
from predictions.overview import distinct_model_versions


def latest_snapshots():
    """The newest health snapshot of each version (found without reading them all)."""
    for version in distinct_model_versions(HealthSnapshot):
        snapshot = (
            HealthSnapshot.objects.filter(model_version=version)
            .order_by("-timestamp", "-id").first()
        )
        if snapshot is not None:
            yield snapshot


def model_metrics() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "monitoring_model_metric",
        "Each rule metric of the version's latest health snapshot (booleans 1/0).",
        labels=["model_version", "metric"],
    )
    for snapshot in latest_snapshots():
        for metric in MetricName.values:
            value = snapshot_metric_value(snapshot, metric)
            if isinstance(value, (int, float)):  # null metrics (too few labels) are absent
                family.add_metric([snapshot.model_version, metric], float(value))
    return family


def predictions_total() -> CounterMetricFamily:
    family = CounterMetricFamily(
        "monitoring_predictions", "Predictions stored per model version.",
        labels=["model_version"],
    )
    totals = (
        PredictionHour.objects.order_by().values_list("model_version")
        .annotate(total=Sum("n")).order_by("model_version")
    )
    for version, total in totals:
        family.add_metric([version], float(total or 0))
    return family


def alerts_open() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "monitoring_alerts_open", "Unresolved (open or acknowledged) alerts per severity.",
        labels=["severity"],
    )
    counts = Alert.objects.unresolved().count_by("severity")
    for severity in Severity.values:
        family.add_metric([severity], float(counts.get(severity, 0)))
    return family


def rule_states() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "monitoring_rule_state",
        "Where each enabled rule stands per model version: 1 for the current state.",
        labels=["rule_id", "model_version", "state"],
    )
    rows = (
        RuleState.objects.filter(rule__enabled=True)
        .order_by("rule__rule_id", "model_version")
        .values_list("rule__rule_id", "model_version", "state")
    )
    for rule_id, version, current in rows:
        for state in RuleStateName.values:
            family.add_metric([rule_id, version, state], 1.0 if state == current else 0.0)
    return family


def monitor_last_pass() -> GaugeMetricFamily:
    last = (
        MonitorHeartbeat.objects.filter(name=MONITOR)
        .values_list("last_pass_at", flat=True).first()
    )
    return GaugeMetricFamily(
        "monitoring_monitor_last_pass_timestamp_seconds",
        "Unix time of the monitor's newest pass (0: it never ran).",
        value=last.timestamp() if last else 0.0,
    )


def deliveries_failed() -> CounterMetricFamily:
    family = CounterMetricFamily(
        "monitoring_deliveries_failed", "Failed delivery attempts per channel.",
        labels=["channel"],
    )
    counts = dict(DeliveryFailures.objects.values_list("channel", "failed"))
    for channel in sorted({*CHANNELS, *counts}):
        family.add_metric([channel], float(counts.get(channel, 0)))
    return family


class MonitoringCollector(Collector):
    """The §11 families, read from the database at each scrape."""

    def collect(self):
        yield model_metrics()
        yield predictions_total()
        yield alerts_open()
        yield rule_states()
        yield monitor_last_pass()
        yield deliveries_failed()


def render_metrics() -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitoringCollector())
    return generate_latest(registry)
