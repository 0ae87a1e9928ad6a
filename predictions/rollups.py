"""Hourly aggregates of predictions and outcomes, kept exact as rows are written (SPEC §9).

Every write path (REST ingest, outcomes, ``import_legacy``, the legacy tracker, the admin)
calls ``add_predictions`` for the rows it inserted and ``change_outcomes`` for the labels
it set, inside the transaction that wrote them. One SQL statement per table computes the
sums of a set of rows grouped by (version, hour, …) and adds them with an upsert
(``ON CONFLICT … DO UPDATE SET n = t.n + EXCLUDED.n``), so concurrent writers add instead of
overwriting; ``rebuild`` feeds the very same statements with every row of a version, which
is what the tests hold the maintained tables against.

``PredictionHour`` only ever grows (a prediction is never re-filed under another hour),
so its minimum and maximum stay exact; ``OutcomeHour`` moves a prediction between
(predicted, actual) cells when its label changes, by adding the old cell's sums with a
negative sign and the new one's with a positive sign in one statement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction

from predictions.models import (
    CALIBRATION_BINS,
    CustomMetricHour,
    OutcomeHour,
    PerformanceMetric,
    Prediction,
    PredictionHour,
)

HOUR_SECONDS = 3600
_IDS_PER_QUERY = 5000
# Relative tolerance when rebuild compares maintained float sums with recomputed ones:
# sums added in another order differ in their last bits, never by more.
_TOLERANCE = 1e-9

_PREDICTIONS = Prediction._meta.db_table
_PREDICTION_HOURS = PredictionHour._meta.db_table
_OUTCOME_HOURS = OutcomeHour._meta.db_table
_METRICS = PerformanceMetric._meta.db_table
_METRIC_HOURS = CustomMetricHour._meta.db_table

PREDICTION_SUMS = (
    "n", "confidence_sum", "shifted_sum", "shifted_squares", "entropy_sum", "low", "high",
    "with_latency",
)
BIN_COUNTS = tuple(f"bin{i}_n" for i in range(CALIBRATION_BINS))
BIN_CONFIDENCES = tuple(f"bin{i}_confidence" for i in range(CALIBRATION_BINS))
OUTCOME_SUMS = ("n", "confidence_sum", "squared_error", *BIN_COUNTS, *BIN_CONFIDENCES)
METRIC_SUMS = ("count", "value_sum", "low", "high")


def epoch_hour(moment: datetime) -> int:
    """Whole hours since the Unix epoch (UTC) of an aware datetime."""
    return int(moment.timestamp() // HOUR_SECONDS)


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR_SECONDS, tz=UTC)


# --- SQL, per database --------------------------------------------------------------------


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _hour_sql(column: str) -> str:
    if _is_postgres():
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600) AS BIGINT)"
    # Django keeps naive UTC text in SQLite; '%%' survives the parameter substitution.
    return f"(CAST(strftime('%%s', {column}) AS INTEGER) / 3600)"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if _is_postgres() else f"MIN({a}, {b})"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if _is_postgres() else f"MAX({a}, {b})"


def _bin_sql() -> str:
    """min(floor(confidence · bins), bins − 1), as predictions.metrics bins a confidence."""
    scaled = f"CAST(FLOOR(s.confidence * {float(CALIBRATION_BINS)}) AS INTEGER)"
    return _least(scaled, str(CALIBRATION_BINS - 1))


_ENTROPY = (
    "CASE WHEN s.confidence <= 0.0 OR s.confidence >= 1.0 THEN 0.0 "
    "ELSE -(s.confidence * LN(s.confidence)) - (1.0 - s.confidence) * LN(1.0 - s.confidence) END"
)
_ERROR = (
    "((CASE WHEN s.predicted_outcome = 1 THEN s.confidence ELSE 1.0 - s.confidence END)"
    " - s.actual_outcome)"
)


def _upsert(table: str, keys: tuple[str, ...], columns: dict[str, str], source: str,
            where: str = "true") -> str:
    """INSERT … SELECT sums FROM (source) GROUP BY keys, adding to the rows that exist.

    Rows are written in key order, so that two writers touching the same keys lock them
    in the same order and never deadlock.
    """
    names = [*keys, *columns]
    key_list = ", ".join(keys)
    merges = []
    for name in columns:
        if name == "low":
            merges.append(f"low = {_least(f'{table}.low', 'excluded.low')}")
        elif name == "high":
            merges.append(f"high = {_greatest(f'{table}.high', 'excluded.high')}")
        else:
            merges.append(f"{name} = {table}.{name} + excluded.{name}")
    selected = ", ".join(f"{expression} AS {name}" for name, expression in columns.items())
    grouping = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"SELECT * FROM (SELECT {key_list}, {selected} FROM ("
        f"SELECT s.*, {_hour_sql('s.ts')} AS hour FROM ({source}) s WHERE {where}"
        f") s GROUP BY {grouping}) sums "
        # SQLite needs a WHERE before ON CONFLICT to tell it from a join's ON.
        f"WHERE true ORDER BY {key_list} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {', '.join(merges)}"
    )


def _prediction_hour_sql(source: str) -> str:
    return _upsert(
        _PREDICTION_HOURS,
        ("model_version", "hour", "predicted_outcome"),
        {
            "n": "COUNT(*)",
            "confidence_sum": "SUM(s.confidence)",
            "shifted_sum": "SUM(s.confidence - 0.5)",
            "shifted_squares": "SUM((s.confidence - 0.5) * (s.confidence - 0.5))",
            "entropy_sum": f"SUM({_ENTROPY})",
            "low": "MIN(s.confidence)",
            "high": "MAX(s.confidence)",
            "with_latency": "COUNT(s.latency_ms)",
        },
        source,
    )


def _outcome_hour_sql(source: str) -> str:
    binned = _bin_sql()
    columns = {
        "n": "SUM(s.sign)",
        "confidence_sum": "SUM(s.sign * s.confidence)",
        "squared_error": f"SUM(s.sign * {_ERROR} * {_ERROR})",
    }
    for i in range(CALIBRATION_BINS):
        columns[BIN_COUNTS[i]] = f"SUM(CASE WHEN {binned} = {i} THEN s.sign ELSE 0 END)"
    for i in range(CALIBRATION_BINS):
        columns[BIN_CONFIDENCES[i]] = (
            f"SUM(CASE WHEN {binned} = {i} THEN s.sign * s.confidence ELSE 0.0 END)"
        )
    return _upsert(
        _OUTCOME_HOURS,
        ("model_version", "hour", "predicted_outcome", "actual_outcome"),
        columns,
        source,
        where="s.actual_outcome IS NOT NULL",
    )


def _metric_hour_sql(source: str) -> str:
    return _upsert(
        _METRIC_HOURS,
        ("metric_name", "model_version", "hour"),
        {
            "count": "COUNT(*)",
            "value_sum": "SUM(s.value)",
            "low": "MIN(s.value)",
            "high": "MAX(s.value)",
        },
        source,
    )


_METRIC_COLUMNS = "m.metric_name, m.model_version, m.timestamp AS ts, m.value"
_ROW_COLUMNS = (
    "p.model_version, p.timestamp AS ts, p.predicted_outcome, p.confidence, p.latency_ms"
)


# --- the write paths ----------------------------------------------------------------------


def add_predictions(prediction_ids, cursor=None) -> None:
    """Add newly inserted predictions (and the outcomes they came with) to the hours.

    Call inside the transaction that inserted them, with only the ids it inserted (a
    re-sent duplicate must not count twice); ``cursor``: the one that inserted them, when
    it is not Django's (the importer's writer thread has a connection of its own).
    """
    prediction_ids = list(prediction_ids)
    if not prediction_ids:
        return
    if cursor is None:
        with connection.cursor() as django_cursor:
            _add_predictions(django_cursor, prediction_ids)
    else:
        _add_predictions(cursor, prediction_ids)


# The inserted predictions' rows (``_ROW_COLUMNS``, actual_outcome, sign) from the batch's
# own values passed as arrays, both hours' upserts in one statement: no index probe per row
# to read them back, one round trip.
_UNNESTED_ROWS = (
    "SELECT u.model_version, u.ts, u.predicted_outcome, u.confidence, u.latency_ms, "
    "u.actual_outcome, 1 AS sign FROM unnest(%s::text[], %s::timestamptz[], %s::integer[], "
    "%s::double precision[], %s::double precision[], %s::integer[]) "
    "AS u(model_version, ts, predicted_outcome, confidence, latency_ms, actual_outcome)"
)
_ADD_INSERTED_ROWS = (
    f"WITH inserted AS MATERIALIZED ({_UNNESTED_ROWS}), "
    f"prediction_hours AS ({_prediction_hour_sql('SELECT * FROM inserted')}) "
    f"{_outcome_hour_sql('SELECT * FROM inserted')}"
)


def add_inserted_rows(cursor, rows: list[tuple]) -> None:
    """``add_predictions`` for rows the caller holds (PostgreSQL only): ``rows`` are the
    inserted predictions' (model_version, timestamp, predicted_outcome, confidence,
    latency_ms, actual_outcome), as stored."""
    for start in range(0, len(rows), _IDS_PER_QUERY):
        chunk = rows[start : start + _IDS_PER_QUERY]
        cursor.execute(_ADD_INSERTED_ROWS, [list(column) for column in zip(*chunk, strict=True)])


def _add_predictions(cursor, prediction_ids: list[str]) -> None:
    for start in range(0, len(prediction_ids), _IDS_PER_QUERY):
        chunk = prediction_ids[start : start + _IDS_PER_QUERY]
        if _is_postgres():
            where, params = "p.prediction_id = ANY(%s)", [chunk]
        else:
            where, params = f"p.prediction_id IN ({', '.join(['%s'] * len(chunk))})", chunk
        source = (
            f"SELECT {_ROW_COLUMNS}, p.actual_outcome, 1 AS sign "
            f"FROM {_PREDICTIONS} p WHERE {where}"
        )
        cursor.execute(_prediction_hour_sql(source), params)
        cursor.execute(_outcome_hour_sql(source), params)


def add_custom_metrics(metric_pks) -> None:
    """Add newly inserted named metric values (PerformanceMetric rows) to their hours."""
    metric_pks = list(metric_pks)
    with connection.cursor() as cursor:
        for start in range(0, len(metric_pks), _IDS_PER_QUERY):
            chunk = metric_pks[start : start + _IDS_PER_QUERY]
            source = (
                f"SELECT {_METRIC_COLUMNS} FROM {_METRICS} m "
                f"WHERE m.id IN ({', '.join(['%s'] * len(chunk))})"
            )
            cursor.execute(_metric_hour_sql(source), chunk)


def relabel_sql(relabelled: str) -> str:
    """The OutcomeHour upsert moving relabelled predictions between cells.

    ``relabelled``: a query (or a CTE's name) with the columns model_version, ts,
    predicted_outcome, confidence, latency_ms, old_outcome, new_outcome, one row per
    prediction whose label was set. Rows whose label did not change move nothing. Run in
    the transaction that sets the labels, with those rows locked, e.g. as a CTE of the
    UPDATE itself (``predictions.outcomes``).
    """
    columns = "r.model_version, r.ts, r.predicted_outcome, r.confidence, r.latency_ms"
    return _outcome_hour_sql(
        f"SELECT {columns}, r.old_outcome AS actual_outcome, -1 AS sign FROM {relabelled} r "
        "WHERE r.old_outcome IS NOT NULL AND r.old_outcome <> r.new_outcome "
        f"UNION ALL SELECT {columns}, r.new_outcome, 1 FROM {relabelled} r "
        "WHERE r.old_outcome IS NULL OR r.old_outcome <> r.new_outcome"
    )


def change_outcomes(changes: list[tuple[int, int | None, int]]) -> None:
    """Move relabelled predictions between outcome cells: ``(pk, old, new)`` each.

    Call inside the transaction that updates the labels, after locking those rows.
    """
    changes = [change for change in changes if change[1] != change[2]]
    with connection.cursor() as cursor:
        for start in range(0, len(changes), _IDS_PER_QUERY // 2):
            chunk = changes[start : start + _IDS_PER_QUERY // 2]
            values = ", ".join(
                ["(CAST(%s AS BIGINT), CAST(%s AS INTEGER), CAST(%s AS INTEGER))"] * len(chunk)
            )
            params = [value for change in chunk for value in change]
            cursor.execute(
                f"WITH changed (pk, old_outcome, new_outcome) AS (VALUES {values}), "
                f"relabelled AS (SELECT {_ROW_COLUMNS}, c.old_outcome, c.new_outcome "
                f"FROM {_PREDICTIONS} p JOIN changed c ON p.id = c.pk) "
                + relabel_sql("relabelled"),
                params,
            )


def recompute_hours(prediction_hours: set[tuple[str, int]] = frozenset(),
                    metric_hours: set[tuple[str, str, int]] = frozenset()) -> None:
    """Recompute whole hours from their rows: for writes that are not plain inserts or
    relabels (an admin edit of a timestamp or confidence, a delete), where adding a delta
    could leave a minimum or maximum behind.

    ``prediction_hours``: (model_version, hour) pairs; ``metric_hours``: (metric_name,
    model_version, hour). Concurrent writers wait on the rows deleted here, then add to
    the recomputed ones, so nothing is lost or counted twice.
    """
    with connection.cursor() as cursor:
        for model_version, hour in sorted(prediction_hours):
            PredictionHour.objects.filter(model_version=model_version, hour=hour).delete()
            OutcomeHour.objects.filter(model_version=model_version, hour=hour).delete()
            source = (
                f"SELECT {_ROW_COLUMNS}, p.actual_outcome, 1 AS sign FROM {_PREDICTIONS} p "
                "WHERE p.model_version = %s AND p.timestamp >= %s AND p.timestamp < %s"
            )
            params = [model_version, *_hour_bounds(hour)]
            cursor.execute(_prediction_hour_sql(source), params)
            cursor.execute(_outcome_hour_sql(source), params)
        for metric_name, model_version, hour in sorted(metric_hours):
            CustomMetricHour.objects.filter(
                metric_name=metric_name, model_version=model_version, hour=hour
            ).delete()
            source = (
                f"SELECT {_METRIC_COLUMNS} FROM {_METRICS} m WHERE m.metric_name = %s "
                "AND m.model_version = %s AND m.timestamp >= %s AND m.timestamp < %s"
            )
            cursor.execute(_metric_hour_sql(source), [metric_name, model_version,
                                                      *_hour_bounds(hour)])


def _hour_bounds(hour: int) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(hour_start(hour)), adapt(hour_start(hour + 1))]


# --- rebuild ------------------------------------------------------------------------------


@dataclass
class RebuildReport:
    """What a rebuild found: rows per table, and the cells that differed."""

    prediction_hours: int = 0
    outcome_hours: int = 0
    metric_hours: int = 0
    differences: list[str] = field(default_factory=list)


def _snapshot(model, sums, filters) -> dict[tuple, dict]:
    key_fields = model._meta.constraints[0].fields
    return {
        tuple(row[k] for k in key_fields): row
        for row in model.objects.filter(**filters).values(*key_fields, *sums)
    }


def _differences(label, before: dict, after: dict, sums) -> list[str]:
    found = []
    for key in sorted(set(before) | set(after), key=repr):
        old, new = before.get(key, {}), after.get(key, {})
        for name in sums:
            a, b = old.get(name), new.get(name)
            if name not in ("low", "high"):
                a, b = a or 0, b or 0
            if a == b or (
                a is not None and b is not None
                and abs(a - b) <= _TOLERANCE * max(1.0, abs(a), abs(b))
            ):
                continue
            found.append(f"{label} {key}: {name} was {a}, is {b}")
    return found


def rebuild(model_version: str | None = None, since: datetime | None = None) -> RebuildReport:
    """Recompute the hours from the rows (one version or all, from ``since``'s hour on).

    Writers wait while it runs (a table lock on PostgreSQL, the database lock on SQLite),
    so nothing is counted twice or lost. Returns what differed from the maintained rows.
    """
    filters, where, params = {}, ["true"], []
    if model_version is not None:
        filters["model_version"] = model_version
        where.append("p.model_version = %s")
        params.append(model_version)
    if since is not None:
        first_hour = epoch_hour(since)
        filters["hour__gte"] = first_hour
        where.append("p.timestamp >= %s")
        params.append(connection.ops.adapt_datetimefield_value(hour_start(first_hour)))
    source = (
        f"SELECT {_ROW_COLUMNS}, p.actual_outcome, 1 AS sign FROM {_PREDICTIONS} p "
        f"WHERE {' AND '.join(where)}"
    )
    metric_source = (
        f"SELECT {_METRIC_COLUMNS} FROM {_METRICS} m "
        f"WHERE {' AND '.join(where).replace('p.', 'm.')}"
    )
    report = RebuildReport()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if _is_postgres():
                cursor.execute(
                    f"LOCK TABLE {_PREDICTION_HOURS}, {_OUTCOME_HOURS}, {_METRIC_HOURS} "
                    "IN SHARE ROW EXCLUSIVE MODE"
                )
            before_predictions = _snapshot(PredictionHour, PREDICTION_SUMS, filters)
            before_outcomes = _snapshot(OutcomeHour, OUTCOME_SUMS, filters)
            before_metrics = _snapshot(CustomMetricHour, METRIC_SUMS, filters)
            PredictionHour.objects.filter(**filters).delete()
            OutcomeHour.objects.filter(**filters).delete()
            CustomMetricHour.objects.filter(**filters).delete()
            cursor.execute(_prediction_hour_sql(source), params)
            cursor.execute(_outcome_hour_sql(source), params)
            cursor.execute(_metric_hour_sql(metric_source), params)
        after_predictions = _snapshot(PredictionHour, PREDICTION_SUMS, filters)
        after_outcomes = _snapshot(OutcomeHour, OUTCOME_SUMS, filters)
        after_metrics = _snapshot(CustomMetricHour, METRIC_SUMS, filters)
    report.prediction_hours = len(after_predictions)
    report.outcome_hours = len(after_outcomes)
    report.metric_hours = len(after_metrics)
    report.differences = [
        *_differences("prediction hour", before_predictions, after_predictions,
                      PREDICTION_SUMS),
        *_differences("outcome hour", before_outcomes, after_outcomes, OUTCOME_SUMS),
        *_differences("metric hour", before_metrics, after_metrics, METRIC_SUMS),
    ]
    return report
