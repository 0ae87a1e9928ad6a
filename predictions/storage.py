"""Store validated predictions: the one write path of the REST API, the tracker and the
legacy importer (SPEC §3, §7).

A batch is written without a query per row. On PostgreSQL it is COPY'd straight into the
table (what a raw COPY costs); when that fails as a whole — an id stored already (a
re-send, a re-run), or a row the database refuses — the batch goes through a
session-temporary staging table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING
RETURNING`` that names the new ids; the importer, which must keep the good rows of a bad
batch, may then go row by row. Elsewhere (SQLite) it is multi-row ``INSERT … ON CONFLICT
DO NOTHING RETURNING``. Only ids the database did not insert are read back, in one query,
and ``same_content`` tells an identical re-send from a conflicting one.

``ingest_predictions`` is the API's all-or-nothing batch on top of ``write_batch``.
"""
from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from predictions import rollups
from predictions.feature_pack import store_layouts
from predictions.models import Prediction
from predictions.storage_rows import (  # noqa: F401 (the write path's names, re-exported)
    COLUMNS,
    LAYOUT,
    WRITE_COLUMNS,
    copy_line,
    row_of,
    row_values,
    without_layout,
)
from predictions.unknown_fields import has_unknown, ingest_is_strict, unknown_field_errors
from predictions.validation import PREDICTION_FIELD, IngestValidationError, clean_prediction

try:
    from psycopg2 import Error as _PostgresError
except ImportError:  # pragma: no cover (SQLite-only installs)
    _PostgresError = DatabaseError
# Batches are written through the drivers' own cursors, which raise their own errors.
DATABASE_ERRORS = (DatabaseError, _PostgresError, sqlite3.Error)

# Compared on a re-send only when the client sent them: an omitted timestamp defaults to
# "now", and an outcome may have been recorded since the first send. When an outcome
# arrived is never compared.
COMPARED_WHEN_SENT = ("timestamp", "latency_ms", "actual_outcome")
COMPARED_ALWAYS = ("model_version", "predicted_outcome", "confidence", "features", "metadata")
_SQLITE_ROWS_PER_INSERT = 1000  # 10 parameters a row, well under SQLite's 32766
_IDS_PER_QUERY = 5000
_TABLE = Prediction._meta.db_table
_STAGING_TABLE = "prediction_ingest_staging"
_COLUMN_LIST = ", ".join(WRITE_COLUMNS)


@dataclass(frozen=True)
class IngestResult:
    created: int
    duplicates: int


class IngestConflict(Exception):
    """These prediction ids exist with different content; nothing was stored."""

    def __init__(self, prediction_ids: list[str]):
        self.prediction_ids = prediction_ids
        super().__init__(f"conflicting re-send of {len(prediction_ids)} prediction id(s)")


# --- one row ------------------------------------------------------------------------------


def same_content(stored: dict, row: dict, timestamp_sent: bool = True) -> bool:
    """Is ``row`` the prediction ``stored`` already (a re-send), not a different one?

    The latency and the outcome count only when given (None in ``row`` when not sent);
    the timestamp only when sent (``timestamp_sent``), as an absent one means "now".
    """
    if any(stored[name] != row[name] for name in COMPARED_ALWAYS):
        return False
    if timestamp_sent and stored["timestamp"] != row["timestamp"]:
        return False
    return all(
        row[name] is None or stored[name] == row[name] for name in ("latency_ms", "actual_outcome")
    )


# --- one batch ----------------------------------------------------------------------------


