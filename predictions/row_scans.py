"""The parts of a window's figures that read prediction rows, as hand-written SQL.

Two kinds of reads are left once the hourly aggregates answer the whole hours (SPEC §9):
the sums of the partial hours at a window's edges (or of a window shorter than an hour),
and the ROC AUC, which ranks scores. Both are one statement over a few time ranges of one
version (UNION ALL: each range an index range scan, index-only on PostgreSQL over the
covering index of migration 0005, which holds every column read here), built as text:
the ORM's query compiler cost more than PostgreSQL's execution of an edge hour. Only
aggregated rows come back, never the predictions.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connection

from predictions.models import CALIBRATION_BINS, Prediction
from predictions.window_sums import WindowSums

Range = tuple[datetime | None, datetime | None]

_PREDICTIONS = Prediction._meta.db_table
_SCORE = "CASE WHEN predicted_outcome = 1 THEN confidence ELSE 1.0 - confidence END"
_ENTROPY = (
    "CASE WHEN confidence <= 0.0 OR confidence >= 1.0 THEN 0.0 "
    "ELSE -(confidence * LN(confidence)) - (1.0 - confidence) * LN(1.0 - confidence) END"
)


def _rows_sql(columns: str, model_version: str | None, ranges: list[Range],
              versions: list[str] | None = None, labelled: bool = False) -> tuple[str, list]:
    """SELECT ``columns`` of the rows in any of ``ranges`` ([start, end), None: unbounded)."""
    adapt = connection.ops.adapt_datetimefield_value
    parts, params = [], []
    for start, end in ranges:
        where = ["true"]
        if model_version is not None:
            where.append("model_version = %s")
            params.append(model_version)
        if versions is not None:
            where.append(f"model_version IN ({', '.join(['%s'] * len(versions))})")
            params.extend(versions)
        if start is not None:
            where.append("timestamp >= %s")
            params.append(adapt(start))
        if end is not None:
            where.append("timestamp < %s")
            params.append(adapt(end))
        if labelled:
            where.append("actual_outcome IS NOT NULL")
        parts.append(f"SELECT {columns} FROM {_PREDICTIONS} WHERE {' AND '.join(where)}")
    return " UNION ALL ".join(parts), params


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def scan_sums_by(model_version: str | None, ranges: list[Range], key: str | None = None,
                 versions: list[str] | None = None, labelled: bool = False,
                 n_bins: int = CALIBRATION_BINS) -> dict:
    """The sums of the rows in ``ranges`` per value of ``key`` (``model_version``, or None:
    one group keyed None), from one grouped pass (key × bin × predicted × actual class).

    At most keys × n_bins × classes² rows come back, whatever the number of predictions.
    """
    if not ranges or versions == []:
        return {}
    rows, params = _rows_sql(
        "model_version, predicted_outcome, confidence, actual_outcome, latency_ms",
        model_version, ranges, versions, labelled,
    )
    binned = _least(f"CAST(FLOOR(confidence * {float(n_bins)}) AS INTEGER)", str(n_bins - 1))
    error = f"(({_SCORE}) - actual_outcome)"
    group = key if key else "NULL"
    sql = (
        f"SELECT {group}, {binned}, predicted_outcome, actual_outcome, COUNT(*), "
        "SUM(confidence), SUM(confidence - 0.5), SUM((confidence - 0.5) * (confidence - 0.5)), "
        f"MIN(confidence), MAX(confidence), SUM({_ENTROPY}), COUNT(latency_ms), "
        f"SUM({error} * {error}) FROM ({rows}) window_rows GROUP BY 1, 2, 3, 4"
    )
    sums: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    for (group_key, calibration_bin, predicted, actual, n, confidence_sum, shifted_sum,
         shifted_squares, low, high, entropy_sum, with_latency, squared_error) in groups:
        group_sums = sums.setdefault(group_key, WindowSums(n_bins=n_bins))
        group_sums.add_label_free(n, confidence_sum, shifted_sum, shifted_squares, entropy_sum,
                                  n if predicted == 1 else 0, with_latency, low, high)
        if actual is not None:
            group_sums.add_cell(predicted, actual, n, confidence_sum, squared_error)
            group_sums.add_bin(calibration_bin, n, n if predicted == actual else 0,
                               confidence_sum)
    return sums


def scan_sums(model_version: str | None, ranges: list[Range], labelled: bool = False,
              n_bins: int = CALIBRATION_BINS) -> WindowSums:
    """The sums of one version's (None: every version's) rows in ``ranges``."""
    found = scan_sums_by(model_version, ranges, labelled=labelled, n_bins=n_bins)
    return found.get(None) or WindowSums(n_bins=n_bins)


def roc_auc(model_version: str | None, ranges: list[Range]) -> float | None:
    """Mann–Whitney AUC of the labelled rows, ties counted half (= scikit-learn); their
    labels must be 0 and 1 (the caller asks only for a binary model's window).

    One pass over the rows, sorted by score once: counted per distinct score (label 0/1)
    as they stream out of the sort, then a running count of negatives in the same order;
    only three numbers come back. Sorting the rows before grouping them (rather than
    hashing them into groups and sorting the groups) halves PostgreSQL's work, since
    nearly every score is distinct. In integers, doubled (a tie counts ½): exact, and no
    numeric arithmetic per row.
    """
    rows, params = _rows_sql(f"{_SCORE} AS score, actual_outcome", model_version, ranges,
                             labelled=True)
    sql = (
        "SELECT SUM(pos * (2 * cum_neg - neg)), SUM(pos), SUM(neg) FROM ("
        "SELECT pos, neg, SUM(neg) OVER (ORDER BY score ROWS UNBOUNDED PRECEDING) AS cum_neg "
        "FROM (SELECT score, CAST(SUM(actual_outcome) AS INTEGER) AS pos, "
        "CAST(COUNT(*) - SUM(actual_outcome) AS INTEGER) AS neg "
        f"FROM (SELECT score, actual_outcome FROM ({rows}) labelled_rows ORDER BY score) "
        "sorted_rows GROUP BY score) scores) ranked"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        doubled_wins, positives, negatives = cursor.fetchone()
    if not positives or not negatives:
        return None
    return float(doubled_wins) / (2.0 * float(positives) * float(negatives))
