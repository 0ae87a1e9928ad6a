"""predictions.tracker: the legacy ModelPerformanceTracker, on the database, bugs fixed."""
import time
import warnings
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from predictions.models import HealthSnapshot, Prediction
from predictions.tracker import (
    ModelHealthSnapshot,
    ModelPerformanceTracker,
    PerformanceMetric,
    PredictionRecord,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracker():
    return ModelPerformanceTracker()


def record(tracker, pid, predicted, confidence, version="v1"):
    tracker.record_prediction(pid, version, predicted, confidence, {"x": 1.0}, {"race": "r1"})


def test_data_dir_is_ignored_with_a_deprecation_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match="import_legacy"):
        ModelPerformanceTracker(data_dir=tmp_path)
    with pytest.warns(DeprecationWarning):
        ModelPerformanceTracker(str(tmp_path))
    assert not list(tmp_path.iterdir())  # nothing written there
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ModelPerformanceTracker()  # the default: no warning


def test_record_prediction_stores_it(tracker):
    record(tracker, "p1", 1, 0.9)
    stored = Prediction.objects.get(prediction_id="p1")
    assert (stored.model_version, stored.predicted_outcome, stored.confidence) == ("v1", 1, 0.9)
    assert stored.features == {"x": 1.0} and stored.metadata == {"race": "r1"}
    assert timezone.now() - stored.timestamp < timedelta(minutes=1)


def test_record_prediction_defaults_metadata_and_is_safe_to_repeat(tracker):
    tracker.record_prediction("p1", "v1", 0, 0.6, {"x": 2})
    tracker.record_prediction("p1", "v1", 0, 0.6, {"x": 2})
    assert Prediction.objects.get().metadata == {}


def test_record_prediction_refuses_invalid_values(tracker):
    with pytest.raises(ValueError, match="confidence"):
        tracker.record_prediction("p1", "v1", 1, 1.7, {})
    assert not Prediction.objects.exists()


def test_record_actual_outcome_returns_the_evaluation_and_persists_it(tracker):
    record(tracker, "p1", 1, 0.8)
    evaluation = tracker.record_actual_outcome("p1", 0)
    assert evaluation["prediction_id"] == "p1" and evaluation["model_version"] == "v1"
    assert (evaluation["predicted"], evaluation["actual"], evaluation["correct"]) == (1, 0, False)
    assert evaluation["confidence"] == 0.8
    assert evaluation["calibration_error"] == pytest.approx(0.8)
    assert isinstance(evaluation["timestamp"], float)
    # The legacy tracker forgot the outcome; now it is on the prediction, for everyone.
    stored = Prediction.objects.get(prediction_id="p1")
    assert stored.actual_outcome == 0 and stored.actual_outcome_timestamp is not None
    assert ModelPerformanceTracker().calculate_accuracy() == 0.0


def test_record_actual_outcome_of_an_unknown_prediction_is_none(tracker):
    assert tracker.record_actual_outcome("nope", 1) is None


def test_calculate_accuracy_is_true_accuracy_not_mean_confidence(tracker):
    for i, (predicted, actual) in enumerate([(1, 1), (1, 0), (0, 0), (1, 0)]):
        record(tracker, f"p{i}", predicted, 0.9)
        tracker.record_actual_outcome(f"p{i}", actual)
    record(tracker, "unlabelled", 1, 0.99)
    assert tracker.calculate_accuracy() == 0.5  # mean confidence would say 0.9
    assert tracker.calculate_accuracy(model_version="v2") is None


def test_calculate_accuracy_is_none_without_labels(tracker):
    record(tracker, "p1", 1, 0.9)
    assert tracker.calculate_accuracy() is None


def test_get_performance_metrics_shape(tracker):
    assert tracker.get_performance_metrics() == {}
    record(tracker, "p1", 1, 0.6)
    record(tracker, "p2", 0, 0.8)
    record(tracker, "p3", 1, 0.7, version="v2")
    metrics = tracker.get_performance_metrics(model_version="v1", window_minutes=60)
    assert set(metrics) == {"num_predictions", "avg_confidence", "min_confidence",
                            "max_confidence", "confidence_std"}
    assert metrics["num_predictions"] == 2
    assert metrics["avg_confidence"] == pytest.approx(0.7)
    assert (metrics["min_confidence"], metrics["max_confidence"]) == (0.6, 0.8)
    assert metrics["confidence_std"] == pytest.approx(0.1414213, rel=1e-5)
    assert tracker.get_performance_metrics()["num_predictions"] == 3


def test_window_minutes_limits_the_predictions(tracker, make_prediction):
    make_prediction(timestamp=timezone.now() - timedelta(hours=3), confidence=0.2)
    record(tracker, "recent", 1, 0.9)
    assert tracker.get_performance_metrics(window_minutes=60)["num_predictions"] == 1
    assert tracker.get_performance_metrics(window_minutes=240)["num_predictions"] == 2