@dataclass
class Batch:
    """Validated rows to write: their ids, with their column values, or with their COPY
    lines when parse workers already made them (``load_values`` then gives the values,
    should a slower path need them)."""

    prediction_ids: list[str]
    values: list[tuple] | None = None
    copy_lines: list[str] | None = None
    load_values: Callable[[], list[tuple]] | None = None
    copy_layouts: set | None = None  # the layouts of ``copy_lines``

    def layouts(self) -> set:
        if self.values is None:
            return self.copy_layouts or set()
        return {values[LAYOUT] for values in self.values if values[LAYOUT] is not None}

    def without_layouts(self, keys: set[int]) -> Batch:
        """The batch with the rows of these layouts unpacked (a hash collision)."""
        return Batch.of([
            without_layout(values)
            if values[LAYOUT] is not None and values[LAYOUT].key in keys
            else values for values in self.all_values()
        ])

    @classmethod
    def of(cls, values: list[tuple]) -> Batch:
        return cls([v[0] for v in values], values=values)

    def all_values(self) -> list[tuple]:
        if self.values is None:
            self.values = self.load_values()
        return self.values

    def copy_text(self) -> str:
        # In id order, so two batches that share ids wait for each other instead of
        # deadlocking.
        if self.copy_lines is None:
            return "".join(map(copy_line, sorted(self.values)))
        ordered = sorted(zip(self.prediction_ids, self.copy_lines, strict=True))
        return "".join(line for _pid, line in ordered)


@dataclass
class Written:
    """What became of a batch: the ids inserted, the ids the database refused (why), and
    for the ids stored already, their primary key and compared values."""

    inserted: set[str]
    refused: dict[str, str]
    stored: dict[str, tuple[int, dict]]


def write_batch(batch: Batch, *, cursor=None, row_by_row: bool = False) -> Written:
    """Insert ``batch``, skipping ids that exist, inside the caller's transaction, and add
    the rows it inserted to the hourly aggregates in the same transaction.

    ``cursor``: a psycopg2 cursor of a connection of the caller's own (the importer's
    writer thread); default Django's connection. ``row_by_row``: when even the staging
    path fails, try each row alone and report the ones refused (else the error is
    raised, and the caller's transaction decides).
    """
    if not batch.prediction_ids:
        return Written(set(), {}, {})
    postgresql = cursor is not None or connection.vendor == "postgresql"
    if cursor is None:
        with connection.cursor() as django_cursor:
            # The driver's cursor (Django's SQLite one still takes %s placeholders): with
            # DEBUG on, Django's would keep the text of every thousand-row statement.
            return _write_and_count(django_cursor.cursor, batch, postgresql, row_by_row)
    return _write_and_count(cursor, batch, postgresql, row_by_row)


_rollup_values = itemgetter(*(COLUMNS.index(name) for name in (
    "model_version", "timestamp", "predicted_outcome", "confidence", "latency_ms",
    "actual_outcome",
)))


def _write_and_count(cursor, batch: Batch, postgresql: bool, row_by_row: bool) -> Written:
    batch = _with_layouts_stored(cursor, batch, postgresql)
    written = _write(cursor, batch, postgresql, row_by_row)
    if postgresql and batch.values is not None:
        # The inserted rows' values are at hand: the hours are summed from them.
        rollups.add_inserted_rows(cursor, [
            _rollup_values(values) for values in batch.values if values[0] in written.inserted
        ])
    else:
        rollups.add_predictions(written.inserted, cursor)
    return written


def _with_layouts_stored(cursor, batch: Batch, postgresql: bool) -> Batch:
    clashing = store_layouts(cursor, batch.layouts(), postgresql)
    return batch.without_layouts(clashing) if clashing else batch


def _write(cursor, batch: Batch, postgresql: bool, row_by_row: bool) -> Written:
    refused: dict[str, str] = {}
    if not row_by_row:
        inserted = _insert(cursor, batch, postgresql)
    else:
        try:
            with _savepoint(cursor, "prediction_batch"):
                inserted = _insert(cursor, batch, postgresql)
        except DATABASE_ERRORS:
            inserted, refused = _insert_one_by_one(cursor, batch.all_values(), postgresql)
    others = [
        pid for pid in batch.prediction_ids if pid not in inserted and pid not in refused
    ]
    return Written(inserted, refused, stored_predictions(others, cursor, postgresql))


