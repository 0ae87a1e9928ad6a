"""Metric series from the hourly aggregates equal numpy/scikit-learn on the same rows."""
import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, f1_score, precision_score, recall_score

from predictions.outcomes import record_outcome, record_outcomes
from predictions.rollups import rebuild
from predictions.series import SeriesError, metric_series
from predictions.storage import ingest_predictions

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30


def _ingest_history(seed: int, n: int = 1500) -> list[dict]:
    """n predictions over 30 days, a third with outcomes sent late, in shuffled order."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        # Busy days and empty ones: nothing at all on days 10–12.
        day = rng.choice([d for d in range(DAYS) if d not in (10, 11, 12)])
        moment = START + timedelta(days=day, seconds=rng.randrange(86400))
        predicted = rng.randint(0, 1)
        rows.append({
            "prediction_id": f"s{seed}-{i}",
            "model_version": "v-series",
            "predicted_outcome": predicted,
            "confidence": rng.choice([0.0, 0.1, 0.5, 0.95, 1.0, rng.random()]),
            "timestamp": moment.isoformat(),
            **({"actual_outcome": rng.randint(0, 1)} if rng.random() < 0.2 else {}),
        })
    # Another version in the same hours must not leak into this one's points.
    rows += [
        {**row, "prediction_id": "other-" + row["prediction_id"], "model_version": "v-other"}
        for row in rows[:200]
    ]
    for start in range(0, len(rows), 400):
        ingest_predictions(rows[start : start + 400])
    # Late outcomes, out of order, some relabelled twice.
    late = [row for row in rows if rng.random() < 0.5]
    rng.shuffle(late)
    record_outcomes(
        [{"prediction_id": r["prediction_id"], "actual_outcome": rng.randint(0, 1)} for r in late]
    )
    for row in late[:50]:
        record_outcome(row["prediction_id"], rng.randint(0, 1))
    return rows


def _expected(rows: list[dict], lo: datetime, hi: datetime, average: str = "binary") -> dict:
    """The §9 figures of the stored rows with timestamp in [lo, hi), straight from numpy."""
    from predictions.models import Prediction

    stored = list(
        Prediction.objects.filter(model_version="v-series", timestamp__gte=lo, timestamp__lt=hi)
        .values_list("predicted_outcome", "confidence", "actual_outcome")
    )
    n = len(stored)
    if not n:
        return {"num_predictions": 0, "accuracy": None, "expected_calibration_error": None}
    predicted = np.array([s[0] for s in stored])
    confidence = np.array([s[1] for s in stored])
    labelled = [s for s in stored if s[2] is not None]
    clipped = np.clip(confidence, 1e-300, 1 - 1e-16)
    entropy = np.where(
        (confidence <= 0) | (confidence >= 1), 0.0,
        -(clipped * np.log(clipped)) - (1 - clipped) * np.log(1 - clipped),
    )
    expected = {
        "num_predictions": n,
        "num_with_outcome": len(labelled),
        "label_coverage": len(labelled) / n,
        "avg_confidence": confidence.mean(),
        "positive_rate": float(np.mean(predicted == 1)),
        "prediction_entropy": entropy.mean(),
        "accuracy": None,
    }
    if labelled:
        y_pred = np.array([s[0] for s in labelled])
        y_conf = np.array([s[1] for s in labelled])
        y_true = np.array([s[2] for s in labelled])
        bins = np.minimum(np.floor(y_conf * 10).astype(int), 9)
        ece = sum(
            np.sum(bins == b) / len(labelled)
            * abs(np.mean(y_pred[bins == b] == y_true[bins == b]) - np.mean(y_conf[bins == b]))
            for b in range(10) if np.any(bins == b)
        )
        score = np.where(y_pred == 1, y_conf, 1 - y_conf)
        expected.update(
            accuracy=float(np.mean(y_pred == y_true)),
            precision=precision_score(y_true, y_pred, average=average, zero_division=0),
            recall=recall_score(y_true, y_pred, average=average, zero_division=0),
            f1_score=f1_score(y_true, y_pred, average=average, zero_division=0),
            expected_calibration_error=ece,
            brier_score=None if average != "binary" else brier_score_loss(y_true, score)
            if len(set(y_true)) > 1 else float(np.mean((score - y_true) ** 2)),
        )
    return expected


def _assert_point(point: dict, expected: dict) -> None:
    for name, value in expected.items():
        got = point[name]
        if value is None:
            assert got is None, name
        else:
            assert got == pytest.approx(value, abs=1e-9), (point["start"], name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step,hours", [("1h", 1), ("6h", 6), ("1d", 24)])
def test_every_point_equals_numpy_on_the_same_rows(step, hours):
    rows = _ingest_history(seed=hours)
    end = START + timedelta(days=DAYS)
    points = metric_series("v-series", START, end, step)
    assert len(points) == DAYS * 24 // hours
    assert [p["start"] for p in points[:2]] == [START, START + timedelta(hours=hours)]
    empty = [p for p in points if p["num_predictions"] == 0]
    assert empty and all(p["accuracy"] is None for p in empty)
    for point in points:
        bucket_end = point["start"] + timedelta(hours=hours)
        _assert_point(point, _expected(rows, point["start"], bucket_end))


@pytest.mark.django_db(transaction=True)
def test_a_window_given_by_start_and_end_aligns_buckets_in_utc():
    rows = _ingest_history(seed=7, n=600)
    start = datetime(2026, 10, 3, 7, 30, tzinfo=UTC)
    end = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    points = metric_series("v-series", start, end, "6h")
    # 06:00 on the 3rd (holds 07:30) up to the block starting 00:00 on the 5th.
    assert points[0]["start"] == datetime(2026, 10, 3, 6, tzinfo=UTC)
    assert points[-1]["start"] == datetime(2026, 10, 5, 0, tzinfo=UTC)
    assert len(points) == 8
    for point in points:
        _assert_point(point, _expected(rows, point["start"], point["start"] + timedelta(hours=6)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_maintained_aggregates_equal_a_rebuild_after_random_interleavings(seed):
    rng = random.Random(seed)
    ids = []
    for _step in range(60):
        action = rng.choice(["ingest", "ingest", "outcome", "outcomes", "resend"])
        if action == "ingest" or not ids:
            batch = []
            for _ in range(rng.randint(1, 30)):
                pid = f"r{seed}-{len(ids)}"
                ids.append(pid)
                batch.append({
                    "prediction_id": pid, "model_version": rng.choice(["a", "b"]),
                    "predicted_outcome": rng.randint(0, 2), "confidence": rng.random(),
                    "timestamp": (START + timedelta(minutes=rng.randrange(5000))).isoformat(),
                    **({"actual_outcome": rng.randint(0, 2)} if rng.random() < 0.3 else {}),
                    **({"latency_ms": rng.random() * 50} if rng.random() < 0.5 else {}),
                })
            ingest_predictions(batch)
        elif action == "outcome":
            record_outcome(rng.choice(ids), rng.randint(0, 2))
        elif action == "outcomes":
            record_outcomes([
                {"prediction_id": rng.choice([*ids, "missing"]),
                 "actual_outcome": rng.randint(0, 2)}
                for _ in range(rng.randint(1, 20))
            ])
        else:
            from predictions.models import Prediction

            resent = Prediction.objects.filter(prediction_id__in=rng.sample(ids, min(5, len(ids))))
            ingest_predictions([
                {"prediction_id": p.prediction_id, "model_version": p.model_version,
                 "predicted_outcome": p.predicted_outcome, "confidence": p.confidence,
                 "timestamp": p.timestamp.isoformat()}
                for p in resent
            ])
    report = rebuild()
    assert report.prediction_hours > 0 and report.outcome_hours > 0
    assert report.differences == []


@pytest.mark.django_db
def test_rebuild_reports_what_differed(make_prediction):
    from predictions.models import OutcomeHour

    ingest_predictions([{"prediction_id": "d1", "model_version": "v", "predicted_outcome": 1,
                         "confidence": 0.7, "actual_outcome": 1}])
    OutcomeHour.objects.update(n=5)
    report = rebuild(model_version="v")
    assert any("n was 5, is 1" in line for line in report.differences)
    assert rebuild(model_version="v").differences == []


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs,parameter", [
    ({"step": "2h"}, "step"),
    ({"start": START, "end": START}, "start"),
    ({"start": START, "end": START + timedelta(days=90), "step": "1h"}, "step"),
    ({"metrics": ["accuracy", "nope"]}, "metrics"),
])
def test_a_series_that_cannot_be_answered_names_the_parameter(kwargs, parameter):
    arguments = {"start": START, "end": START + timedelta(days=1), **kwargs}
    with pytest.raises(SeriesError) as raised:
        metric_series("v", **arguments)
    assert raised.value.parameter == parameter


@pytest.mark.django_db
def test_identical_confidences_still_have_exact_sums():
    ingest_predictions([
        {"prediction_id": f"same{i}", "model_version": "v", "predicted_outcome": 1,
         "confidence": 0.8, "timestamp": START.isoformat()}
        for i in range(10)
    ])
    (point,) = metric_series("v", START, START + timedelta(hours=1))
    assert point["avg_confidence"] == pytest.approx(0.8, abs=1e-12)
    assert math.isclose(point["positive_rate"], 1.0)


@pytest.mark.django_db
def test_rebuild_rollups_command_reports_and_repairs():
    from io import StringIO

    from django.core.management import call_command

    from predictions.models import PredictionHour

    ingest_predictions([{"prediction_id": "c1", "model_version": "v", "predicted_outcome": 1,
                         "confidence": 0.7, "timestamp": START.isoformat()}])
    PredictionHour.objects.update(n=3)
    out = StringIO()
    call_command("rebuild_rollups", "--model-version", "v", "--since", START.isoformat(),
                 stdout=out)
    assert "n was 3, is 1" in out.getvalue() and "1 differed" in out.getvalue()
    assert PredictionHour.objects.get().n == 1
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "0 differed" in out.getvalue()


@pytest.mark.django_db
def test_a_bucket_with_more_than_two_classes_has_macro_scores_beside_binary_ones():
    rng = random.Random(5)
    rows = []
    for i in range(120):
        # Hour 0: classes 0, 1 and 2 (macro); hour 1: 0 and 1 only (binary, class 1).
        hour, classes = (0, 3) if i < 60 else (1, 2)
        rows.append({
            "prediction_id": f"m{i}", "model_version": "v-series",
            "predicted_outcome": rng.randrange(classes), "confidence": rng.random(),
            "timestamp": (START + timedelta(hours=hour, seconds=i)).isoformat(),
            "actual_outcome": rng.randrange(classes),
        })
    rows[60]["actual_outcome"] = 2
    ingest_predictions(rows)
    # Relabelled: its cell of class 2 empties, and hour 1 is binary again.
    record_outcomes([{"prediction_id": "m60", "actual_outcome": 1}])
    points = metric_series("v-series", START, START + timedelta(hours=2))
    assert [p["num_with_outcome"] for p in points] == [60, 60]
    for point, average in zip(points, ("macro", "binary"), strict=True):
        expected = _expected(rows, point["start"], point["start"] + timedelta(hours=1), average)
        assert expected["num_with_outcome"] == 60
        _assert_point(point, expected)
    assert points[0]["brier_score"] is None and points[1]["brier_score"] is not None
