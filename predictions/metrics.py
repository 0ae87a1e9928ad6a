"""The metrics of SPEC §4 and §8, computed with database aggregates.

Every function takes a queryset of predictions (usually ``window_predictions(...)``) and
issues a fixed, small number of queries whatever the number of rows. One grouped pass
(sums per calibration bin × predicted × actual class, so at most n_bins × classes² rows
come back) gives every count, mean, spread, bin and confusion figure; the latency
percentiles take one sort (``percentile_disc`` on PostgreSQL, ROW_NUMBER on SQLite) and
the ROC AUC one ranking (a window sum over scores). Nothing loads the rows into Python.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import (
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
    Window,
)
from django.db.models.functions import Cast, Floor, Least, Ln, RowNumber
from django.utils import timezone

from predictions.choices import MetricName
from predictions.models import Prediction

LABELLED = Q(actual_outcome__isnull=False)
CORRECT = Q(actual_outcome__isnull=False, predicted_outcome=F("actual_outcome"))
# The confidence spread comes from sums over (c − SHIFT): see sample_std.
CONFIDENCE_SHIFT = 0.5
# The longest window a caller may ask for: a century (beyond it, dates overflow).
MAX_WINDOW_MINUTES = 100 * 366 * 24 * 60


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


# --- SQL expressions ---------------------------------------------------------------------


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


def calibration_bin(n_bins: int):
    """A prediction's calibration bin (SPEC §4): min(floor(confidence · n_bins), n_bins − 1)."""
    return Least(
        Cast(Floor(F("confidence") * Value(float(n_bins))), IntegerField()),
        Value(n_bins - 1),
        output_field=IntegerField(),
    )


# --- the queries -------------------------------------------------------------------------


def _aggregates() -> dict:
    shifted = F("confidence") - Value(CONFIDENCE_SHIFT)
    error = _class_one_score() - Cast("actual_outcome", FloatField())
    return {
        "confidence_sum": Sum("confidence"),
        "shifted_sum": Sum(shifted, output_field=FloatField()),
        "shifted_squares": Sum(shifted * shifted, output_field=FloatField()),
        "low": Min("confidence"),
        "high": Max("confidence"),
        "entropy_sum": Sum(_entropy()),
        "with_latency": Count("latency_ms"),
        # Null in unlabelled groups; the Brier score of the labelled ones.
        "squared_error": Sum(error * error, output_field=FloatField()),
    }


_PERFORMANCE = (
    "confidence_sum", "shifted_sum", "shifted_squares", "low", "high", "entropy_sum",
    "with_latency",
)


def _groups(
    predictions: QuerySet[Prediction], n_bins: int, sums: tuple[str, ...] | None = None
) -> list[dict]:
    """One pass over the window: counts and ``sums`` (default: all) per bin × class × class.

    At most n_bins × classes² rows come back, whatever the number of predictions.
    """
    aggregates = _aggregates()
    if sums is not None:
        aggregates = {name: aggregates[name] for name in sums}
    return list(
        predictions.annotate(calibration_bin=calibration_bin(n_bins))
        .values("calibration_bin", "predicted_outcome", "actual_outcome")
        .annotate(n=Count("id"), **aggregates)
        .order_by()
    )


