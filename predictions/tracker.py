"""The legacy ``ModelPerformanceTracker`` interface, now backed by the database (SPEC §7).

Existing code keeps calling the same methods with the same arguments and gets the same
shapes back; underneath, every call goes to the services the API uses (``storage`` for
predictions, ``outcomes`` for outcomes, ``metrics`` for the figures, ``snapshots`` for
health snapshots). The legacy bugs are gone: accuracy is true accuracy over labelled predictions
(never mean confidence), calibration comes from outcomes, and outcomes are stored.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.utils import timezone

from predictions.metrics import (
    MetricWindow,
    accuracy_metrics,
    calibration_metrics,
    performance_metrics,
)
from predictions.models import HealthSnapshot
from predictions.outcomes import record_outcome
from predictions.snapshots import record_snapshot
from predictions.storage import IngestConflict, ingest_predictions
from predictions.validation import IngestValidationError


class _DefaultDataDir(str):
    """The legacy default ``data_dir``: recognised so that only an explicit one warns."""


DEFAULT_DATA_DIR = _DefaultDataDir("data/monitoring")


def warn_data_dir(data_dir, owner: str, stacklevel: int = 3) -> None:
    """The legacy files are gone: a data_dir given by the caller is ignored, loudly."""
    if data_dir is not DEFAULT_DATA_DIR:
        warnings.warn(
            f"{owner}(data_dir=…) is ignored: monitoring data now lives in the database "
            "(DATABASE_URL). Import old files with `manage.py import_legacy DATA_DIR`.",
            DeprecationWarning,
            stacklevel=stacklevel,
        )


class _AsDict:
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class PredictionRecord(_AsDict):
    timestamp: float
    model_version: str
    prediction_id: str
    predicted_outcome: int
    confidence: float
    features: dict
    metadata: dict = field(default_factory=dict)


@dataclass
class PerformanceMetric(_AsDict):
    timestamp: float
    metric_name: str
    value: float
    window_size: int
    threshold: float | None = None
    status: str = "normal"


@dataclass
class ModelHealthSnapshot(_AsDict):
    timestamp: float
    model_version: str
    accuracy: float
    precision: float
    recall: float
    f1_score: float
    roc_auc: float | None
    expected_calibration_error: float
    num_predictions: int
    prediction_accuracy_trend: float
    degradation_detected: bool = False

    @classmethod
    def from_model(cls, snapshot: HealthSnapshot) -> ModelHealthSnapshot:
        values = {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(cls)}
        values["timestamp"] = snapshot.timestamp.timestamp()
        return cls(**values)


SNAPSHOT_COLUMNS = [f.name for f in dataclasses.fields(ModelHealthSnapshot)]
PERFORMANCE_KEYS = (
    "num_predictions", "avg_confidence", "min_confidence", "max_confidence", "confidence_std",
)
CALIBRATION_KEYS = (
    "expected_calibration_error", "num_bins", "total_predictions", "bin_metrics",
)


class ModelPerformanceTracker:
    """Records predictions and outcomes and reports the model's performance."""

    def __init__(self, data_dir: Path | str = DEFAULT_DATA_DIR):
        warn_data_dir(data_dir, "ModelPerformanceTracker")

    def record_prediction(
        self,
        prediction_id: str,
        model_version: str,
        predicted_outcome: int,
        confidence: float,
        features: dict,
        metadata: dict | None = None,
    ) -> None:
        """Store one prediction (timestamped now). Recording the identical prediction
        again is a no-op; ValueError for invalid values or a conflicting re-use of the id."""
        try:
            ingest_predictions([{
                "prediction_id": prediction_id,
                "model_version": model_version,
                "predicted_outcome": predicted_outcome,
                "confidence": confidence,
                "features": features if features is not None else {},
                "metadata": metadata if metadata is not None else {},
            }])
        except IngestValidationError as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in exc.errors.get(0, {}).items())
            raise ValueError(f"invalid prediction: {problems}") from exc
        except IngestConflict as exc:
            raise ValueError(
                f"prediction_id {prediction_id!r} is already recorded with different content"
            ) from exc

    def record_actual_outcome(self, prediction_id: str, actual_outcome: int) -> dict | None:
        """Store the ground truth; the evaluation dict, or None for an unknown id."""
        try:
            return record_outcome(prediction_id, actual_outcome)
        except IngestValidationError as exc:
            raise ValueError(f"invalid actual_outcome: {actual_outcome!r}") from exc

    def get_performance_metrics(
        self, model_version: str | None = None, window_minutes: int = 60
    ) -> dict:
        figures = performance_metrics(MetricWindow.last(model_version, window_minutes))
        if not figures["num_predictions"]:
            return {}
        return {key: figures[key] for key in PERFORMANCE_KEYS}

    def calculate_accuracy(
        self, model_version: str | None = None, window_minutes: int = 60
    ) -> float | None:
        """True accuracy: share of labelled predictions that were right (None if none)."""
        return accuracy_metrics(MetricWindow.last(model_version, window_minutes))["accuracy"]

    def calculate_calibration_metrics(
        self, model_version: str | None = None, n_bins: int = 10
    ) -> dict:
        """Reliability bins and ECE over every labelled prediction ({} when none)."""
        calibration = calibration_metrics(MetricWindow(model_version), n_bins)
        if not calibration["total_predictions"]:
            return {}
        return {key: calibration[key] for key in CALIBRATION_KEYS}

    def record_health_snapshot(self, snapshot: ModelHealthSnapshot) -> None:
        values = snapshot.to_dict()
        when = values.get("timestamp")
        values["timestamp"] = (
            datetime.fromtimestamp(when, tz=UTC) if when is not None else timezone.now()
        )
        if values.get("prediction_accuracy_trend") is None:
            values.pop("prediction_accuracy_trend")  # let the service compute it
        record_snapshot(values)

    def get_recent_health_snapshots(
        self, model_version: str | None = None, limit: int = 100
    ) -> list[ModelHealthSnapshot]:
        """Newest first."""
        snapshots = HealthSnapshot.objects.order_by("-timestamp", "-id")
        if model_version is not None:
            snapshots = snapshots.filter(model_version=model_version)
        return [ModelHealthSnapshot.from_model(s) for s in snapshots[: max(0, int(limit))]]

    def get_performance_trend(self, model_version: str | None = None, hours: int = 24):
        """The snapshots of the last ``hours`` as a DataFrame sorted by "datetime"."""
        import pandas as pd

        since = timezone.now() - timedelta(hours=hours)
        snapshots = HealthSnapshot.objects.filter(timestamp__gte=since).order_by(
            "timestamp", "id"
        )
        if model_version is not None:
            snapshots = snapshots.filter(model_version=model_version)
        rows = [ModelHealthSnapshot.from_model(s).to_dict() for s in snapshots.iterator()]
        if not rows:
            return pd.DataFrame(columns=[*SNAPSHOT_COLUMNS, "datetime"])
        frame = pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS)
        frame["datetime"] = pd.to_datetime(frame["timestamp"], unit="s")
        return frame.sort_values("datetime", kind="stable").reset_index(drop=True)
