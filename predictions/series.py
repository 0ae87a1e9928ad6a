"""Metric series per step, answered from the hourly aggregates (SPEC §9).

A series is one statement over ``PredictionHour``/``OutcomeHour`` whatever the number of
predictions: per bucket, the label-free sums joined with the labelled ones (confusion
counts, Brier numerator, and the calibration gap mass Σ over bins of |correct − Σ
confidence|, computed in SQL so that neither cells nor bins leave the database); Python
only divides. ``hour_sums`` and ``trailing_series`` read the same tables into
``WindowSums``. Buckets are aligned in UTC: an hour, the six-hour blocks starting at
00/06/12/18 h, or a day from midnight; every bucket of the range is present, an empty one
with ``num_predictions`` 0 and null figures.
"""
from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta

from django.db import connection

from predictions.choices import MetricName
from predictions.models import CALIBRATION_BINS, OutcomeHour, PredictionHour
from predictions.rollups import HOUR_SECONDS, epoch_hour, hour_start
from predictions.window_sums import WindowSums, confusion_scores

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


_LABEL_FREE = (
    "CAST(SUM(n) AS BIGINT), SUM(confidence_sum), SUM(shifted_sum), SUM(shifted_squares), "
    "SUM(entropy_sum), CAST(SUM(CASE WHEN predicted_outcome = 1 THEN n ELSE 0 END) AS BIGINT), "
    "CAST(SUM(with_latency) AS BIGINT), MIN(low), MAX(high)"
)
# Per (predicted, actual) cell: its sums and its calibration bins (count, confidence sum).
_CELLS = (
    "predicted_outcome, actual_outcome, CAST(SUM(n) AS BIGINT), SUM(confidence_sum), "
    "SUM(squared_error), "
    + ", ".join(
        f"CAST(SUM(bin{i}_n) AS BIGINT), SUM(bin{i}_confidence)"
        for i in range(CALIBRATION_BINS)
    )
)


def _hours_where(model_version, first_hour, end_hour) -> tuple[str, list]:
    where, params = ["true"], []
    if model_version is not None:
        where.append("model_version = %s")
        params.append(model_version)
    if first_hour is not None:
        where.append("hour >= %s")
        params.append(first_hour)
    if end_hour is not None:
        where.append("hour < %s")
        params.append(end_hour)
    return " AND ".join(where), params


def _grouped_sums(model_version, first_hour, end_hour, group: str | None) -> dict:
    """WindowSums per group key (``hour / k`` or ``hour``), or one for the whole range.

    Two grouped queries over the hourly tables: label-free sums, and the confusion cells
    with their calibration bins.
    """
    where, params = _hours_where(model_version, first_hour, end_hour)
    key = f"{group}" if group else "0"
    prediction_hours = PredictionHour._meta.db_table
    outcome_hours = OutcomeHour._meta.db_table
    sums: dict[int, WindowSums] = {}

    def of(bucket) -> WindowSums:
        return sums.setdefault(bucket, WindowSums())

    for bucket, *values in _rows(
        f"SELECT {key}, {_LABEL_FREE} FROM {prediction_hours} WHERE {where} GROUP BY 1",
        params,
    ):
        if values[0]:
            of(bucket).add_label_free(*values)
    for bucket, predicted, actual, n, confidence_sum, squared_error, *bins in _rows(
        f"SELECT {key}, {_CELLS} FROM {outcome_hours} WHERE {where} GROUP BY 1, 2, 3",
        params,
    ):
        if not n:
            continue
        cell_sums = of(bucket)
        cell_sums.add_cell(predicted, actual, n, confidence_sum, squared_error)
        for i in range(CALIBRATION_BINS):
            count, bin_confidence = bins[2 * i], bins[2 * i + 1]
            if count:
                cell_sums.add_bin(i, count, count if predicted == actual else 0, bin_confidence)
    return sums


def hour_sums(model_version: str | None, first_hour: int | None,
              end_hour: int | None) -> WindowSums:
    """The sums of whole hours [first_hour, end_hour) (None: unbounded), one version or all."""
    return _grouped_sums(model_version, first_hour, end_hour, None).get(0, WindowSums())


def hour_sums_by_version(first_hour: int | None, end_hour: int | None,
                         versions: list[str] | None = None) -> dict[str, WindowSums]:
    """{version: the sums of its whole hours [first_hour, end_hour)}, in one grouped read."""
    sums = _grouped_sums(None, first_hour, end_hour, "model_version")
    if versions is not None:
        sums = {version: sums[version] for version in versions if version in sums}
    return sums