def _insert(cursor, batch: Batch, postgresql: bool) -> set[str]:
    if postgresql:
        return _copy(cursor, batch)
    return _insert_values(cursor, batch.all_values())


class _savepoint:
    """A savepoint by plain SQL: it works on Django's connection and on one of our own."""

    def __init__(self, cursor, name: str):
        self.cursor, self.name = cursor, name

    def __enter__(self):
        self.cursor.execute(f"SAVEPOINT {self.name}")

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.cursor.execute(f"RELEASE SAVEPOINT {self.name}")
        else:
            self.cursor.execute(f"ROLLBACK TO SAVEPOINT {self.name}")
            self.cursor.execute(f"RELEASE SAVEPOINT {self.name}")
        return False


def _copy(cursor, batch: Batch) -> set[str]:
    """COPY straight into the table; on an id stored already, through the staging table."""
    body = batch.copy_text()
    try:
        with _savepoint(cursor, "prediction_copy"):
            cursor.copy_expert(f"COPY {_TABLE} ({_COLUMN_LIST}) FROM STDIN", io.StringIO(body))
        return set(batch.prediction_ids)
    except DATABASE_ERRORS:
        pass  # some id exists already (or a row is refused): sort them out below
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING_TABLE} ("
        "prediction_id text, model_version text, timestamp timestamptz, "
        "predicted_outcome integer, confidence double precision, features jsonb, "
        "metadata jsonb, actual_outcome integer, actual_outcome_timestamp timestamptz, "
        "latency_ms double precision, feature_layout_id bigint, numeric_features bytea, "
        "other_features text)"
    )
    cursor.copy_expert(f"COPY {_STAGING_TABLE} ({_COLUMN_LIST}) FROM STDIN", io.StringIO(body))
    cursor.execute(
        f"WITH staged AS (DELETE FROM {_STAGING_TABLE} RETURNING {_COLUMN_LIST}) "
        f"INSERT INTO {_TABLE} ({_COLUMN_LIST}) "
        f"SELECT {_COLUMN_LIST} FROM staged "
        "ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id"
    )
    return {pid for (pid,) in cursor.fetchall()}


def _insert_sql(rows: int, postgresql: bool) -> str:
    quote = connection.ops.quote_name if not postgresql else (lambda name: name)
    json_cast = "::jsonb" if postgresql else ""
    one = f"(%s, %s, %s, %s, %s, %s{json_cast}, %s{json_cast}, %s, %s, %s, %s, %s, %s)"
    columns = ", ".join(quote(name) for name in WRITE_COLUMNS)
    return (
        f"INSERT INTO {quote(_TABLE)} ({columns}) VALUES {', '.join([one] * rows)} "
        f"ON CONFLICT ({quote('prediction_id')}) DO NOTHING "
        f"RETURNING {quote('prediction_id')}"
    )


def _parameters(values: tuple, postgresql: bool) -> tuple:
    layout, *packed = values[LAYOUT:]
    packed_columns = (None if layout is None else layout.key, *packed)
    if postgresql:
        return (*values[:LAYOUT], *packed_columns)
    adapt = connection.ops.adapt_datetimefield_value
    return (*values[:2], adapt(values[2]), *values[3:8], adapt(values[8]), values[9],
            *packed_columns)


