"""The metrics of SPEC §4 and §8, computed with database aggregates.

Every function takes a queryset of predictions (usually ``window_predictions(...)``) and
issues a fixed, small number of queries whatever the number of rows: aggregates, GROUP BY
for calibration bins and the confusion counts, ORDER BY … OFFSET for percentiles, and a
window function for the ROC AUC ranks. Nothing loads the rows into Python.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, Least, Ln
from django.utils import timezone

from predictions.choices import MetricName
from predictions.models import Prediction

LABELLED = Q(actual_outcome__isnull=False)
CORRECT = Q(actual_outcome__isnull=False, predicted_outcome=F("actual_outcome"))
# Confidences are in [0, 1]: summing (c - 0.5) and (c - 0.5)² instead of c and c² keeps
# the one-pass variance formula clear of cancellation.
_SHIFT = 0.5


def window_predictions(
    model_version: str | None = None,
    window_minutes: int | None = 60,
    now: datetime | None = None,
) -> QuerySet[Prediction]:
    """Predictions with timestamp ≥ now − window (None: all time), of one version or all."""
    predictions = Prediction.objects.all()
    if window_minutes is not None:
        now = now or timezone.now()
        predictions = predictions.filter(timestamp__gte=now - timedelta(minutes=window_minutes))
    if model_version is not None:
        predictions = predictions.filter(model_version=model_version)
    return predictions.order_by()


def _class_one_score():
    """The score of class 1: confidence when class 1 was predicted, else 1 − confidence."""
    return Case(
        When(predicted_outcome=1, then=F("confidence")),
        default=Value(1.0) - F("confidence"),
        output_field=FloatField(),
    )


def _entropy():
    """−c·ln c − (1−c)·ln(1−c), with 0·ln 0 = 0 (the CASE keeps ln away from zero)."""
    c = F("confidence")
    return Case(
        When(Q(confidence__lte=0.0) | Q(confidence__gte=1.0), then=Value(0.0)),
        default=-(c * Ln(c)) - (Value(1.0) - c) * Ln(Value(1.0) - c),
        output_field=FloatField(),
    )


def _nearest_rank(values: QuerySet, n: int, percent: int) -> float:
    """The ⌈p·n⌉-th smallest value (p = percent/100), found by ORDER BY … OFFSET."""
    rank = max(1, -(-percent * n // 100))  # integer ceiling: no float rounding surprises
    return next(iter(values[rank - 1 : rank]))


def performance_metrics(predictions: QuerySet[Prediction]) -> dict:
    """Label-free figures: counts, confidence spread, latency percentiles, entropy."""
    c = F("confidence")
    totals = predictions.aggregate(
        n=Count("id"),
        avg=Avg("confidence"),
        low=Min("confidence"),
        high=Max("confidence"),
        shifted_sum=Sum(c - Value(_SHIFT), output_field=FloatField()),
        shifted_squares=Sum((c - Value(_SHIFT)) * (c - Value(_SHIFT)), output_field=FloatField()),
        positives=Count("id", filter=Q(predicted_outcome=1)),
        entropy=Avg(_entropy()),
        with_latency=Count("latency_ms"),
    )
    n = totals["n"]
    std = None
    if n >= 2:
        s1, s2 = totals["shifted_sum"], totals["shifted_squares"]
        std = math.sqrt(max(0.0, (s2 - s1 * s1 / n) / (n - 1)))
    p50 = p95 = None
    if totals["with_latency"]:
        latencies = (
            predictions.filter(latency_ms__isnull=False)
            .order_by("latency_ms")
            .values_list("latency_ms", flat=True)
        )
        p50 = _nearest_rank(latencies, totals["with_latency"], 50)
        p95 = _nearest_rank(latencies, totals["with_latency"], 95)
    return {
        MetricName.NUM_PREDICTIONS.value: n,
        MetricName.AVG_CONFIDENCE.value: totals["avg"],
        MetricName.MIN_CONFIDENCE.value: totals["low"],
        MetricName.MAX_CONFIDENCE.value: totals["high"],
        MetricName.CONFIDENCE_STD.value: std,
        MetricName.LATENCY_P50_MS.value: p50,
        MetricName.LATENCY_P95_MS.value: p95,
        MetricName.POSITIVE_RATE.value: totals["positives"] / n if n else None,
        MetricName.PREDICTION_ENTROPY.value: totals["entropy"] if n else None,
    }


def accuracy_metrics(predictions: QuerySet[Prediction]) -> dict:
    """True accuracy over the labelled predictions (never confidence as a stand-in)."""
    counts = predictions.aggregate(
        labelled=Count("id", filter=LABELLED), correct=Count("id", filter=CORRECT)
    )
    labelled = counts["labelled"]
    return {
        MetricName.ACCURACY.value: counts["correct"] / labelled if labelled else None,
        "num_with_outcome": labelled,
        "num_correct": counts["correct"],
    }


def _bin_range(index: int, n_bins: int) -> str:
    closing = "]" if index == n_bins - 1 else ")"
    return f"[{index / n_bins:.2f}, {(index + 1) / n_bins:.2f}{closing}"


def calibration_metrics(predictions: QuerySet[Prediction], n_bins: int = 10) -> dict:
    """Equal-width reliability bins over the labelled predictions, ECE and MCE."""
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    bin_index = Least(
        Cast(Floor(F("confidence") * Value(float(n_bins))), IntegerField()),
        Value(n_bins - 1),
        output_field=IntegerField(),
    )
    rows = (
        predictions.filter(LABELLED)
        .annotate(calibration_bin=bin_index)
        .values("calibration_bin")
        .annotate(
            count=Count("id"),
            mean_confidence=Avg("confidence"),
            correct=Count("id", filter=Q(predicted_outcome=F("actual_outcome"))),
        )
        .order_by("calibration_bin")
    )
    rows = list(rows)
    total = sum(row["count"] for row in rows)
    bins = []
    for row in rows:
        accuracy = row["correct"] / row["count"]
        bins.append(
            {
                "bin": row["calibration_bin"],
                "bin_range": _bin_range(row["calibration_bin"], n_bins),
                "count": row["count"],
                "mean_confidence": row["mean_confidence"],
                "accuracy": accuracy,
                "gap": abs(accuracy - row["mean_confidence"]),
            }
        )
    return {
        MetricName.EXPECTED_CALIBRATION_ERROR.value: (
            sum(b["count"] / total * b["gap"] for b in bins) if total else None
        ),
        "max_calibration_error": max((b["gap"] for b in bins), default=None),
        "num_bins": n_bins,
        "total_predictions": total,
        "bin_metrics": bins,
    }


def _roc_auc(labelled: QuerySet[Prediction]) -> float | None:
    """Mann–Whitney AUC with ties counted half (= scikit-learn), ranked in SQL."""
    grouped = (
        labelled.annotate(score=_class_one_score())
        .values("score")
        .annotate(
            pos=Count("id", filter=Q(actual_outcome=1)),
            neg=Count("id", filter=Q(actual_outcome=0)),
        )
        .order_by()
    )
    sql, params = grouped.query.sql_with_params()
    ranked = (
        "SELECT SUM(pos * ((cum_neg - neg) + 0.5 * neg)), SUM(pos), SUM(neg) FROM ("
        "SELECT pos, neg, SUM(neg) OVER (ORDER BY score) AS cum_neg "
        f"FROM ({sql}) grouped_scores) ranked_scores"
    )
    with connections[labelled.db].cursor() as cursor:
        cursor.execute(ranked, params)
        wins, positives, negatives = cursor.fetchone()
    if not positives or not negatives:
        return None
    return float(wins) / (float(positives) * float(negatives))


def classification_metrics(predictions: QuerySet[Prediction]) -> dict:
    """Precision, recall, F1 (binary or macro, as scikit-learn), ROC AUC and Brier score."""
    labelled = predictions.filter(LABELLED)
    error = _class_one_score() - Cast("actual_outcome", FloatField())
    confusion = list(
        labelled.values("predicted_outcome", "actual_outcome")
        .annotate(n=Count("id"), squared_error=Sum(error * error, output_field=FloatField()))
        .order_by()
    )
    total = sum(row["n"] for row in confusion)
    result = {
        MetricName.PRECISION.value: None,
        MetricName.RECALL.value: None,
        MetricName.F1_SCORE.value: None,
        MetricName.ROC_AUC.value: None,
        MetricName.BRIER_SCORE.value: None,
        "average": None,
        "num_with_outcome": total,
    }
    if not total:
        return result

    classes = sorted(
        {row["predicted_outcome"] for row in confusion}
        | {row["actual_outcome"] for row in confusion}
    )
    binary = set(classes) <= {0, 1}
    true_pos = dict.fromkeys(classes, 0)
    predicted = dict.fromkeys(classes, 0)
    actual = dict.fromkeys(classes, 0)
    for row in confusion:
        predicted[row["predicted_outcome"]] += row["n"]
        actual[row["actual_outcome"]] += row["n"]
        if row["predicted_outcome"] == row["actual_outcome"]:
            true_pos[row["actual_outcome"]] += row["n"]

    def scores(label):
        tp = true_pos.get(label, 0)
        p_count, a_count = predicted.get(label, 0), actual.get(label, 0)
        precision = tp / p_count if p_count else 0.0
        recall = tp / a_count if a_count else 0.0
        f1 = 2 * tp / (p_count + a_count) if p_count + a_count else 0.0
        return precision, recall, f1

    if binary:
        precision, recall, f1 = scores(1)
        result["average"] = "binary"
        squared_errors = sum(row["squared_error"] for row in confusion)
        result[MetricName.BRIER_SCORE.value] = squared_errors / total
        if actual.get(0) and actual.get(1):
            result[MetricName.ROC_AUC.value] = _roc_auc(labelled)
    else:
        per_class = [scores(label) for label in classes]
        precision, recall, f1 = (
            sum(column) / len(classes) for column in zip(*per_class, strict=True)
        )
        result["average"] = "macro"
    result[MetricName.PRECISION.value] = precision
    result[MetricName.RECALL.value] = recall
    result[MetricName.F1_SCORE.value] = f1
    return result


def window_metrics(
    model_version: str | None,
    window_minutes: int | None,
    now: datetime | None = None,
    n_bins: int = 10,
) -> dict:
    """Every §4/§8 prediction metric of one window, keyed by MetricName, plus the bins."""
    predictions = window_predictions(model_version, window_minutes, now)
    performance = performance_metrics(predictions)
    calibration = calibration_metrics(predictions, n_bins)
    classification = classification_metrics(predictions)
    bins = calibration["bin_metrics"]
    labelled = calibration["total_predictions"]
    correct = sum(round(b["accuracy"] * b["count"]) for b in bins)
    accuracy = correct / labelled if labelled else None
    labelled_confidence = (
        sum(b["mean_confidence"] * b["count"] for b in bins) / labelled if labelled else None
    )
    num_predictions = performance[MetricName.NUM_PREDICTIONS.value]
    return {
        **performance,
        MetricName.ACCURACY.value: accuracy,
        "num_with_outcome": labelled,
        "num_correct": correct,
        MetricName.PRECISION.value: classification[MetricName.PRECISION.value],
        MetricName.RECALL.value: classification[MetricName.RECALL.value],
        MetricName.F1_SCORE.value: classification[MetricName.F1_SCORE.value],
        MetricName.ROC_AUC.value: classification[MetricName.ROC_AUC.value],
        MetricName.BRIER_SCORE.value: classification[MetricName.BRIER_SCORE.value],
        "average": classification["average"],
        MetricName.EXPECTED_CALIBRATION_ERROR.value: calibration[
            MetricName.EXPECTED_CALIBRATION_ERROR.value
        ],
        "max_calibration_error": calibration["max_calibration_error"],
        MetricName.LABEL_COVERAGE.value: labelled / num_predictions if num_predictions else None,
        MetricName.OVERCONFIDENCE_GAP.value: (
            labelled_confidence - accuracy if labelled else None
        ),
        "calibration_bins": bins,
    }
