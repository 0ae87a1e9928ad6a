"""metrics.jsonl and health_snapshots.jsonl: records without a natural key, so a record
with identical content is the same record (already present, or a duplicate)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from django.db import DatabaseError, transaction

from legacy.importing.context import ImportRun
from legacy.importing.fields import collect, count_field, epoch_field, number_field, text_field
from legacy.importing.report import FileReport
from predictions import rollups
from predictions.choices import MetricStatus
from predictions.models import HealthSnapshot, PerformanceMetric
from predictions.storage import one_line

METRIC_FIELDS = ("timestamp", "metric_name", "value", "window_size", "threshold", "status",
                 "model_version")
SNAPSHOT_FIELDS = (
    "timestamp", "model_version", "window_minutes", "accuracy", "precision", "recall",
    "f1_score", "roc_auc", "expected_calibration_error", "brier_score", "num_predictions",
    "num_with_outcome", "prediction_accuracy_trend", "degradation_detected", "metrics",
)
_TIMESTAMPS_PER_QUERY = 500
# What writing a validated row can still raise: the database's refusal, or a value the
# driver cannot convert.
REFUSED = (DatabaseError, ValueError, OverflowError)


class Record(NamedTuple):
    """An accepted line: its number, raw bytes and the model fields it gives."""

    number: int
    raw: bytes
    row: dict


def metric_row(record: dict) -> dict | str:
    """A metrics.jsonl record → PerformanceMetric fields, or the reason it is refused."""
    status = record.get("status", MetricStatus.NORMAL)
    problems, row = collect([
        ("timestamp", epoch_field(record, "timestamp")),
        ("metric_name", text_field(record, "metric_name", 64)),
        ("value", number_field(record, "value")),
        ("window_size", count_field(record, "window_size")),
        ("threshold", number_field(record, "threshold", required=False)),
        ("model_version", text_field(record, "model_version", 64, required=False)),
        ("status", (None, status) if status in MetricStatus.values else (
            f"status: must be one of {', '.join(MetricStatus.values)}, got {status!r}", None)),
    ])
    return "; ".join(problems) if problems else row


def snapshot_row(record: dict) -> dict | str:
    """A health_snapshots.jsonl record → HealthSnapshot fields, or the reason."""
    flag = record.get("degradation_detected", False)
    checks = [
        ("timestamp", epoch_field(record, "timestamp")),
        ("model_version", text_field(record, "model_version", 64)),
        ("num_predictions", count_field(record, "num_predictions")),
        ("degradation_detected", (None, flag) if isinstance(flag, bool) else (
            f"degradation_detected: must be true or false, got {flag!r}", None)),
        ("window_minutes", count_field(record, "window_minutes", required=False, default=60)),
        ("num_with_outcome", count_field(record, "num_with_outcome", required=False)),
    ]
    for name in ("accuracy", "precision", "recall", "f1_score", "roc_auc",
                 "expected_calibration_error", "brier_score", "prediction_accuracy_trend"):
        checks.append((name, number_field(record, name, required=False)))
    metrics = record.get("metrics", {})
    checks.append(("metrics", (None, metrics) if isinstance(metrics, dict) else (
        "metrics: must be an object", None)))
    problems, row = collect(checks)
    return "; ".join(problems) if problems else row


def import_metrics(run: ImportRun, path: Path, counts: FileReport) -> None:
    _import_keyless(run, path, counts, PerformanceMetric, metric_row, METRIC_FIELDS)


def import_snapshots(run: ImportRun, path: Path, counts: FileReport) -> None:
    _import_keyless(run, path, counts, HealthSnapshot, snapshot_row, SNAPSHOT_FIELDS)


def _content_key(values: dict, fields) -> tuple:
    return tuple(
        json.dumps(values.get(name), sort_keys=True) if name == "metrics" else values.get(name)
        for name in fields
    )


def _import_keyless(run: ImportRun, path, counts, model, to_row, fields) -> None:
    batch: list[Record] = []
    for number, raw, record in run.json_lines(path, counts):
        row = to_row(record)
        if isinstance(row, str):
            run.reject(counts, number, raw, row)
            continue
        batch.append(Record(number, raw, row))
        if len(batch) >= run.batch_size:
            _flush(run, batch, counts, model, fields)
            batch = []
    if batch:
        _flush(run, batch, counts, model, fields)


def _flush(run: ImportRun, batch: list[Record], counts, model, fields) -> None:
    watermark = run.watermarks[model]
    stored: dict[tuple, str] = {}
    timestamps = sorted({record.row["timestamp"] for record in batch})
    for start in range(0, len(timestamps), _TIMESTAMPS_PER_QUERY):
        for values in model.objects.filter(
            timestamp__in=timestamps[start:start + _TIMESTAMPS_PER_QUERY]
        ).values("pk", *fields):
            kind = "run" if values.pop("pk") > watermark else "earlier"
            stored.setdefault(_content_key(values, fields), kind)
    new_records = []
    for record in batch:
        key = _content_key(record.row, fields)
        kind = stored.get(key)
        if kind == "earlier":
            counts.already_present += 1
        elif kind == "run":
            counts.duplicates += 1
        else:
            stored[key] = "run"
            new_records.append(record)
    with transaction.atomic():
        try:
            with transaction.atomic():
                created = model.objects.bulk_create(
                    [model(**record.row) for record in new_records], batch_size=500
                )
                if model is PerformanceMetric:  # (single creates below do it themselves)
                    rollups.add_custom_metrics([metric.pk for metric in created])
            counts.imported += len(new_records)
            return
        except REFUSED:
            pass  # one bad row spoils the batch: one by one
        for record in new_records:
            try:
                with transaction.atomic():
                    model.objects.create(**record.row)
                counts.imported += 1
            except REFUSED as exc:
                run.reject(counts, record.number, record.raw,
                           f"refused by the database: {one_line(exc)}")
