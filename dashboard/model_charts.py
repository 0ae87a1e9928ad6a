"""The model page's charts over a time range: the §9 series, rules as lines, alerts as marks.

Every figure comes from ``predictions.series.metric_series`` (the hourly aggregates, not
the snapshots) and latency p95 from ``predictions.latency``; the rules watching a metric
(enabled, for every version or this one) and the version's alerts of that metric in the
range come from ``alerting``. This module only puts them together.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from alerting.models import Alert, AlertRule
from dashboard.ranges import TimeRange
from predictions.choices import MetricName
from predictions.latency import latency_p95_series
from predictions.series import metric_series
from predictions.series_charts import Marker, Secondary, Threshold, series_chart_svg

M = MetricName


@dataclass(frozen=True)
class ChartSpec:
    metric: str
    name: str
    y_label: str
    y_max: float | None = None
    value_format: str = "{:.3f}"
    secondary: str | None = None  # a 0–1 share drawn beside it


CHARTS = (
    ChartSpec(M.NUM_PREDICTIONS.value, "Volume and label coverage", "predictions",
              value_format="{:g}", secondary=M.LABEL_COVERAGE.value),
    ChartSpec(M.ACCURACY.value, "Accuracy", "accuracy", y_max=1.0),
    ChartSpec(M.F1_SCORE.value, "F1 score", "F1", y_max=1.0),
    ChartSpec(M.EXPECTED_CALIBRATION_ERROR.value, "Expected calibration error", "ECE"),
    ChartSpec(M.POSITIVE_RATE.value, "Positive rate", "positive rate", y_max=1.0),
    ChartSpec(M.LATENCY_P95_MS.value, "Latency p95", "ms", value_format="{:g}"),
)
SERIES_FIELDS = [
    spec.metric for spec in CHARTS if spec.metric != M.LATENCY_P95_MS.value
] + [spec.secondary for spec in CHARTS if spec.secondary]
WATCHED = {spec.metric for spec in CHARTS} | {spec.secondary for spec in CHARTS if spec.secondary}


def watching_rules(version: str) -> dict[str, list[Threshold]]:
    """{metric: threshold lines} of the enabled rules that watch this version's metrics."""
    rules = AlertRule.objects.filter(enabled=True, metric_name__in=WATCHED).filter(
        Q(model_version="") | Q(model_version=version)
    ).order_by("rule_id")
    lines: dict[str, list[Threshold]] = {}
    for rule in rules:
        label = f"{rule.name or rule.rule_id}: {rule.comparison} {rule.threshold:g}"
        lines.setdefault(rule.metric_name, []).append(Threshold(rule.threshold, label))
    return lines


def alert_markers(version: str, time_range: TimeRange) -> dict[str, list[Marker]]:
    """{metric: markers} of the version's alerts on those metrics inside the range."""
    alerts = Alert.objects.filter(
        model_version=version, metric_name__in=WATCHED,
        timestamp__gte=time_range.start, timestamp__lt=time_range.end,
    ).order_by("timestamp").only("timestamp", "metric_name", "metric_value", "title", "severity")
    markers: dict[str, list[Marker]] = {}
    for alert in alerts:
        value = "" if alert.metric_value is None else f" ({alert.metric_value:.4g})"
        label = f"{alert.timestamp:%Y-%m-%d %H:%M} UTC, {alert.severity}: {alert.title}{value}"
        markers.setdefault(alert.metric_name, []).append(Marker(alert.timestamp, label))
    return markers


def model_charts(version: str, time_range: TimeRange) -> list[tuple[str, str]]:
    """[(name, svg)] of the model page, one per CHARTS entry, over the range."""
    series = metric_series(version, time_range.start, time_range.end, time_range.step,
                           SERIES_FIELDS)
    latency = latency_p95_series(version, time_range.start, time_range.end, time_range.step)
    lines = watching_rules(version)
    markers = alert_markers(version, time_range)
    charts = []
    for spec in CHARTS:
        if spec.metric == M.LATENCY_P95_MS.value:
            points = latency
        else:
            points = [(p["start"], p[spec.metric]) for p in series]
        secondary = None
        if spec.secondary:
            secondary = Secondary(
                [(p["start"], p[spec.secondary]) for p in series],
                label="label coverage", thresholds=lines.get(spec.secondary, ()),
            )
        svg = series_chart_svg(
            points, start=time_range.start, end=time_range.end, step=time_range.step_delta,
            title=f"{spec.name} of {version}, {time_range.label} (per {time_range.step})",
            y_label=spec.y_label, y_max=spec.y_max, value_format=spec.value_format,
            thresholds=lines.get(spec.metric, ()), secondary=secondary,
            markers=markers.get(spec.metric, [])
            + (markers.get(spec.secondary, []) if spec.secondary else []),
        )
        charts.append((spec.name, svg))
    return charts
