"""Write the database back as a legacy data directory: the rollback path (SPEC §7).

Each file is streamed from the database (``.iterator()``), in insertion order, in the
legacy format: float epoch timestamps (microseconds kept), one JSON object a line, rules
as one JSON array. Values the legacy library had no field for (an outcome, a latency, a
rule's version scope, a snapshot's extra figures) are written only when they carry
something, so that import → export → import changes nothing; ``legacy_only`` leaves them
out for a reader that refuses unknown keys.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from alerting.choices import MetricType
from alerting.models import Alert, AlertRule
from legacy.formats import (
    ALERTS,
    METRICS,
    PREDICTIONS,
    RULE_KEYS,
    RULES,
    SNAPSHOT_KEYS,
    SNAPSHOTS,
    to_epoch,
)
from predictions.choices import DRIFT_METRICS
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction

CHUNK = 2000


@dataclass
class ExportReport:
    out_dir: str
    files: dict[str, int] = field(default_factory=dict)  # file → records written


def export_legacy_dir(out_dir: Path | str, *, legacy_only: bool = False) -> ExportReport:
    """Write the five legacy files into ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out_dir=str(out_dir))
    writers = {
        PREDICTIONS: (_prediction_records, Prediction),
        METRICS: (_metric_records, PerformanceMetric),
        SNAPSHOTS: (_snapshot_records, HealthSnapshot),
        ALERTS: (_alert_records, Alert),
    }
    for name, (records, model) in writers.items():
        queryset = model.objects.order_by("pk")
        report.files[name] = _write_lines(out_dir / name, records(queryset, legacy_only))
    rules = list(_rule_records(AlertRule.objects.order_by("pk"), legacy_only))
    tmp = out_dir / (RULES + ".tmp")
    tmp.write_text(json.dumps(rules, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / RULES)
    report.files[RULES] = len(rules)
    return report


def _write_lines(path: Path, records) -> int:
    written = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")
            written += 1
    tmp.replace(path)  # a crash mid-export never leaves a half file under the real name
    return written


def _prediction_records(queryset, legacy_only):
    for p in queryset.iterator(chunk_size=CHUNK):
        record = {
            "timestamp": to_epoch(p.timestamp),
            "model_version": p.model_version,
            "prediction_id": p.prediction_id,
            "predicted_outcome": p.predicted_outcome,
            "confidence": p.confidence,
            "features": p.features,
            "metadata": p.metadata,
        }
        if not legacy_only:
            if p.actual_outcome is not None:
                record["actual_outcome"] = p.actual_outcome
                record["actual_outcome_timestamp"] = to_epoch(p.actual_outcome_timestamp)
            if p.latency_ms is not None:
                record["latency_ms"] = p.latency_ms
        yield record


def _metric_records(queryset, legacy_only):
    for m in queryset.iterator(chunk_size=CHUNK):
        record = {
            "timestamp": to_epoch(m.timestamp),
            "metric_name": m.metric_name,
            "value": m.value,
            "window_size": m.window_size,
            "threshold": m.threshold,
            "status": m.status,
        }
        if m.model_version and not legacy_only:
            record["model_version"] = m.model_version
        yield record


def _snapshot_records(queryset, legacy_only):
    for s in queryset.iterator(chunk_size=CHUNK):
        record = {name: getattr(s, name) for name in SNAPSHOT_KEYS}
        record["timestamp"] = to_epoch(s.timestamp)
        if not legacy_only:
            if s.window_minutes != 60:
                record["window_minutes"] = s.window_minutes
            if s.num_with_outcome:
                record["num_with_outcome"] = s.num_with_outcome
            if s.brier_score is not None:
                record["brier_score"] = s.brier_score
            if s.metrics:
                record["metrics"] = s.metrics
        yield record


def _alert_records(queryset, legacy_only):
    for a in queryset.iterator(chunk_size=CHUNK):
        yield {
            "timestamp": to_epoch(a.timestamp),
            "alert_id": a.alert_id,
            "severity": a.severity,
            "title": a.title,
            "message": a.message,
            "metric_name": a.metric_name,
            "metric_value": a.metric_value,
            "threshold": a.threshold,
            "component": a.component,
            "model_version": a.model_version,
            "acknowledged": a.acknowledged,
            "acknowledged_at": to_epoch(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by or None,
        }


def legacy_metric_type(rule) -> str:
    """The legacy format's metric_type, derived from what the rule watches (not stored)."""
    if rule.metric_name in DRIFT_METRICS:
        return MetricType.DRIFT
    if rule.metric_name in ("degradation_detected", "prediction_accuracy_trend"):
        return MetricType.DEGRADATION
    return MetricType.THRESHOLD


def _rule_records(queryset, legacy_only):
    for rule in queryset:
        record = {
            name: legacy_metric_type(rule) if name == "metric_type" else getattr(rule, name)
            for name in RULE_KEYS
        }
        if not legacy_only:
            for name in ("name", "description", "model_version"):
                if getattr(rule, name):
                    record[name] = getattr(rule, name)
        yield record