# One row per bucket, every figure's numerator and denominator summed in SQL over the
# hours of the bucket: no per-cell or per-bin row crosses the wire, and Python only divides.
_BUCKET_LABEL_FREE = (
    "CAST(SUM(n) AS BIGINT) AS n, SUM(confidence_sum) AS confidence_sum, "
    "SUM(entropy_sum) AS entropy_sum, "
    "CAST(SUM(CASE WHEN predicted_outcome = 1 THEN n ELSE 0 END) AS BIGINT) AS positives"
)
# ECE numerator: Σ over bins of |correct − Σ confidence|, the bins summed over the bucket's
# cells first (the counts as floats: exact below 2**53, and no numeric arithmetic).
# `other` flags a bucket with a class outside {0, 1} (macro scores).
_BUCKET_LABELLED = ", ".join([
    "CAST(SUM(n) AS BIGINT) AS labelled",
    "CAST(SUM(CASE WHEN predicted_outcome = actual_outcome THEN n ELSE 0 END) AS BIGINT)"
    " AS correct",
    "CAST(SUM(CASE WHEN predicted_outcome = 1 AND actual_outcome = 1 THEN n ELSE 0 END)"
    " AS BIGINT) AS tp",
    "CAST(SUM(CASE WHEN predicted_outcome = 1 THEN n ELSE 0 END) AS BIGINT) AS predicted1",
    "CAST(SUM(CASE WHEN actual_outcome = 1 THEN n ELSE 0 END) AS BIGINT) AS actual1",
    "SUM(squared_error) AS squared_error",
    " + ".join(
        f"ABS(SUM(CASE WHEN predicted_outcome = actual_outcome THEN CAST(bin{i}_n AS FLOAT)"
        f" ELSE 0.0 END) - SUM(bin{i}_confidence))"
        for i in range(CALIBRATION_BINS)
    ) + " AS calibration_gap",
    "MAX(CASE WHEN n <> 0 AND (predicted_outcome NOT IN (0, 1) OR actual_outcome NOT IN (0, 1))"
    " THEN 1 ELSE 0 END) AS other",
])


def _bucket_rows(model_version: str, first_hour: int, end_hour: int, hours: int) -> list:
    """(bucket, n, confidence, entropy, positives, labelled, correct, tp, predicted1,
    actual1, squared error, calibration gap, other) per bucket with predictions."""
    where, params = _hours_where(model_version, first_hour, end_hour)
    key = f"hour / {int(hours)}"
    return _rows(
        f"SELECT p.bucket, p.n, p.confidence_sum, p.entropy_sum, p.positives, o.labelled, "
        f"o.correct, o.tp, o.predicted1, o.actual1, o.squared_error, o.calibration_gap, "
        f"o.other FROM (SELECT {key} AS bucket, {_BUCKET_LABEL_FREE} "
        f"FROM {PredictionHour._meta.db_table} WHERE {where} GROUP BY 1) p "
        f"LEFT JOIN (SELECT {key} AS bucket, {_BUCKET_LABELLED} "
        f"FROM {OutcomeHour._meta.db_table} WHERE {where} GROUP BY 1) o "
        f"ON o.bucket = p.bucket",
        params + params,
    )


def _macro_scores(model_version: str, first_hour: int, end_hour: int, hours: int,
                  buckets: set[int]) -> dict[int, dict]:
    """Precision, recall, F1 of the buckets with a class outside {0, 1}, from their cells."""
    where, params = _hours_where(model_version, first_hour, end_hour)
    cells: dict[int, list[dict]] = {}
    for bucket, predicted, actual, n in _rows(
        f"SELECT hour / {int(hours)}, predicted_outcome, actual_outcome, "
        f"CAST(SUM(n) AS BIGINT) FROM {OutcomeHour._meta.db_table} WHERE {where} "
        "GROUP BY 1, 2, 3",
        params,
    ):
        if bucket in buckets and n:
            cells.setdefault(bucket, []).append(
                {"predicted_outcome": predicted, "actual_outcome": actual, "n": n})
    return {bucket: confusion_scores(bucket_cells) for bucket, bucket_cells in cells.items()}


# A bucket without predictions: counts 0, every figure null (SERIES_METRICS order).
_EMPTY = (0, 0, *[None] * (len(SERIES_METRICS) - 2))


