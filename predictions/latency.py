"""Latency p95 per bucket of a series (SPEC §8's nearest rank, per §9's buckets).

A percentile ranks rows, so the hourly aggregates cannot answer it: one query reads the
latencies of the range (over the ``(model_version, timestamp)`` index) and ranks them per
bucket. PostgreSQL does it with ``percentile_disc(0.95) WITHIN GROUP`` grouped by the
bucket (its row ⌈0.95·n⌉ is exact: 0.95·n is never within a rounding error of the next
integer up); SQLite numbers the rows of each bucket and keeps the ⌈95·n/100⌉-th.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connection

from predictions.models import Prediction
from predictions.rollups import HOUR_SECONDS, hour_start
from predictions.series import bucket_span

_PREDICTIONS = Prediction._meta.db_table


def _bucket_sql(seconds: int) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM timestamp) / {seconds}) AS BIGINT)"
    # Django keeps naive UTC text in SQLite; '%%' survives the parameter substitution.
    return f"(CAST(strftime('%%s', timestamp) AS INTEGER) / {seconds})"


def latency_p95_series(
    model_version: str, start: datetime, end: datetime, step: str = "1h"
) -> list[tuple[datetime, float | None]]:
    """(bucket start, p95 latency in ms or None) for every bucket of the series over [start, end).

    The buckets are those of ``metric_series`` (aligned in UTC, the first one holding
    ``start``); a bucket without a latency has None.
    """
    first, stop, hours = bucket_span(start, end, step)
    seconds = hours * HOUR_SECONDS
    bucket = _bucket_sql(seconds)
    where = (
        "model_version = %s AND timestamp >= %s AND timestamp < %s "
        "AND latency_ms IS NOT NULL"
    )
    adapt = connection.ops.adapt_datetimefield_value  # SQLite compares naive UTC text
    params = [model_version, adapt(hour_start(first * hours)), adapt(hour_start(stop * hours))]
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT {bucket} AS bucket, "
            f"percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            f"FROM {_PREDICTIONS} WHERE {where} GROUP BY 1"
        )
    else:
        sql = (
            "SELECT bucket, latency_ms FROM ("
            "SELECT bucket, latency_ms, "
            "ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY latency_ms) AS latency_rank, "
            "COUNT(*) OVER (PARTITION BY bucket) AS bucket_size "
            f"FROM (SELECT {bucket} AS bucket, latency_ms FROM {_PREDICTIONS} "
            f"WHERE {where}) bucketed) ranked "
            # Integer ceiling of 0.95·n: no float in the rank.
            "WHERE latency_rank = (95 * bucket_size + 99) / 100"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        by_bucket = dict(cursor.fetchall())
    return [(hour_start(b * hours), by_bucket.get(b)) for b in range(first, stop)]
