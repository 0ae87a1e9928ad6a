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
from predictions.models import CALIBRATION_BINS, OutcomeHour, PredictionHour
from predictions.rollups import HOUR_SECONDS, epoch_hour, hour_start
from predictions.window_sums import WindowSums

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
    sums = _grouped_sums(model_version, first * hours, stop * hours, f"hour / {int(hours)}")
    wanted = ("start", *(metrics or SERIES_METRICS))
    points = []
    for bucket in range(first, stop):
        figures = sums.get(bucket, WindowSums()).figures()
        figures["start"] = hour_start(bucket * hours)
        points.append({name: figures[name] for name in wanted})
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
    for hour in range(first_t - window_hours, first_t - 1):
        if hour in per_hour:
            window.merge(per_hour[hour])
    for t in range(first_t, last_t + 1):
        entering = per_hour.get(t - 1)
        if entering is not None:
            window.merge(entering)
        leaving = per_hour.get(t - 1 - window_hours)
        if leaving is not None:
            window.merge(leaving, sign=-1)
        inside = [per_hour[h] for h in range(t - window_hours, t) if h in per_hour]
        window.low = min((s.low for s in inside if s.low is not None), default=None)
        window.high = max((s.high for s in inside if s.high is not None), default=None)
        figures = window.figures()
        point = {"start": hour_start(t), "num_predictions": figures["num_predictions"],
                 "num_with_outcome": figures["num_with_outcome"]}
        point.update({name: figures[name] for name in wanted})
        points.append(point)
    return points