def _figures(row, macro: dict | None) -> tuple:
    """One bucket's figures in SERIES_METRICS order, as ``WindowSums.figures`` computes
    them from the bucket's sums (a tuple: 720 points × 12 figures is the hot loop)."""
    (n, confidence_sum, entropy_sum, positives, labelled, correct, tp, predicted1, actual1,
     squared_error, calibration_gap, other) = row
    label_free = (confidence_sum / n, positives / n, entropy_sum / n)
    if not labelled:
        return (n, 0, 0.0, None, None, None, None, None, None, *label_free)
    if other:
        precision, recall, f1 = (macro[name] for name in SERIES_METRICS[4:7])
        brier = None
    else:  # binary, class 1 positive; zero division gives 0, as scikit-learn
        precision = tp / predicted1 if predicted1 else 0.0
        recall = tp / actual1 if actual1 else 0.0
        f1 = 2 * tp / (predicted1 + actual1) if predicted1 + actual1 else 0.0
        brier = squared_error / labelled
    return (n, labelled, labelled / n, correct / labelled, precision, recall, f1,
            calibration_gap / labelled, brier, *label_free)


def metric_series(
    model_version: str,
    start: datetime,
    end: datetime,
    step: str = "1h",
    metrics: list[str] | None = None,
) -> list[dict]:
    """One point per bucket of [start, end): ``start`` and the requested figures.

    One statement whatever the number of predictions (a second one only for buckets of a
    model with more than two classes); every figure equals ``WindowSums.figures`` of the
    bucket's sums.
    """
    unknown = sorted(set(metrics or ()) - set(SERIES_METRICS))
    if unknown:
        raise SeriesError(
            "metrics",
            f"Unknown metric(s) {', '.join(unknown)}; known: {', '.join(SERIES_METRICS)}.",
        )
    first, stop, hours = bucket_span(start, end, step)
    rows = {row[0]: row[1:] for row in _bucket_rows(model_version, first * hours,
                                                       stop * hours, hours) if row[1]}
    multiclass = {bucket for bucket, row in rows.items() if row[-1]}
    macro = (_macro_scores(model_version, first * hours, stop * hours, hours, multiclass)
             if multiclass else {})
    names = ("start", *(metrics or SERIES_METRICS))
    picked = [SERIES_METRICS.index(name) for name in metrics] if metrics else None
    points = []
    moment, step_delta = hour_start(first * hours), timedelta(hours=hours)
    for bucket in range(first, stop):
        row = rows.get(bucket)
        figures = _EMPTY if row is None else _figures(row, macro.get(bucket))
        if picked is not None:
            figures = [figures[i] for i in picked]
        points.append(dict(zip(names, (moment, *figures), strict=True)))
        moment += step_delta
    return points


def trailing_series(
    model_version: str,
    start: datetime,
    end: datetime,
    window_minutes: int,
    metrics: list[str] | None = None,
) -> list[dict]:
    """At each hour boundary t in (start, end], the figures over the window [t − w, t).

    What a monitor pass evaluating at t would see (the window rounded up to whole hours),
    for replaying a rule over history: hourly sums read once, then a sliding sum.
    """
    window_hours = max(1, -(-window_minutes // 60))
    first_t = -(-int(start.timestamp()) // HOUR_SECONDS)
    if first_t * HOUR_SECONDS == start.timestamp():
        first_t += 1
    last_t = int(end.timestamp()) // HOUR_SECONDS
    per_hour = _grouped_sums(model_version, first_t - window_hours, last_t, "hour")
    window = WindowSums()
    wanted = metrics or SERIES_METRICS
    points = []
    # Sliding: add the hour that enters, take away the one that leaves (min/max recomputed
    # from the hours inside, which are few).
    # Over the hours that hold data, not the window's every hour: a window of years would
    # otherwise cost millions of lookups per point.
    hours_with_data = sorted(per_hour)
    for hour in hours_with_data[bisect_left(hours_with_data, first_t - window_hours):
                                bisect_left(hours_with_data, first_t - 1)]:
        window.merge(per_hour[hour])
    for t in range(first_t, last_t + 1):
        entering = per_hour.get(t - 1)
        if entering is not None:
            window.merge(entering)
        leaving = per_hour.get(t - 1 - window_hours)
        if leaving is not None:
            window.merge(leaving, sign=-1)
        inside = [per_hour[h] for h in hours_with_data[
            bisect_left(hours_with_data, t - window_hours):bisect_left(hours_with_data, t)
        ]]
        window.low = min((s.low for s in inside if s.low is not None), default=None)
        window.high = max((s.high for s in inside if s.high is not None), default=None)
        figures = window.figures()
        point = {"start": hour_start(t), "num_predictions": figures["num_predictions"],
                 "num_with_outcome": figures["num_with_outcome"]}
        point.update({name: figures[name] for name in wanted})
        points.append(point)
    return points