def _insert_values(cursor, values: list[tuple]) -> set[str]:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING (SQLite and the others)."""
    inserted: set[str] = set()
    for start in range(0, len(values), _SQLITE_ROWS_PER_INSERT):
        chunk = values[start : start + _SQLITE_ROWS_PER_INSERT]
        params = [p for row in chunk for p in _parameters(row, False)]
        cursor.execute(_insert_sql(len(chunk), False), params)
        inserted.update(pid for (pid,) in cursor.fetchall())
    return inserted


def _insert_one_by_one(cursor, values: list[tuple], postgresql: bool):
    """Each row alone: the ones the database refuses are named, the others go in."""
    inserted, refused = set(), {}
    sql = _insert_sql(1, postgresql)
    for row in values:
        try:
            with _savepoint(cursor, "prediction_row"):
                cursor.execute(sql, _parameters(row, postgresql))
                inserted.update(pid for (pid,) in cursor.fetchall())
        except DATABASE_ERRORS as exc:
            refused[row[0]] = f"refused by the database: {one_line(exc)}"
    return inserted, refused


def stored_predictions(prediction_ids: list[str], cursor=None, postgresql=None):
    """{prediction_id: (primary key, {compared field: value})} for those stored."""
    fields = ("prediction_id", *COMPARED_ALWAYS, *COMPARED_WHEN_SENT)
    stored = {}
    if not prediction_ids:
        return stored
    if postgresql is None:
        postgresql = connection.vendor == "postgresql"
    for start in range(0, len(prediction_ids), _IDS_PER_QUERY):
        chunk = prediction_ids[start : start + _IDS_PER_QUERY]
        if postgresql and cursor is not None:
            # Through the writer's own cursor: it sees the rows its transaction wrote.
            cursor.execute(
                f"SELECT id, {', '.join(fields)} FROM {_TABLE} WHERE prediction_id = ANY(%s)",
                (chunk,),
            )
            rows = (dict(zip(("pk", *fields), found, strict=True)) for found in cursor.fetchall())
        else:
            rows = Prediction.objects.filter(prediction_id__in=chunk).values("pk", *fields)
        for values in rows:
            for name in ("features", "metadata"):
                if isinstance(values[name], str):  # Django's connection leaves jsonb as text
                    values[name] = json.loads(values[name])
            stored[values["prediction_id"]] = (values.pop("pk"), values)
    return stored


def one_line(exc: Exception) -> str:
    """An exception as one short line for a report."""
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}"[:300]


# --- the API's batches: all or nothing ------------------------------------------------------


def ingest_predictions(items: list[dict], strict: bool | None = None) -> IngestResult:
    """Store a batch, all or nothing; identical re-sends count as duplicates.

    ``strict`` (default: MONITORING_INGEST_STRICT) makes an unknown key an error.
    Raises IngestValidationError (nothing stored) or IngestConflict (nothing stored).
    """
    strict = ingest_is_strict() if strict is None else strict
    now = timezone.now()
    errors: dict[int, dict[str, str]] = {}
    first_seen: dict[str, tuple[dict, bool]] = {}
    to_insert: list[tuple] = []
    in_batch_duplicates = 0
    conflicts: list[str] = []
    for index, raw in enumerate(items):
        row, item_errors, texts = clean_prediction(raw, now)
        if strict and has_unknown(raw, PREDICTION_FIELD.keys()):
            item_errors = {**unknown_field_errors(raw, PREDICTION_FIELD.keys(), index),
                           **item_errors}
        if item_errors:
            errors[index] = item_errors
            continue
        if errors:
            continue  # the batch is lost anyway: only keep collecting errors
        key = row["prediction_id"]
        sent_time = raw.get("timestamp") is not None
        earlier = first_seen.get(key)
        if earlier is not None:
            if same_content(earlier[0], row, sent_time):
                in_batch_duplicates += 1
            elif key not in conflicts:
                conflicts.append(key)
            continue
        first_seen[key] = (row, sent_time)
        to_insert.append(row_values(row, texts))
    if errors:
        raise IngestValidationError(errors)
    if conflicts:
        raise IngestConflict(conflicts)

    with transaction.atomic():
        written = write_batch(Batch.of(to_insert))
        conflicts = [
            key for key, (_pk, stored) in written.stored.items()
            if not same_content(stored, *first_seen[key])
        ]
        if conflicts:
            raise IngestConflict(conflicts)  # rolls the inserts back
    created = len(written.inserted)
    return IngestResult(created=created, duplicates=len(items) - created)

