"""Health snapshots: the §4 metrics of one model version over one window, stored.

One service for every way a snapshot is made. ``compute_snapshots`` measures a window
(``POST health-snapshots/compute/``, and ``compute_snapshots``/``run_monitor`` through
alerting.monitor); ``record_snapshot`` stores figures measured elsewhere (``POST
health-snapshots/``, the legacy tracker). Both store through ``with_trend``: the percent
change of accuracy against the version's previous snapshot, and the degradation flag. A
monitor passes its interval slot so that two monitors never store two snapshots for one
slot.
"""
from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from predictions.choices import Stage
from predictions.drift import reference_window, snapshot_drift_metrics
from predictions.metrics import MetricWindow, accuracy_metrics, window_metrics
from predictions.models import HealthSnapshot, ModelVersion, Prediction


def accuracy_trend(accuracy, baseline_accuracy):
    """Percent change of accuracy vs the baseline; None when not computable."""
    if accuracy is None or baseline_accuracy is None or baseline_accuracy == 0:
        return None
    return 100.0 * (accuracy - baseline_accuracy) / baseline_accuracy


def is_degraded(trend) -> bool:
    return trend is not None and trend <= -settings.MONITORING_DEGRADATION_PCT


def baseline_accuracy(model_version: str, before) -> float | None:
    """What a window's accuracy is compared with (SPEC §9), or None when there is nothing.

    The version's accuracy over its drift reference window when that holds at least
    ``MONITORING_DEGRADATION_MIN_SAMPLES`` labelled predictions; else its registered
    training accuracy; else the latest snapshot before ``before`` with that many labels.
    A two-label snapshot is no baseline: a healthy challenger compared with one was
    flagged degraded.
    """
    minimum = settings.MONITORING_DEGRADATION_MIN_SAMPLES
    reference = reference_window(model_version)
    if reference is not None:
        figures = accuracy_metrics(MetricWindow(model_version, reference.start, reference.end))
        if figures["accuracy"] is not None and figures["num_with_outcome"] >= minimum:
            return figures["accuracy"]
    registered = (
        ModelVersion.objects.filter(version=model_version, accuracy__isnull=False)
        .values_list("accuracy", flat=True)
        .first()
    )
    if registered is not None:
        return registered
    previous = (
        HealthSnapshot.objects.filter(
            model_version=model_version, timestamp__lt=before, accuracy__isnull=False,
            num_with_outcome__gte=minimum,
        )
        .order_by("-timestamp", "-id")
        .first()
    )
    return previous.accuracy if previous else None


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


def registry_versions_watched() -> list[str]:
    """The registry's production and staging versions: watched even when no prediction
    arrives (a window without data is itself a signal)."""
    return list(
        ModelVersion.objects.filter(stage__in=[Stage.PRODUCTION, Stage.STAGING])
        .order_by("version")
        .values_list("version", flat=True)
    )


def json_safe(value):
    """NaN/inf cannot go into a JSON column: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def window_snapshot_values(model_version: str, window_minutes: int, now) -> dict:
    """The HealthSnapshot fields measured over the window, before the trend.

    The metric columns, the counts, and every figure of the window in ``metrics`` (drift
    figures join them once the snapshot is stored: see ``compute_snapshot``).
    """
    figures = json_safe(dict(window_metrics(model_version, window_minutes, now=now)))
    values = {name: figures.get(name) for name in HealthSnapshot.METRIC_FIELDS}
    values.update({name: figures.get(name) or 0 for name in HealthSnapshot.COUNT_FIELDS})
    values["metrics"] = figures
    return values


def compute_snapshots(
    model_version: str | None = None,
    window_minutes: int = 60,
    now=None,
    monitor_slot: int | None = None,
    include_registry: bool = False,
) -> list[HealthSnapshot]:
    """Snapshot ``model_version``, or every version with predictions in the window (and,
    with ``include_registry``, every production or staging version, data or not).

    Versions whose slot another monitor already holds are left out (see compute_snapshot).
    """
    now = now or timezone.now()
    if model_version:
        versions = [model_version]
    else:
        versions = active_versions(window_minutes, now=now)
        if include_registry:
            versions = sorted({*versions, *registry_versions_watched()})
    snapshots = []
    for version in versions:
        snapshot = compute_snapshot(
            version, window_minutes=window_minutes, now=now, monitor_slot=monitor_slot
        )
        if snapshot is not None:
            snapshots.append(snapshot)
    return snapshots


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
    fields = {
        "timestamp": now,
        "model_version": model_version,
        "window_minutes": window_minutes,
        **window_snapshot_values(model_version, window_minutes, now),
    }
    snapshot = HealthSnapshot(**with_trend(fields), monitor_slot=monitor_slot)
    # The trend is also kept among the figures, where the charts and rule history read them.
    snapshot.metrics = {
        **snapshot.metrics,
        **{name: getattr(snapshot, name) for name in HealthSnapshot.TREND_FIELDS},
    }
    if not _save_unless_slot_taken(snapshot):
        return None
    # Drift (SPEC §8) only once the slot is ours: one report per snapshot.
    drift_metrics = snapshot_drift_metrics(model_version, window_minutes, now)
    if drift_metrics:
        snapshot.metrics = {**snapshot.metrics, **drift_metrics}
        snapshot.save(update_fields=["metrics"])
    return snapshot


def with_trend(fields: dict) -> dict:
    """``fields`` with the trend and degradation flag filled in where they are absent.

    The trend compares accuracy with the version's baseline (``baseline_accuracy``); with
    fewer than ``MONITORING_DEGRADATION_MIN_SAMPLES`` labels in the window it is null and
    nothing is degraded. The flag follows from the trend. Values given by the caller are
    kept as they are.
    """
    fields = dict(fields)
    if "prediction_accuracy_trend" not in fields:
        labelled = fields.get("num_with_outcome")
        enough = labelled is None or labelled >= settings.MONITORING_DEGRADATION_MIN_SAMPLES
        baseline = (
            baseline_accuracy(fields["model_version"], fields["timestamp"])
            if enough and fields.get("accuracy") is not None else None
        )
        fields["prediction_accuracy_trend"] = accuracy_trend(fields.get("accuracy"), baseline)
    if "degradation_detected" not in fields:
        fields["degradation_detected"] = is_degraded(fields["prediction_accuracy_trend"])
    return fields


def _save_unless_slot_taken(snapshot: HealthSnapshot) -> bool:
    """Save; False (nothing saved) when another monitor stored this slot meanwhile."""
    if snapshot.monitor_slot is None:
        snapshot.save()
        return True
    try:
        # The savepoint keeps an outer transaction usable when another monitor won.
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:
        return False
    return True


def record_snapshot(values: dict) -> HealthSnapshot:
    """Store a snapshot measured elsewhere (``POST health-snapshots/``, the legacy tracker).

    ``values`` holds HealthSnapshot fields (others are ignored); a missing timestamp is
    now, a missing trend is computed against the version's previous snapshot, and a
    missing degradation flag follows from the trend.
    """
    fields = {f.name for f in HealthSnapshot._meta.concrete_fields} - {"id", "monitor_slot"}
    known = {key: value for key, value in values.items() if key in fields}
    known.setdefault("timestamp", timezone.now())
    return HealthSnapshot.objects.create(**with_trend(known))
