"""Health snapshots: the §4 metrics of one model version over one window, stored.

One service used by the API (``POST health-snapshots/compute/``), ``compute_snapshots``
and ``run_monitor`` (through alerting.monitor). The figures come from
``predictions.metrics.window_metrics``; this module adds the trend against the version's
previous snapshot and the degradation flag, and stores the row. A monitor passes its
interval slot so that two monitors never store two snapshots for one slot.
"""
from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from predictions.drift import snapshot_drift_metrics
from predictions.models import HealthSnapshot, Prediction

# Columns of HealthSnapshot filled from the window's metrics; every other figure goes
# into the snapshot's ``metrics`` JSON (with the calibration bins).
SNAPSHOT_METRIC_COLUMNS = (
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "roc_auc",
    "expected_calibration_error",
    "brier_score",
)


def accuracy_trend(accuracy, previous_accuracy):
    """Percent change of accuracy vs the previous snapshot; None when not computable."""
    if accuracy is None or previous_accuracy is None or previous_accuracy == 0:
        return None
    return 100.0 * (accuracy - previous_accuracy) / previous_accuracy


def is_degraded(trend) -> bool:
    return trend is not None and trend <= -settings.MONITORING_DEGRADATION_PCT


def previous_snapshot(model_version: str, before) -> HealthSnapshot | None:
    return (
        HealthSnapshot.objects.filter(model_version=model_version, timestamp__lt=before)
        .order_by("-timestamp", "-id")
        .first()
    )


def active_versions(window_minutes: int, now=None) -> list[str]:
    """Model versions with at least one prediction in the window (as window_metrics reads it)."""
    now = now or timezone.now()
    since = now - timedelta(minutes=window_minutes)
    return list(
        Prediction.objects.filter(timestamp__gte=since)
        .order_by("model_version")
        .values_list("model_version", flat=True)
        .distinct()
    )


def _json_safe(value):
    """NaN/inf cannot go into a JSON column: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def window_snapshot_values(model_version: str, window_minutes: int, now) -> dict:
    """Everything a snapshot stores about the window, before the trend.

    Later steps (e.g. a drift report) add their figures to ``values["metrics"]`` here.
    """
    from predictions.metrics import window_metrics  # written beside this module

    figures = _json_safe(dict(window_metrics(model_version, window_minutes, now=now)))
    num_with_outcome = figures.get("num_with_outcome") or 0
    values = {column: figures.get(column) for column in SNAPSHOT_METRIC_COLUMNS}
    values["num_predictions"] = figures.get("num_predictions") or 0
    values["num_with_outcome"] = num_with_outcome
    values["metrics"] = figures
    return values


def compute_snapshot(
    model_version: str, window_minutes: int = 60, now=None, monitor_slot: int | None = None
) -> HealthSnapshot | None:
    """Compute and store the snapshot of ``model_version`` over the last ``window_minutes``.

    With ``monitor_slot``, returns None (storing nothing) when another monitor already
    stored this version's snapshot for that slot.
    """
    now = now or timezone.now()
    if monitor_slot is not None and HealthSnapshot.objects.filter(
        model_version=model_version, window_minutes=window_minutes, monitor_slot=monitor_slot
    ).exists():
        return None
    values = window_snapshot_values(model_version, window_minutes, now)
    snapshot = _store(model_version, window_minutes, now, values, monitor_slot)
    if snapshot is not None:
        # Drift (SPEC §8) only once the slot is ours: one report per snapshot.
        drift_metrics = snapshot_drift_metrics(model_version, window_minutes, now)
        if drift_metrics:
            snapshot.metrics = {**snapshot.metrics, **drift_metrics}
            snapshot.save(update_fields=["metrics"])
    return snapshot


def _store(model_version, window_minutes, now, values, monitor_slot=None):
    previous = previous_snapshot(model_version, now)
    trend = accuracy_trend(values.get("accuracy"), previous.accuracy if previous else None)
    metrics = dict(values.get("metrics") or {})
    metrics["prediction_accuracy_trend"] = trend
    metrics["degradation_detected"] = is_degraded(trend)
    snapshot = HealthSnapshot(
        timestamp=now,
        model_version=model_version,
        window_minutes=window_minutes,
        prediction_accuracy_trend=trend,
        degradation_detected=is_degraded(trend),
        monitor_slot=monitor_slot,
        **{key: value for key, value in values.items() if key != "metrics"},
        metrics=metrics,
    )
    if monitor_slot is None:
        snapshot.save()
        return snapshot
    try:
        # The savepoint keeps an outer transaction usable when another monitor won.
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:
        return None
    return snapshot


def record_snapshot(values: dict) -> HealthSnapshot:
    """Store a snapshot computed elsewhere (legacy record_health_snapshot, the API).

    ``values`` holds HealthSnapshot fields; a missing trend is computed against the
    version's previous snapshot, and a missing degradation flag follows from it.
    """
    fields = {f.name for f in HealthSnapshot._meta.concrete_fields} - {"id", "monitor_slot"}
    known = {key: value for key, value in values.items() if key in fields}
    known.setdefault("timestamp", timezone.now())
    if known.get("prediction_accuracy_trend") is None and "prediction_accuracy_trend" not in values:
        previous = previous_snapshot(known["model_version"], known["timestamp"])
        known["prediction_accuracy_trend"] = accuracy_trend(
            known.get("accuracy"), previous.accuracy if previous else None
        )
    if "degradation_detected" not in values:
        known["degradation_detected"] = is_degraded(known.get("prediction_accuracy_trend"))
    return HealthSnapshot.objects.create(**known)
