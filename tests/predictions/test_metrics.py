"""The §4/§8 metrics equal scikit-learn/numpy computed on the same rows."""
import math
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from sklearn.metrics import (
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from predictions import metrics
from predictions.models import Prediction
from tests.conftest import store_predictions

NOW = timezone.now().replace(microsecond=0)


def build_rows(seed, n, classes=(0, 1), version="v1", minutes_ago=(0, 50), ties=False,
               labelled_share=0.7, latency_share=0.8):
    """Random predictions; with ties=True confidences repeat (one decimal)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        confidence = float(rng.uniform(0, 1))
        if ties:
            confidence = round(confidence, 1)
        if i % 17 == 0:
            confidence = float(rng.choice([0.0, 1.0]))
        predicted = int(rng.choice(classes))
        actual = int(rng.choice(classes)) if rng.uniform() < labelled_share else None
        if actual is not None and rng.uniform() < 0.5:
            actual = predicted  # better than chance
        latency = round(float(rng.uniform(1, 200)), 2) if rng.uniform() < latency_share else None
        if ties and latency is not None:
            latency = float(round(latency / 50) * 50)
        rows.append(
            Prediction(
                prediction_id=f"{version}-{seed}-{i}",
                model_version=version,
                timestamp=NOW - timedelta(minutes=float(rng.uniform(*minutes_ago))),
                predicted_outcome=predicted,
                confidence=confidence,
                actual_outcome=actual,
                latency_ms=latency,
            )
        )
    store_predictions(rows)
    return rows


def nearest_rank(values, p):
    values = sorted(values)
    return values[max(1, math.ceil(p * len(values) - 1e-9)) - 1]


def expected(rows, n_bins=10):
    """Reference figures computed with numpy and scikit-learn."""
    conf = np.array([r.confidence for r in rows], dtype=float)
    pred = np.array([r.predicted_outcome for r in rows])
    latency = [r.latency_ms for r in rows if r.latency_ms is not None]
    lab = [r for r in rows if r.actual_outcome is not None]
    y = np.array([r.actual_outcome for r in lab])
    yp = np.array([r.predicted_outcome for r in lab])
    lc = np.array([r.confidence for r in lab], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -(conf * np.log(conf)) - (1 - conf) * np.log(1 - conf)
    ent = np.where((conf <= 0) | (conf >= 1), 0.0, ent)
    out = {
        "num_predictions": len(rows),
        "avg_confidence": conf.mean() if len(rows) else None,
        "min_confidence": conf.min() if len(rows) else None,
        "max_confidence": conf.max() if len(rows) else None,
        "confidence_std": conf.std(ddof=1) if len(rows) >= 2 else None,
        "latency_p50_ms": nearest_rank(latency, 0.5) if latency else None,
        "latency_p95_ms": nearest_rank(latency, 0.95) if latency else None,
        "positive_rate": float((pred == 1).mean()) if len(rows) else None,
        "prediction_entropy": ent.mean() if len(rows) else None,
        "num_with_outcome": len(lab),
        "accuracy": float((y == yp).mean()) if len(lab) else None,
        "label_coverage": len(lab) / len(rows) if rows else None,
        "overconfidence_gap": lc.mean() - (y == yp).mean() if len(lab) else None,
    }
    # Calibration
    if len(lab):
        bins = np.minimum(np.floor(lc * n_bins), n_bins - 1).astype(int)
        ece, gaps, bin_rows = 0.0, [], []
        for b in range(n_bins):
            mask = bins == b
            if not mask.any():
                continue
            acc = (y[mask] == yp[mask]).mean()
            mc = lc[mask].mean()
            gap = abs(acc - mc)
            ece += mask.sum() / len(lab) * gap
            gaps.append(gap)
            bin_rows.append((b, int(mask.sum()), mc, acc, gap))
        out["expected_calibration_error"] = ece
        out["max_calibration_error"] = max(gaps)
        out["bins"] = bin_rows
    else:
        out["expected_calibration_error"] = out["max_calibration_error"] = None
        out["bins"] = []
    # Classification
    if len(lab):
        binary = set(y) | set(yp) <= {0, 1}
        average = "binary" if binary else "macro"
        kwargs = {"average": average, "zero_division": 0}
        out["precision"] = precision_score(y, yp, **kwargs)
        out["recall"] = recall_score(y, yp, **kwargs)
        out["f1_score"] = f1_score(y, yp, **kwargs)
        out["average"] = average
        score = np.where(yp == 1, lc, 1 - lc)
        out["roc_auc"] = roc_auc_score(y, score) if binary and len(set(y)) == 2 else None
        out["brier_score"] = brier_score_loss(y, score, pos_label=1) if binary else None
    else:
        for key in ("precision", "recall", "f1_score", "roc_auc", "brier_score", "average"):
            out[key] = None
    return out


def assert_close(actual, wanted, key):
    if wanted is None:
        assert actual is None, key
    elif isinstance(wanted, str):
        assert actual == wanted, key
    else:
        assert actual == pytest.approx(float(wanted), rel=1e-9, abs=1e-12), key


def assert_window_matches(result, rows, n_bins=10):
    want = expected(rows, n_bins)
    for key, value in want.items():
        if key == "bins":
            continue
        assert_close(result[key], value, key)
    got_bins = result["calibration_bins"]
    assert [b["bin"] for b in got_bins] == [b[0] for b in want["bins"]]
    for got, (_index, count, mean_conf, acc, gap) in zip(got_bins, want["bins"], strict=True):
        assert got["count"] == count
        assert got["mean_confidence"] == pytest.approx(mean_conf, rel=1e-9)
        assert got["accuracy"] == pytest.approx(acc, rel=1e-9)
        assert got["gap"] == pytest.approx(gap, rel=1e-9, abs=1e-12)


@pytest.mark.django_db
@pytest.mark.parametrize("n_bins", [10, 7])
def test_binary_window_matches_sklearn(n_bins):
    rows = build_rows(1, 300)
    result = metrics.window_metrics("v1", 60, now=NOW, n_bins=n_bins)
    assert result["average"] == "binary"
    assert_window_matches(result, rows, n_bins)


@pytest.mark.django_db
def test_ties_in_confidence_match_sklearn():
    rows = build_rows(2, 250, ties=True)
    result = metrics.window_metrics("v1", 60, now=NOW)
    assert_window_matches(result, rows)
    assert result["roc_auc"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("n_bins", [10, 7])
def test_three_classes_use_macro_average(n_bins):
    rows = build_rows(3, 240, classes=(0, 1, 2))
    result = metrics.window_metrics("v1", 60, now=NOW, n_bins=n_bins)
    assert result["average"] == "macro"
    assert result["roc_auc"] is None
    assert result["brier_score"] is None
    assert_window_matches(result, rows, n_bins)


@pytest.mark.django_db
def test_window_excludes_older_predictions_and_other_versions():
    recent = build_rows(4, 120, minutes_ago=(0, 29))
    older = build_rows(5, 80, minutes_ago=(31, 300))
    other = build_rows(6, 90, version="v2", minutes_ago=(0, 29))
    assert_window_matches(metrics.window_metrics("v1", 30, now=NOW), recent)
    assert_window_matches(metrics.window_metrics("v1", None, now=NOW), recent + older)
    assert_window_matches(metrics.window_metrics(None, 30, now=NOW), recent + other)
    assert_window_matches(metrics.window_metrics(None, None, now=NOW), recent + older + other)


@pytest.mark.django_db
@pytest.mark.parametrize("classes,n_bins", [((0, 1), 10), ((0, 1), 7), ((0, 1, 2), 10)])
def test_windows_off_the_hour_at_both_ends_match_sklearn(classes, n_bins):
    """Whole hours from the aggregates, both partial edge hours scanned, and a window inside
    one hour scanned alone: each equals numpy/scikit-learn on the rows inside it."""
    rows = build_rows(21, 400, classes=classes, minutes_ago=(0, 300), ties=True)
    other = build_rows(22, 100, classes=classes, version="v2", minutes_ago=(0, 300))
    top = NOW.replace(minute=0, second=0)
    for start, end in (
        (top - timedelta(hours=4, minutes=37), top - timedelta(minutes=23)),  # two edges
        (top - timedelta(hours=2, minutes=50), top - timedelta(hours=2, minutes=5)),  # in one
        (top - timedelta(hours=3), top - timedelta(hours=1, minutes=10)),  # end edge only
    ):
        inside = [r for r in rows if start <= r.timestamp < end]
        assert inside
        result = metrics.metrics_of(metrics.MetricWindow("v1", start, end), n_bins)
        assert_window_matches(result, inside, n_bins)
        both = [r for r in rows + other if start <= r.timestamp < end]
        assert_window_matches(metrics.metrics_of(metrics.MetricWindow(None, start, end), n_bins),
                              both, n_bins)


@pytest.mark.django_db
def test_each_function_matches_the_merged_result():
    rows = build_rows(7, 150)
    predictions = metrics.MetricWindow.last("v1", 60, now=NOW)
    want = expected(rows, 7)
    performance = metrics.performance_metrics(predictions)
    for key in ("num_predictions", "avg_confidence", "confidence_std", "latency_p50_ms",
                "latency_p95_ms", "positive_rate", "prediction_entropy"):
        assert_close(performance[key], want[key], key)
    accuracy = metrics.accuracy_metrics(predictions)
    assert_close(accuracy["accuracy"], want["accuracy"], "accuracy")
    assert accuracy["num_with_outcome"] == want["num_with_outcome"]
    calibration = metrics.calibration_metrics(predictions, n_bins=7)
    assert_close(calibration["expected_calibration_error"], want["expected_calibration_error"],
                 "ece")
    assert calibration["num_bins"] == 7
    assert calibration["total_predictions"] == want["num_with_outcome"]
    assert calibration["bin_metrics"][-1]["bin_range"].endswith("]") or (
        calibration["bin_metrics"][-1]["bin"] != 6
    )
    classification = metrics.classification_metrics(predictions)
    for key in ("precision", "recall", "f1_score", "roc_auc", "brier_score", "average"):
        assert_close(classification[key], want[key], key)


@pytest.mark.django_db
def test_empty_window_gives_nulls_not_errors():
    build_rows(8, 20, minutes_ago=(120, 200))
    result = metrics.window_metrics("v1", 60, now=NOW)
    assert result["num_predictions"] == 0
    assert result["num_with_outcome"] == 0
    for key in ("avg_confidence", "min_confidence", "max_confidence", "confidence_std",
                "latency_p50_ms", "latency_p95_ms", "positive_rate", "prediction_entropy",
                "accuracy", "precision", "recall", "f1_score", "roc_auc", "brier_score",
                "expected_calibration_error", "max_calibration_error", "label_coverage",
                "overconfidence_gap"):
        assert result[key] is None, key
    assert result["calibration_bins"] == []


@pytest.mark.django_db
def test_unlabelled_window_has_label_free_metrics_only():
    rows = build_rows(9, 30, labelled_share=0.0)
    result = metrics.window_metrics("v1", 60, now=NOW)
    assert_window_matches(result, rows)
    assert result["accuracy"] is None
    assert result["label_coverage"] == 0.0


@pytest.mark.django_db
def test_one_row_has_no_std_and_one_class_has_no_auc(make_prediction):
    make_prediction(confidence=0.9, predicted_outcome=1, actual_outcome=1, latency_ms=12.5)
    result = metrics.window_metrics(None, 60)
    assert result["confidence_std"] is None
    assert result["roc_auc"] is None
    assert result["latency_p50_ms"] == result["latency_p95_ms"] == 12.5
    assert result["accuracy"] == 1.0
    assert result["precision"] == result["recall"] == result["f1_score"] == 1.0
    assert result["brier_score"] == pytest.approx(0.01)


@pytest.mark.django_db
def test_bin_ranges_name_the_interval(make_prediction):
    make_prediction(confidence=0.15, actual_outcome=1)
    make_prediction(confidence=1.0, actual_outcome=0)
    bins = metrics.calibration_metrics(metrics.MetricWindow.last(), n_bins=10)["bin_metrics"]
    assert [(b["bin"], b["bin_range"]) for b in bins] == [
        (1, "[0.10, 0.20)"),
        (9, "[0.90, 1.00]"),
    ]
    assert bins[1]["accuracy"] == 0.0
    assert bins[1]["gap"] == 1.0


@pytest.mark.django_db
def test_percentiles_are_nearest_rank(make_prediction):
    for latency in [5.0, 1.0, 3.0, 2.0, 4.0, None]:
        make_prediction(latency_ms=latency)
    result = metrics.performance_metrics(metrics.MetricWindow.last())
    # n = 5: the 3rd smallest is the median, the 5th (⌈4.75⌉) the 95th percentile.
    assert result["latency_p50_ms"] == 3.0
    assert result["latency_p95_ms"] == 5.0


@pytest.mark.django_db
def test_metric_queries_do_not_grow_with_rows(django_assert_max_num_queries):
    # Two reads of the hourly aggregates, one grouped scan of the partial hour at the
    # window's start, the latency percentiles (one sort) and the AUC ranks.
    build_rows(10, 30)
    with django_assert_max_num_queries(5) as few:
        small = metrics.window_metrics("v1", 60, now=NOW)
    assert small["roc_auc"] is not None and small["latency_p95_ms"] is not None
    build_rows(11, 600)
    with django_assert_max_num_queries(len(few.captured_queries)):
        metrics.window_metrics("v1", 60, now=NOW)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 100, 137, 1000])
def test_latency_percentiles_are_nearest_rank_for_any_count(n):
    # Every percent, every count: the ⌈p·n⌉-th smallest, whatever the float rounding
    # of p·n (PostgreSQL uses an ordered-set aggregate, SQLite a row number).
    from predictions.metrics import _percentiles

    rng = np.random.default_rng(n)
    latencies = rng.gamma(2.0, 15.0, size=n).round(3)
    store_predictions(
        Prediction(prediction_id=f"lat{n}_{i}", model_version="v1", predicted_outcome=1,
                   confidence=0.5, latency_ms=float(value))
        for i, value in enumerate(latencies)
    )
    percents = (1, 5, 10, 25, 33, 50, 66, 75, 90, 95, 99, 100)
    ordered = np.sort(latencies)
    expected = [ordered[max(1, -(-p * n // 100)) - 1] for p in percents]  # exact ⌈p·n/100⌉
    got = _percentiles(Prediction.objects.all(), n, percents)
    assert got == pytest.approx(expected)


def _std_of(confidences, make_prediction):
    for confidence in confidences:
        make_prediction(model_version="std", confidence=float(confidence))
    return metrics.performance_metrics(metrics.MetricWindow.last("std"))["confidence_std"]


def test_std_of_identical_confidences_is_exactly_zero(make_prediction):
    # Summing c and c² (even shifted) left 4.97e-09 here: the square root of rounding noise.
    assert _std_of([0.8] * 10, make_prediction) == 0.0


@pytest.mark.parametrize("spread", [0.3, 1e-3])
def test_std_matches_numpy_within_1e_12(make_prediction, spread):
    rng = np.random.default_rng(7)
    confidences = np.clip(0.8 + spread * rng.standard_normal(300), 0.0, 1.0)
    assert _std_of(confidences, make_prediction) == pytest.approx(
        float(np.std(confidences, ddof=1)), abs=1e-12, rel=0
    )
