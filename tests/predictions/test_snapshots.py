"""Health snapshots (SPEC §4): stored metrics, trend vs the previous one, degradation."""
from datetime import timedelta

import pytest
from django.utils import timezone

from predictions.models import HealthSnapshot, ModelVersion
from predictions.snapshots import (
    accuracy_trend,
    active_versions,
    compute_snapshot,
    record_snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def predictions_with_accuracy(make_prediction):
    """predictions_with_accuracy(version, correct, wrong, at) -> labelled predictions."""

    def make(model_version="v1", correct=0, wrong=0, at=None, unlabelled=0):
        at = at or timezone.now()
        for i in range(correct + wrong + unlabelled):
            labelled = i < correct + wrong
            make_prediction(
                model_version=model_version,
                timestamp=at - timedelta(minutes=1, seconds=i),
                predicted_outcome=1,
                confidence=0.9,
                actual_outcome=(1 if i < correct else 0) if labelled else None,
            )

    return make


def test_snapshot_stores_the_window_metrics(predictions_with_accuracy):
    now = timezone.now()
    predictions_with_accuracy(correct=3, wrong=1, unlabelled=2, at=now)
    snapshot = compute_snapshot("v1", window_minutes=60, now=now)
    snapshot.refresh_from_db()
    assert snapshot.timestamp == now
    assert snapshot.model_version == "v1"
    assert snapshot.window_minutes == 60
    assert snapshot.num_predictions == 6
    assert snapshot.num_with_outcome == 4
    assert snapshot.accuracy == pytest.approx(0.75)
    assert snapshot.expected_calibration_error == pytest.approx(0.15)
    assert snapshot.metrics["label_coverage"] == pytest.approx(4 / 6)
    assert snapshot.metrics["avg_confidence"] == pytest.approx(0.9)
    assert snapshot.metrics["overconfidence_gap"] == pytest.approx(0.15)
    assert snapshot.metrics["calibration_bins"][0]["count"] == 4
    assert snapshot.prediction_accuracy_trend is None  # the first one
    assert snapshot.degradation_detected is False


def test_window_leaves_out_older_predictions_and_other_versions(
    predictions_with_accuracy, make_prediction
):
    now = timezone.now()
    predictions_with_accuracy(correct=2, at=now)
    make_prediction(model_version="v1", timestamp=now - timedelta(hours=3), actual_outcome=0)
    make_prediction(model_version="v2", timestamp=now - timedelta(minutes=3), actual_outcome=0)
    snapshot = compute_snapshot("v1", window_minutes=60, now=now)
    assert snapshot.num_predictions == 2
    assert snapshot.accuracy == 1.0


@pytest.fixture
def no_reference(db):
    """v1 registered with an empty reference window and no training accuracy, so that
    the baseline falls back to an earlier snapshot (the last rule of §9)."""
    far = timezone.now() - timedelta(days=400)
    ModelVersion.objects.create(version="v1", model_name="m", reference_start=far,
                                reference_end=far + timedelta(hours=1))


def test_trend_and_degradation_against_the_previous_snapshot(
    predictions_with_accuracy, settings, no_reference
):
    settings.MONITORING_DEGRADATION_PCT = 5
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 10
    start = timezone.now() - timedelta(hours=5)
    predictions_with_accuracy(correct=8, wrong=2, at=start)
    first = compute_snapshot("v1", window_minutes=30, now=start)
    predictions_with_accuracy(correct=7, wrong=3, at=start + timedelta(hours=1))
    second = compute_snapshot("v1", window_minutes=30, now=start + timedelta(hours=1))

    assert first.accuracy == pytest.approx(0.8)
    assert second.accuracy == pytest.approx(0.7)
    assert second.prediction_accuracy_trend == pytest.approx(100 * (0.7 - 0.8) / 0.8)
    assert second.degradation_detected is True
    assert second.metrics["degradation_detected"] is True


def test_small_drop_is_not_degradation(predictions_with_accuracy, settings, no_reference):
    settings.MONITORING_DEGRADATION_PCT = 5
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 10
    start = timezone.now() - timedelta(hours=5)
    predictions_with_accuracy(correct=20, at=start)
    compute_snapshot("v1", window_minutes=30, now=start)
    predictions_with_accuracy(correct=24, wrong=1, at=start + timedelta(hours=1))
    second = compute_snapshot("v1", window_minutes=30, now=start + timedelta(hours=1))
    assert second.prediction_accuracy_trend == pytest.approx(-4.0)
    assert second.degradation_detected is False


def test_drop_of_exactly_the_threshold_is_degradation(settings):
    settings.MONITORING_DEGRADATION_PCT = 5
    from predictions.snapshots import is_degraded

    assert is_degraded(-5.0) and is_degraded(-12.0)
    assert not is_degraded(-4.99) and not is_degraded(None) and not is_degraded(3.0)


def test_trend_is_per_version(predictions_with_accuracy):
    start = timezone.now() - timedelta(hours=5)
    predictions_with_accuracy("v1", correct=9, wrong=1, at=start)
    compute_snapshot("v1", window_minutes=30, now=start)
    predictions_with_accuracy("v2", correct=1, wrong=1, at=start + timedelta(hours=1))
    other = compute_snapshot("v2", window_minutes=30, now=start + timedelta(hours=1))
    assert other.prediction_accuracy_trend is None


@pytest.mark.parametrize(
    ("accuracy", "previous", "trend"),
    [(0.7, 0.8, -12.5), (0.9, 0.6, 50.0), (None, 0.8, None), (0.7, None, None), (0.7, 0.0, None)],
)
def test_accuracy_trend(accuracy, previous, trend):
    result = accuracy_trend(accuracy, previous)
    assert result == (pytest.approx(trend) if trend is not None else None)


def test_unlabelled_window_gives_null_accuracy_and_no_trend(predictions_with_accuracy):
    now = timezone.now()
    predictions_with_accuracy(unlabelled=3, at=now)
    snapshot = compute_snapshot("v1", now=now)
    assert snapshot.accuracy is None
    assert snapshot.num_with_outcome == 0
    assert snapshot.prediction_accuracy_trend is None
    assert snapshot.degradation_detected is False


def test_second_snapshot_of_one_monitor_slot_is_a_no_op(predictions_with_accuracy):
    now = timezone.now()
    predictions_with_accuracy(correct=2, at=now)
    assert compute_snapshot("v1", now=now, monitor_slot=42) is not None
    assert compute_snapshot("v1", now=now + timedelta(seconds=5), monitor_slot=42) is None
    assert compute_snapshot("v1", now=now + timedelta(seconds=9), monitor_slot=43) is not None
    assert HealthSnapshot.objects.count() == 2


def test_slot_taken_between_check_and_insert_is_a_no_op(predictions_with_accuracy, monkeypatch):
    """The unique constraint, not the pre-check, decides (two monitors racing)."""
    from predictions import snapshots

    now = timezone.now()
    predictions_with_accuracy(correct=2, at=now)
    compute_snapshot("v1", now=now, monitor_slot=7)

    class NothingThere:
        def exists(self):
            return False

    real_filter = HealthSnapshot.objects.filter
    monkeypatch.setattr(
        snapshots.HealthSnapshot.objects, "filter",
        lambda *a, **kw: NothingThere() if "monitor_slot" in kw else real_filter(*a, **kw),
    )
    assert compute_snapshot("v1", now=now, monitor_slot=7) is None
    assert HealthSnapshot.objects.count() == 1


def test_active_versions_are_those_with_predictions_in_the_window(make_prediction):
    now = timezone.now()
    make_prediction(model_version="v2", timestamp=now - timedelta(minutes=5))
    make_prediction(model_version="v1", timestamp=now - timedelta(minutes=50))
    make_prediction(model_version="v1", timestamp=now - timedelta(minutes=55))
    make_prediction(model_version="old", timestamp=now - timedelta(hours=2))
    assert active_versions(60, now=now) == ["v1", "v2"]
    assert active_versions(10, now=now) == ["v2"]


def test_record_snapshot_computes_a_missing_trend(no_reference):
    # Against the earlier snapshot: it has enough labels to be a baseline (§9).
    start = timezone.now() - timedelta(hours=2)
    record_snapshot({"model_version": "v1", "timestamp": start, "accuracy": 0.8,
                     "num_predictions": 50, "num_with_outcome": 40})
    second = record_snapshot({"model_version": "v1", "timestamp": start + timedelta(hours=1),
                              "accuracy": 0.6, "num_predictions": 50, "num_with_outcome": 40})
    assert second.prediction_accuracy_trend == pytest.approx(-25.0)
    assert second.degradation_detected is True


def test_record_snapshot_keeps_given_trend_and_flag():
    snapshot = record_snapshot({"model_version": "v1", "accuracy": 0.8,
                                "prediction_accuracy_trend": -2.5,
                                "degradation_detected": False, "roc_auc": None})
    assert snapshot.prediction_accuracy_trend == -2.5
    assert snapshot.degradation_detected is False


# --- the baseline of §9 -----------------------------------------------------------------


def test_the_reference_window_is_the_baseline(predictions_with_accuracy, settings):
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 30
    now = timezone.now()
    reference_at = now - timedelta(days=2)
    ModelVersion.objects.create(
        version="v1", model_name="m", accuracy=0.5,
        reference_start=reference_at - timedelta(hours=1), reference_end=reference_at,
    )
    predictions_with_accuracy(correct=36, wrong=4, at=reference_at)  # 0.9 over 40
    predictions_with_accuracy(correct=28, wrong=12, at=now)  # 0.7 over 40
    snapshot = compute_snapshot("v1", window_minutes=30, now=now)
    assert snapshot.prediction_accuracy_trend == pytest.approx(100 * (0.7 - 0.9) / 0.9)
    assert snapshot.degradation_detected is True


def test_training_accuracy_when_the_reference_has_too_few_labels(
    predictions_with_accuracy, settings
):
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 30
    now = timezone.now()
    reference_at = now - timedelta(days=2)
    ModelVersion.objects.create(
        version="v1", model_name="m", accuracy=0.8,
        reference_start=reference_at - timedelta(hours=1), reference_end=reference_at,
    )
    predictions_with_accuracy(correct=5, at=reference_at)  # 5 labels: not a baseline
    predictions_with_accuracy(correct=30, wrong=10, at=now)  # 0.75
    snapshot = compute_snapshot("v1", window_minutes=30, now=now)
    assert snapshot.prediction_accuracy_trend == pytest.approx(100 * (0.75 - 0.8) / 0.8)


def test_a_snapshot_with_few_labels_is_no_baseline(
    predictions_with_accuracy, settings, no_reference
):
    # A healthy challenger was flagged degraded against a two-label snapshot.
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 30
    start = timezone.now() - timedelta(hours=5)
    predictions_with_accuracy(correct=2, at=start)  # accuracy 1.0 over 2 labels
    compute_snapshot("v1", window_minutes=30, now=start)
    later = start + timedelta(hours=1)
    predictions_with_accuracy(correct=36, wrong=4, at=later)
    snapshot = compute_snapshot("v1", window_minutes=30, now=later)
    assert snapshot.prediction_accuracy_trend is None
    assert snapshot.degradation_detected is False


def test_too_few_labels_in_the_window_judge_nothing(predictions_with_accuracy, settings):
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 30
    now = timezone.now()
    ModelVersion.objects.create(version="v1", model_name="m", accuracy=0.99)
    predictions_with_accuracy(correct=1, wrong=9, at=now)  # 0.1 over 10 labels
    snapshot = compute_snapshot("v1", window_minutes=30, now=now)
    assert snapshot.accuracy == pytest.approx(0.1)
    assert snapshot.prediction_accuracy_trend is None
    assert snapshot.degradation_detected is False


# --- backfill (compute_snapshots --since) ----------------------------------------------


def test_backfill_stores_a_snapshot_per_step_over_bounded_windows(settings):
    from io import StringIO

    from django.core.management import call_command

    from predictions.storage import ingest_predictions

    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 1
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    # Two hours of history: hour 0 all correct, hour 2 all wrong, nothing in hour 1.
    ingest_predictions([
        {"prediction_id": f"b{hour}-{i}", "model_version": "vb", "predicted_outcome": 1,
         "confidence": 0.9, "actual_outcome": 1 if hour == 0 else 0,
         "timestamp": (start + timedelta(hours=hour, minutes=i)).isoformat()}
        for hour in (0, 2) for i in range(5)
    ])
    out = StringIO()
    call_command("compute_snapshots", "--since", start.isoformat(), "--step", "1h", stdout=out)
    snapshots = list(HealthSnapshot.objects.filter(model_version="vb").order_by("timestamp"))
    assert [(s.timestamp - start, s.num_predictions, s.accuracy) for s in snapshots] == [
        (timedelta(hours=1), 5, 1.0), (timedelta(hours=3), 5, 0.0)
    ]
    # Against the baseline: the reference window (the first days), accuracy 0.5.
    assert snapshots[1].prediction_accuracy_trend == pytest.approx(-100.0)
    assert "2 snapshot(s) stored" in out.getvalue() and "no rule evaluated" in out.getvalue()
    call_command("compute_snapshots", "--since", start.isoformat(), stdout=StringIO())
    assert HealthSnapshot.objects.filter(model_version="vb").count() == 2  # nothing twice


def test_backfill_names_a_bad_since():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--since"):
        call_command("compute_snapshots", "--since", "last tuesday")
