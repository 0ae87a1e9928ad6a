"""What the legacy files are called, and how their values map onto database values."""
from __future__ import annotations

import codecs
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.jsonl"
SNAPSHOTS = "health_snapshots.jsonl"
ALERTS = "alerts.jsonl"
RULES = "alert_rules.json"
# Windows tools start a UTF-8 file with a byte-order mark: it is not part of the first record.
BYTE_ORDER_MARK = codecs.BOM_UTF8

# In the order the importer reads them: rules before alerts (alerts are linked to rules).
LEGACY_FILES = (RULES, PREDICTIONS, METRICS, SNAPSHOTS, ALERTS)

# The legacy dataclasses' fields, in their order (the exporter writes these keys).
PREDICTION_KEYS = (
    "timestamp", "model_version", "prediction_id", "predicted_outcome", "confidence",
    "features", "metadata",
)
METRIC_KEYS = ("timestamp", "metric_name", "value", "window_size", "threshold", "status")
SNAPSHOT_KEYS = (
    "timestamp", "model_version", "accuracy", "precision", "recall", "f1_score", "roc_auc",
    "expected_calibration_error", "num_predictions", "prediction_accuracy_trend",
    "degradation_detected",
)
ALERT_KEYS = (
    "timestamp", "alert_id", "severity", "title", "message", "metric_name", "metric_value",
    "threshold", "component", "model_version", "acknowledged", "acknowledged_at",
    "acknowledged_by",
)
RULE_KEYS = (
    "rule_id", "metric_name", "metric_type", "threshold", "comparison", "severity",
    "component", "enabled", "cooldown_minutes", "channels", "conditions",
)


def from_epoch(seconds: float) -> datetime:
    """Legacy float epoch seconds (UTC) → an aware datetime, to the microsecond."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def to_epoch(moment: datetime | None) -> float | None:
    """An aware datetime → float epoch seconds; from_epoch(to_epoch(d)) == d."""
    return None if moment is None else moment.timestamp()


def file_lines(source: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of an open binary file, its byte-order mark left out."""
    first = source.readline()
    if first:
        yield 1, first.removeprefix(BYTE_ORDER_MARK)
        yield from enumerate(source, 2)