def test_calibration_comes_from_outcomes(tracker):
    assert tracker.calculate_calibration_metrics() == {}
    # Bin 9 (0.9–1.0]: 0.95 twice, one right → accuracy 0.5, gap 0.45.
    # Bin 6 [0.6, 0.7): 0.65 twice, both right → accuracy 1.0, gap 0.35.
    for pid, confidence, actual in [("a", 0.95, 1), ("b", 0.95, 0),
                                    ("c", 0.65, 1), ("d", 0.65, 1)]:
        record(tracker, pid, 1, confidence)
        tracker.record_actual_outcome(pid, actual)
    record(tracker, "unlabelled", 1, 0.15)
    calibration = tracker.calculate_calibration_metrics(n_bins=10)
    assert set(calibration) == {"expected_calibration_error", "num_bins", "total_predictions",
                                "bin_metrics"}
    assert calibration["num_bins"] == 10 and calibration["total_predictions"] == 4
    assert calibration["expected_calibration_error"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    bins = {b["bin"]: b for b in calibration["bin_metrics"]}
    assert set(bins) == {6, 9}
    assert bins[6]["bin_range"] == "[0.60, 0.70)"
    assert (bins[9]["count"], bins[9]["accuracy"]) == (2, 0.5)
    assert bins[9]["mean_confidence"] == pytest.approx(0.95)
    assert bins[9]["gap"] == pytest.approx(0.45)


def snapshot(ts, version="v1", accuracy=0.8, trend=0.0):
    return ModelHealthSnapshot(
        timestamp=ts, model_version=version, accuracy=accuracy, precision=0.7, recall=0.6,
        f1_score=0.65, roc_auc=None, expected_calibration_error=0.05, num_predictions=100,
        prediction_accuracy_trend=trend,
    )


def test_health_snapshots_are_recorded_and_read_back_newest_first(tracker):
    now = time.time()
    tracker.record_health_snapshot(snapshot(now - 7200.25, accuracy=0.81))
    tracker.record_health_snapshot(snapshot(now - 3600.5, accuracy=0.79, trend=-2.5))
    tracker.record_health_snapshot(snapshot(now - 60, version="v2"))
    assert HealthSnapshot.objects.count() == 3

    recent = tracker.get_recent_health_snapshots(model_version="v1")
    assert [s.accuracy for s in recent] == [0.79, 0.81]
    assert isinstance(recent[0], ModelHealthSnapshot)
    assert recent[0].timestamp == pytest.approx(now - 3600.5, abs=1e-6)
    assert recent[0].prediction_accuracy_trend == -2.5
    assert recent[0].roc_auc is None and recent[0].degradation_detected is False
    assert recent[0].to_dict()["model_version"] == "v1"
    assert len(tracker.get_recent_health_snapshots(limit=2)) == 2
    assert tracker.get_recent_health_snapshots()[0].model_version == "v2"


def test_performance_trend_is_a_sorted_dataframe(tracker):
    now = time.time()
    tracker.record_health_snapshot(snapshot(now - 600, accuracy=0.7))
    tracker.record_health_snapshot(snapshot(now - 1200, accuracy=0.8))
    tracker.record_health_snapshot(snapshot(now - 48 * 3600, accuracy=0.9))  # too old
    tracker.record_health_snapshot(snapshot(now - 300, version="v2"))

    trend = tracker.get_performance_trend(model_version="v1", hours=24)
    assert isinstance(trend, pd.DataFrame)
    assert list(trend["accuracy"]) == [0.8, 0.7]
    assert "datetime" in trend.columns and "prediction_accuracy_trend" in trend.columns
    assert trend["datetime"].is_monotonic_increasing
    expected = pd.to_datetime(now - 1200, unit="s")
    assert abs(trend["datetime"].iloc[0] - expected) < pd.Timedelta(milliseconds=1)
    assert len(tracker.get_performance_trend(hours=24)) == 3


def test_performance_trend_is_empty_without_snapshots(tracker):
    trend = tracker.get_performance_trend()
    assert isinstance(trend, pd.DataFrame) and trend.empty


def test_dataclasses_have_the_legacy_fields_and_to_dict():
    prediction = PredictionRecord(1.5, "v1", "p1", 1, 0.9, {"x": 1})
    assert prediction.metadata == {}
    assert prediction.to_dict() == {
        "timestamp": 1.5, "model_version": "v1", "prediction_id": "p1",
        "predicted_outcome": 1, "confidence": 0.9, "features": {"x": 1}, "metadata": {},
    }
    metric = PerformanceMetric(1.5, "accuracy", 0.7, 500)
    assert (metric.threshold, metric.status) == (None, "normal")
    assert metric.to_dict()["window_size"] == 500
