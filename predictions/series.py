"""Metric series per step, answered from the hourly aggregates (SPEC §9).

Three grouped queries over ``PredictionHour``/``OutcomeHour`` whatever the number of
predictions: the label-free sums per bucket, the confusion cells per bucket, and the
calibration gap mass per bucket (Σ over bins of |correct − Σ confidence|, computed in SQL
so that the bins never leave the database). Buckets are aligned in UTC: an hour, the
six-hour blocks starting at 00/06/12/18 h, or a day from midnight; every bucket of the
range is present, an empty one with ``num_predictions`` 0 and null figures.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connection

from predictions.choices import MetricName
from predictions.metrics import confusion_scores
from predictions.models import CALIBRATION_BINS, OutcomeHour, PredictionHour
from predictions.rollups import HOUR_SECONDS, epoch_hour, hour_start

STEP_HOURS = {"1h": 1, "6h": 6, "1d": 24}
MAX_POINTS = 2000
SERIES_METRICS = (
    "num_predictions",
    "num_with_outcome",
    MetricName.LABEL_COVERAGE.value,
    MetricName.ACCURACY.value,
    MetricName.PRECISION.value,
    MetricName.RECALL.value,
    MetricName.F1_SCORE.value,
    MetricName.EXPECTED_CALIBRATION_ERROR.value,
    MetricName.BRIER_SCORE.value,
    MetricName.AVG_CONFIDENCE.value,
    MetricName.POSITIVE_RATE.value,
    MetricName.PREDICTION_ENTROPY.value,
)


class SeriesError(ValueError):
    """A series that cannot be answered: ``parameter`` names the culprit."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


def bucket_span(start: datetime, end: datetime, step: str) -> tuple[int, int, int]:
    """(first bucket, bucket after the last, hours per bucket) covering [start, end)."""
    if step not in STEP_HOURS:
        raise SeriesError("step", f"Unknown step {step!r}; use one of {', '.join(STEP_HOURS)}.")
    if start >= end:
        raise SeriesError("start", "start must be before end.")
    hours = STEP_HOURS[step]
    first = epoch_hour(start) // hours
    # The bucket holding the last instant before `end`.
    last = (int(-(-end.timestamp() // HOUR_SECONDS)) - 1) // hours
    if last - first + 1 > MAX_POINTS:
        raise SeriesError(
            "step",
            f"{last - first + 1} points is more than {MAX_POINTS}: "
            "shorten the range or use a longer step.",
        )
    return first, last + 1, hours


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _label_free(version, first_hour, end_hour, hours) -> dict[int, tuple]:
    table = PredictionHour._meta.db_table
    return {
        row[0]: row[1:]
        for row in _rows(
            f"SELECT hour / %s, CAST(SUM(n) AS BIGINT), SUM(confidence_sum), SUM(entropy_sum), "
            f"CAST(SUM(CASE WHEN predicted_outcome = 1 THEN n ELSE 0 END) AS BIGINT) "
            f"FROM {table} "
            f"WHERE model_version = %s AND hour >= %s AND hour < %s GROUP BY 1",
            [hours, version, first_hour, end_hour],
        )
    }


def _cells(version, first_hour, end_hour, hours) -> dict[int, list[dict]]:
    table = OutcomeHour._meta.db_table
    cells: dict[int, list[dict]] = {}
    for bucket, predicted, actual, n, squared_error in _rows(
        f"SELECT hour / %s, predicted_outcome, actual_outcome, CAST(SUM(n) AS BIGINT), "
        f"SUM(squared_error) "
        f"FROM {table} WHERE model_version = %s AND hour >= %s AND hour < %s "
        f"GROUP BY 1, 2, 3 HAVING SUM(n) > 0",
        [hours, version, first_hour, end_hour],
    ):
        cells.setdefault(bucket, []).append({
            "predicted_outcome": predicted, "actual_outcome": actual, "n": n,
            "squared_error": squared_error,
        })
    return cells


def _gap_mass(version, first_hour, end_hour, hours) -> dict[int, float]:
    """Σ over calibration bins of |correct − Σ confidence| per bucket (ECE · labelled)."""
    table = OutcomeHour._meta.db_table
    per_bin = ", ".join(
        f"CAST(SUM(CASE WHEN predicted_outcome = actual_outcome THEN bin{i}_n ELSE 0 END)"
        f" AS FLOAT) AS c{i}, "
        f"SUM(bin{i}_confidence) AS s{i}"
        for i in range(CALIBRATION_BINS)
    )
    gaps = " + ".join(f"ABS(c{i} - s{i})" for i in range(CALIBRATION_BINS))
    return dict(_rows(
        f"SELECT bucket, {gaps} FROM (SELECT hour / %s AS bucket, {per_bin} FROM {table} "
        f"WHERE model_version = %s AND hour >= %s AND hour < %s GROUP BY 1) bins",
        [hours, version, first_hour, end_hour],
    ))


def _point(bucket_start, label_free, cells, gap_mass) -> dict:
    n, confidence_sum, entropy_sum, positives = label_free or (0, 0.0, 0.0, 0)
    labelled = sum(cell["n"] for cell in cells)
    point = dict.fromkeys(SERIES_METRICS)
    point.update(start=bucket_start, num_predictions=n, num_with_outcome=labelled)
    if n:
        point[MetricName.LABEL_COVERAGE.value] = labelled / n
        point[MetricName.AVG_CONFIDENCE.value] = confidence_sum / n
        point[MetricName.POSITIVE_RATE.value] = positives / n
        point[MetricName.PREDICTION_ENTROPY.value] = entropy_sum / n
    if labelled:
        correct = sum(c["n"] for c in cells if c["predicted_outcome"] == c["actual_outcome"])
        point[MetricName.ACCURACY.value] = correct / labelled
        scores = confusion_scores(cells)
        for name in (MetricName.PRECISION, MetricName.RECALL, MetricName.F1_SCORE):
            point[name.value] = scores[name.value]
        point[MetricName.EXPECTED_CALIBRATION_ERROR.value] = gap_mass / labelled
        if scores["average"] == "binary":
            point[MetricName.BRIER_SCORE.value] = (
                sum(c["squared_error"] for c in cells) / labelled
            )
    return point


def metric_series(
    model_version: str,
    start: datetime,
    end: datetime,
    step: str = "1h",
    metrics: list[str] | None = None,
) -> list[dict]:
    """One point per bucket of [start, end): ``start`` and the requested figures."""
    unknown = sorted(set(metrics or ()) - set(SERIES_METRICS))
    if unknown:
        raise SeriesError(
            "metrics",
            f"Unknown metric(s) {', '.join(unknown)}; known: {', '.join(SERIES_METRICS)}.",
        )
    first, stop, hours = bucket_span(start, end, step)
    first_hour, end_hour = first * hours, stop * hours
    label_free = _label_free(model_version, first_hour, end_hour, hours)
    cells = _cells(model_version, first_hour, end_hour, hours)
    gap_mass = _gap_mass(model_version, first_hour, end_hour, hours)
    wanted = ("start", *(metrics or SERIES_METRICS))
    points = []
    for bucket in range(first, stop):
        point = _point(
            hour_start(bucket * hours), label_free.get(bucket), cells.get(bucket, []),
            gap_mass.get(bucket, 0.0),
        )
        points.append({name: point[name] for name in wanted})
    return points