def _percentiles(predictions: QuerySet[Prediction], n: int, percents: tuple[int, ...]) -> list:
    """Nearest-rank percentiles (the ⌈p·n⌉-th smallest latency), with one sort in SQL."""
    # Integer ceiling: no float rounding surprises (0.95 · n is not always exact).
    ranks = [max(1, -(-percent * n // 100)) for percent in percents]
    with_latency = predictions.filter(latency_ms__isnull=False)
    if connections[predictions.db].vendor == "postgresql":
        # One ordered-set aggregate: a single sort, no row numbers materialised.
        # percentile_disc(f) takes row ceil(f·n); (rank − ½)/n lands on `rank` whatever
        # the float rounding of the division and the product.
        sql, params = with_latency.values("latency_ms").order_by().query.sql_with_params()
        with connections[predictions.db].cursor() as cursor:
            cursor.execute(
                "SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY latency_ms) "
                f"FROM ({sql}) window_latencies",
                [[(rank - 0.5) / n for rank in ranks], *params],
            )
            return list(cursor.fetchone()[0])
    ranked = (
        with_latency.annotate(
            latency_rank=Window(RowNumber(), order_by=F("latency_ms").asc())
        )
        .filter(latency_rank__in=sorted(set(ranks)))
        .values_list("latency_rank", "latency_ms")
    )
    by_rank = dict(ranked)
    return [by_rank[rank] for rank in ranks]


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


# --- figures derived from the groups ------------------------------------------------------


def _labelled(groups: list[dict]) -> list[dict]:
    return [g for g in groups if g["actual_outcome"] is not None]


def sample_std(n: int, shifted_sum: float, shifted_squares: float, low, high) -> float | None:
    """Sample standard deviation (ddof = 1) of n confidences from their sums around the shift.

    Why this form: it needs only sums (and min/max), which add up across groups, and later
    across stored per-hour buckets, with no second pass over the rows. Sums of c and c²
    would cancel catastrophically; around a fixed shift in the middle of [0, 1] the terms
    stay small, so the error of the variance is ~1e-17, far below 1e-12 for any real spread
    of confidences. What remains is the square root of that noise when every confidence is
    the same (4.97e-09 for ten 0.8s): the spread of identical values is exactly 0 (min == max).
    """
    if n < 2:
        return None
    if low == high:
        return 0.0
    variance = (shifted_squares - shifted_sum * shifted_sum / n) / (n - 1)
    return math.sqrt(max(0.0, variance))


def _performance(predictions, groups: list[dict]) -> dict:
    n = sum(g["n"] for g in groups)
    low = min((g["low"] for g in groups), default=None)
    high = max((g["high"] for g in groups), default=None)
    std = sample_std(
        n,
        sum(g["shifted_sum"] or 0.0 for g in groups),
        sum(g["shifted_squares"] or 0.0 for g in groups),
        low,
        high,
    )
    p50 = p95 = None
    with_latency = sum(g["with_latency"] for g in groups)
    if with_latency:
        p50, p95 = _percentiles(predictions, with_latency, (50, 95))
    positives = sum(g["n"] for g in groups if g["predicted_outcome"] == 1)
    return {
        MetricName.NUM_PREDICTIONS.value: n,
        MetricName.AVG_CONFIDENCE.value: (
            sum(g["confidence_sum"] for g in groups) / n if n else None
        ),
        MetricName.MIN_CONFIDENCE.value: low,
        MetricName.MAX_CONFIDENCE.value: high,
        MetricName.CONFIDENCE_STD.value: std,
        MetricName.LATENCY_P50_MS.value: p50,
        MetricName.LATENCY_P95_MS.value: p95,
        MetricName.POSITIVE_RATE.value: positives / n if n else None,
        MetricName.PREDICTION_ENTROPY.value: (
            sum(g["entropy_sum"] for g in groups) / n if n else None
        ),
    }


def _accuracy(groups: list[dict]) -> dict:
    labelled = _labelled(groups)
    total = sum(g["n"] for g in labelled)
    correct = sum(g["n"] for g in labelled if g["predicted_outcome"] == g["actual_outcome"])
    return {
        MetricName.ACCURACY.value: correct / total if total else None,
        "num_with_outcome": total,
        "num_correct": correct,
    }


def _bin_range(index: int, n_bins: int) -> str:
    closing = "]" if index == n_bins - 1 else ")"
    return f"[{index / n_bins:.2f}, {(index + 1) / n_bins:.2f}{closing}"


def _calibration(groups: list[dict], n_bins: int) -> dict:
    per_bin: dict[int, list] = {}  # bin → [count, confidence sum, correct]
    for g in _labelled(groups):
        totals = per_bin.setdefault(g["calibration_bin"], [0, 0.0, 0])
        totals[0] += g["n"]
        totals[1] += g["confidence_sum"]
        if g["predicted_outcome"] == g["actual_outcome"]:
            totals[2] += g["n"]
    total = sum(totals[0] for totals in per_bin.values())
    bins = []
    for index in sorted(per_bin):
        count, confidence_sum, correct = per_bin[index]
        accuracy = correct / count
        mean_confidence = confidence_sum / count
        bins.append(
            {
                "bin": index,
                "bin_range": _bin_range(index, n_bins),
                "count": count,
                "mean_confidence": mean_confidence,
                "accuracy": accuracy,
                "gap": abs(accuracy - mean_confidence),
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


def confusion_scores(labelled: list[dict]) -> dict:
    """Precision, recall and F1 of labelled groups (``predicted_outcome``, ``actual_outcome``,
    ``n``): binary with class 1 positive when every class is 0 or 1, else the macro average
    over the classes present, zero division giving 0 — as scikit-learn computes them.
    """
    classes = sorted(
        {g["predicted_outcome"] for g in labelled} | {g["actual_outcome"] for g in labelled}
    )
    true_pos = dict.fromkeys(classes, 0)
    predicted = dict.fromkeys(classes, 0)
    actual = dict.fromkeys(classes, 0)
    for g in labelled:
        predicted[g["predicted_outcome"]] += g["n"]
        actual[g["actual_outcome"]] += g["n"]
        if g["predicted_outcome"] == g["actual_outcome"]:
            true_pos[g["actual_outcome"]] += g["n"]

    def scores(label):
        tp, p_count, a_count = true_pos.get(label, 0), predicted.get(label, 0), actual.get(label, 0)
        precision = tp / p_count if p_count else 0.0
        recall = tp / a_count if a_count else 0.0
        f1 = 2 * tp / (p_count + a_count) if p_count + a_count else 0.0
        return precision, recall, f1

    binary = set(classes) <= {0, 1}
    if binary:
        precision, recall, f1 = scores(1)
    else:
        per_class = [scores(label) for label in classes]
        precision, recall, f1 = (
            sum(column) / len(classes) for column in zip(*per_class, strict=True)
        )
    return {
        MetricName.PRECISION.value: precision,
        MetricName.RECALL.value: recall,
        MetricName.F1_SCORE.value: f1,
        "average": "binary" if binary else "macro",
        "both_classes": binary and bool(actual.get(0)) and bool(actual.get(1)),
    }


def _classification(predictions, groups: list[dict]) -> dict:
    labelled = _labelled(groups)
    total = sum(g["n"] for g in labelled)
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
    scores = confusion_scores(labelled)
    both_classes = scores.pop("both_classes")
    result.update(scores)
    if scores["average"] == "binary":
        squared_errors = sum(g["squared_error"] for g in labelled)
        result[MetricName.BRIER_SCORE.value] = squared_errors / total
        if both_classes:
            result[MetricName.ROC_AUC.value] = _roc_auc(predictions.filter(LABELLED))
    return result


# --- the public functions -----------------------------------------------------------------


def performance_metrics(predictions: QuerySet[Prediction]) -> dict:
    """Label-free figures: counts, confidence spread, latency percentiles, entropy."""
    return _performance(predictions, _groups(predictions, 1, _PERFORMANCE))


def accuracy_metrics(predictions: QuerySet[Prediction]) -> dict:
    """True accuracy over the labelled predictions (never confidence as a stand-in)."""
    return _accuracy(_groups(predictions.filter(LABELLED), 1, ()))


def calibration_metrics(predictions: QuerySet[Prediction], n_bins: int = 10) -> dict:
    """Equal-width reliability bins over the labelled predictions, ECE and MCE."""
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    labelled = _groups(predictions.filter(LABELLED), n_bins, ("confidence_sum",))
    return _calibration(labelled, n_bins)


def classification_metrics(predictions: QuerySet[Prediction]) -> dict:
    """Precision, recall, F1 (binary or macro, as scikit-learn), ROC AUC and Brier score."""
    labelled = _groups(predictions.filter(LABELLED), 1, ("squared_error",))
    return _classification(predictions, labelled)


def window_metrics(
    model_version: str | None,
    window_minutes: int | None,
    now: datetime | None = None,
    n_bins: int = 10,
) -> dict:
    """Every §4/§8 prediction metric of one window, keyed by MetricName, plus the bins.

    At most three queries whatever the window holds: the grouped pass, the latency
    percentiles and the ROC AUC ranks (the last two only when there is something to rank).
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    predictions = window_predictions(model_version, window_minutes, now)
    groups = _groups(predictions, n_bins)
    performance = _performance(predictions, groups)
    accuracy = _accuracy(groups)
    calibration = _calibration(groups, n_bins)
    classification = _classification(predictions, groups)
    labelled = accuracy["num_with_outcome"]
    num_predictions = performance[MetricName.NUM_PREDICTIONS.value]
    labelled_confidence = (
        sum(g["confidence_sum"] for g in _labelled(groups)) / labelled if labelled else None
    )
    return {
        **performance,
        **accuracy,
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
            labelled_confidence - accuracy[MetricName.ACCURACY.value] if labelled else None
        ),
        "calibration_bins": calibration["bin_metrics"],
    }
