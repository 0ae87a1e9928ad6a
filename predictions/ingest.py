"""Validate and store predictions and their outcomes (SPEC §3).

One validator (``validate_prediction``) serves the REST API and the legacy importer.
Batches are all or nothing: validated in plain Python first, then written with
``INSERT … ON CONFLICT (prediction_id) DO NOTHING … RETURNING`` (fed by COPY on PostgreSQL,
multi-row VALUES on SQLite), never a query per row; only the ids the database did not
insert are read back, in one query, to tell identical re-sends (a no-op) from conflicting
ones (everything is rolled back).
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from predictions import rollups
from predictions.models import Prediction

MAX_PREDICTION_ID = Prediction._meta.get_field("prediction_id").max_length
MAX_MODEL_VERSION = Prediction._meta.get_field("model_version").max_length
# Outcomes are stored in a 32-bit integer column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
REQUIRED = ("prediction_id", "model_version", "predicted_outcome", "confidence")
# Compared on a re-send only when the client sent them: an omitted timestamp defaults to
# "now", and an outcome may have been recorded since the first send.
COMPARED_WHEN_SENT = ("timestamp", "latency_ms", "actual_outcome")
COMPARED_ALWAYS = ("model_version", "predicted_outcome", "confidence", "features", "metadata")
COLUMNS = (
    "prediction_id",
    "model_version",
    "timestamp",
    "predicted_outcome",
    "confidence",
    "features",
    "metadata",
    "actual_outcome",
    "actual_outcome_timestamp",
    "latency_ms",
)
# One encoder for every features/metadata object: compact, no NaN/Infinity (not JSON, and
# PostgreSQL's jsonb refuses them).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SQLITE_ROWS_PER_INSERT = 1000  # 10 parameters a row, well under SQLite's 32766
_IDS_PER_QUERY = 5000


@dataclass(frozen=True)
class IngestResult:
    created: int
    duplicates: int


class IngestValidationError(Exception):
    """Some items are invalid: ``errors`` maps each bad item's index to {field: message}."""

    def __init__(self, errors: dict[int, dict[str, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid item(s); nothing was stored")


class IngestConflict(Exception):
    """These prediction ids exist with different content; nothing was stored."""

    def __init__(self, prediction_ids: list[str]):
        self.prediction_ids = prediction_ids
        super().__init__(f"conflicting re-send of {len(prediction_ids)} prediction id(s)")


# --- validation ---------------------------------------------------------------------------


class _Invalid(Exception):
    pass


def _is_number(value) -> bool:
    return type(value) in (int, float)  # bool is an int subclass: not a number here


def _clean_text(value, max_length: int) -> str:
    if not isinstance(value, str):
        raise _Invalid("Must be a string.")
    if not value:
        raise _Invalid("Must not be empty.")
    if len(value) > max_length:
        raise _Invalid(f"Must be at most {max_length} characters.")
    if "\x00" in value:
        raise _Invalid("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("Must be valid Unicode text.") from None
    return value


def clean_outcome(value) -> int:
    """An outcome class: an integer (not a bool), or a float with an integral value."""
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise _Invalid("Must be an integer.")
    if not INT_MIN <= value <= INT_MAX:
        raise _Invalid("Must fit in a 32-bit integer.")
    return value


def _clean_finite(value) -> float:
    if not _is_number(value):
        raise _Invalid("Must be a number.")
    try:
        value = float(value)
    except OverflowError:
        raise _Invalid("Must be a finite number.") from None
    if not math.isfinite(value):
        raise _Invalid("Must be a finite number.")
    return value


def _clean_confidence(value) -> float:
    value = _clean_finite(value)
    if not 0.0 <= value <= 1.0:
        raise _Invalid("Must be between 0 and 1.")
    return value


def _clean_latency(value) -> float:
    value = _clean_finite(value)
    if value < 0:
        raise _Invalid("Must not be negative.")
    return value


def _clean_timestamp(value) -> datetime:
    """ISO 8601 text or epoch seconds → an aware UTC datetime (naive text is UTC)."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif _is_number(value):
            if not math.isfinite(value):
                raise _Invalid("Must be a finite number of epoch seconds.")
            return datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)  # the common case, fast
            except ValueError:
                moment = parse_datetime(value.strip())
            if moment is None:
                raise _Invalid("Must be an ISO 8601 date-time or epoch seconds.")
        else:
            raise _Invalid("Must be an ISO 8601 date-time or epoch seconds.")
        if moment.tzinfo is None or moment.utcoffset() is None:
            return moment.replace(tzinfo=UTC)
        if moment.tzinfo is UTC:
            return moment
        return moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise _Invalid("Must be a valid date-time within years 1–9999.") from None


def _json_object_text(value) -> str:
    """A JSON object, serialised once for the database (no NaN, no NUL, valid Unicode)."""
    if not isinstance(value, dict):
        raise _Invalid("Must be a JSON object.")
    try:
        text = _ENCODER.encode(value)
        if "\\u0000" in text and _contains_nul(value):
            raise _Invalid("Must not contain NUL characters.")
    except ValueError:
        raise _Invalid("Must not contain NaN or Infinity.") from None
    except TypeError:
        raise _Invalid("Must contain only JSON values.") from None
    except RecursionError:
        raise _Invalid("Is nested too deeply.") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("Must be valid Unicode text.") from None
    return text


def json_object_problem(value) -> str | None:
    """Why ``value`` cannot be stored as a JSON object, or None when it can."""
    try:
        _json_object_text(value)
    except _Invalid as exc:
        return str(exc)
    return None


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _fast_text(value, max_length: int) -> bool:
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isascii()
        and "\x00" not in value
    )


def _fast_json(value) -> str | None:
    if value is None:
        return "{}"
    if type(value) is not dict:
        return None
    try:
        text = _ENCODER.encode(value)
    except (ValueError, TypeError, RecursionError):
        return None
    if "\\u0000" in text or not (text.isascii() or _utf8(text)):
        return None
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fast_clean(raw: dict, now: datetime) -> tuple[dict, dict] | None:
    """The common, valid item checked inline: (row, texts), or None for the full check.

    Accepts only what ``_clean`` accepts, and builds the same row; anything unusual
    (an error, a float class, a non-UTC offset, …) goes to the full check, which also
    writes the messages.
    """
    get = raw.get
    prediction_id, model_version = get("prediction_id"), get("model_version")
    predicted, confidence = get("predicted_outcome"), get("confidence")
    if not (
        _fast_text(prediction_id, MAX_PREDICTION_ID)
        and _fast_text(model_version, MAX_MODEL_VERSION)
        and type(predicted) is int
        and INT_MIN <= predicted <= INT_MAX
    ):
        return None
    if type(confidence) is float:
        if not 0.0 <= confidence <= 1.0:  # NaN fails too
            return None
    elif type(confidence) is int and confidence in (0, 1):
        confidence = float(confidence)
    else:
        return None
    features, metadata = _fast_json(get("features")), _fast_json(get("metadata"))
    if features is None or metadata is None:
        return None
    timestamp = get("timestamp")
    if timestamp is None:
        timestamp = now
    elif type(timestamp) is str:
        try:
            timestamp = datetime.fromisoformat(timestamp)
        except ValueError:
            return None
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        elif timestamp.tzinfo is not UTC:
            return None
    elif type(timestamp) is int or type(timestamp) is float:
        # Epoch seconds, the legacy library's format (and most model services').
        try:
            timestamp = datetime.fromtimestamp(timestamp, tz=UTC)
        except (ValueError, OverflowError, OSError):  # NaN, ±inf, out of range
            return None
    else:
        return None
    latency = get("latency_ms")
    if latency is not None and (type(latency) is not float or not 0.0 <= latency < math.inf):
        return None
    actual, actual_at = get("actual_outcome"), None
    if actual is not None:
        if type(actual) is not int or not INT_MIN <= actual <= INT_MAX:
            return None
        if get("actual_outcome_timestamp") is not None:
            return None
        actual_at = now
    row = {
        "prediction_id": prediction_id,
        "model_version": model_version,
        "predicted_outcome": predicted,
        "confidence": confidence,
        "features": get("features") or {},
        "metadata": get("metadata") or {},
        "timestamp": timestamp,
        "latency_ms": latency,
        "actual_outcome": actual,
        "actual_outcome_timestamp": actual_at,
    }
    return row, {"features": features, "metadata": metadata}


def _clean(raw, now: datetime) -> tuple[dict | None, dict, dict | None]:
    """(row, errors, JSON texts of features/metadata) for one raw item."""
    if type(raw) is dict:
        fast = _fast_clean(raw, now)
        if fast is not None:
            return fast[0], {}, fast[1]
    return _full_clean(raw, now)


def _full_clean(raw, now: datetime) -> tuple[dict | None, dict, dict | None]:
    """Every check, with a message for each field that fails."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": "Must be a JSON object."}, None
    errors: dict[str, str] = {}
    row: dict = {}
    texts: dict[str, str] = {}
    for field in REQUIRED:
        if raw.get(field) is None:
            errors[field] = "This field is required."

    def check(field, cleaner, *args):
        try:
            row[field] = cleaner(raw[field], *args)
        except _Invalid as exc:
            errors[field] = str(exc)

    if "prediction_id" not in errors:
        check("prediction_id", _clean_text, MAX_PREDICTION_ID)
    if "model_version" not in errors:
        check("model_version", _clean_text, MAX_MODEL_VERSION)
    if "predicted_outcome" not in errors:
        check("predicted_outcome", clean_outcome)
    if "confidence" not in errors:
        check("confidence", _clean_confidence)
    for field in ("features", "metadata"):
        value = raw.get(field)
        if value is None:
            row[field] = {}
            texts[field] = "{}"
            continue
        try:
            texts[field] = _json_object_text(value)
            row[field] = value
        except _Invalid as exc:
            errors[field] = str(exc)
    if raw.get("timestamp") is None:
        row["timestamp"] = now
    else:
        check("timestamp", _clean_timestamp)
    row["latency_ms"] = None
    if raw.get("latency_ms") is not None:
        check("latency_ms", _clean_latency)
    row["actual_outcome"] = None
    row["actual_outcome_timestamp"] = None
    if raw.get("actual_outcome") is not None:
        check("actual_outcome", clean_outcome)
        if raw.get("actual_outcome_timestamp") is None:
            row["actual_outcome_timestamp"] = now
        else:
            check("actual_outcome_timestamp", _clean_timestamp)
    if errors:
        return None, errors, None
    return row, {}, texts


def validate_prediction(raw: object, index: int | None = None) -> tuple[dict | None, dict]:
    """Check one raw prediction: (row ready for ``Prediction(**row)``, {}) or (None, errors).

    ``index`` is only a label for callers that keep track of positions; errors are
    ``{field: message}``.
    """
    row, errors, _texts = _clean(raw, timezone.now())
    return row, errors


# --- storing batches ----------------------------------------------------------------------


def _same_content(stored: dict, row: dict, raw: dict) -> bool:
    if any(stored[field] != row[field] for field in COMPARED_ALWAYS):
        return False
    return all(
        raw.get(field) is None or stored[field] == row[field] for field in COMPARED_WHEN_SENT
    )


def _insert_rows(rows: list[tuple]) -> set[str]:
    """Insert, skipping ids that exist; return the prediction ids actually inserted."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        return _insert_rows_postgresql(rows)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in COLUMNS)
    head = f"INSERT INTO {quote(Prediction._meta.db_table)} ({columns}) VALUES "
    tail = f" ON CONFLICT ({quote('prediction_id')}) DO NOTHING RETURNING {quote('prediction_id')}"
    adapt = connection.ops.adapt_datetimefield_value
    placeholders = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
            chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
            params = []
            for row in chunk:
                params.extend(row)
                params[-8] = adapt(params[-8])  # timestamp
                params[-2] = adapt(params[-2])  # actual_outcome_timestamp
            cursor.execute(head + ", ".join([placeholders] * len(chunk)) + tail, params)
            inserted.update(r[0] for r in cursor.fetchall())
    return inserted


# COPY text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_STAGING_TABLE = "prediction_ingest_staging"
_NULL = "\\N"


def _copy_line(row: tuple) -> str:
    """One row in COPY text format (a function per row, not per value: it is the hot loop)."""
    (prediction_id, model_version, timestamp, predicted, confidence, features, metadata,
     actual, actual_at, latency) = row
    return (
        f"{prediction_id.translate(_COPY_ESCAPES)}\t{model_version.translate(_COPY_ESCAPES)}\t"
        f"{timestamp.isoformat()}\t{predicted}\t{confidence!r}\t"
        f"{features.translate(_COPY_ESCAPES)}\t{metadata.translate(_COPY_ESCAPES)}\t"
        f"{_NULL if actual is None else actual}\t"
        f"{_NULL if actual_at is None else actual_at.isoformat()}\t"
        f"{_NULL if latency is None else repr(latency)}\n"
    )


def _insert_rows_postgresql(rows: list[tuple]) -> set[str]:
    """COPY the batch straight into the table; on a re-sent id, through a staging table.

    A new batch (the common case) costs what a raw COPY costs. When an id already exists
    the COPY fails as a whole (inside a savepoint, so nothing else is lost); the batch is
    then COPied into a session-temporary table and moved with one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` that says which ids were new.
    Either way no statement carries thousands of literals to parse.
    """
    columns = ", ".join(COLUMNS)
    # In id order, so two batches that share ids wait for each other instead of deadlocking.
    body = "".join(map(_copy_line, sorted(rows)))
    table = Prediction._meta.db_table
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN", io.StringIO(body)
                )
            return {row[0] for row in rows}
        except connection.Database.IntegrityError:
            pass  # some id exists already: sort them out below
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING_TABLE} ("
            "prediction_id text, model_version text, timestamp timestamptz, "
            "predicted_outcome integer, confidence double precision, features jsonb, "
            "metadata jsonb, actual_outcome integer, actual_outcome_timestamp timestamptz, "
            "latency_ms double precision)"
        )
        cursor.cursor.copy_expert(
            f"COPY {_STAGING_TABLE} ({columns}) FROM STDIN", io.StringIO(body)
        )
        cursor.execute(
            f"WITH staged AS (DELETE FROM {_STAGING_TABLE} RETURNING {columns}) "
            f"INSERT INTO {table} ({columns}) "
            f"SELECT {columns} FROM staged "
            "ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id"
        )
        return {r[0] for r in cursor.fetchall()}


def _stored_rows(prediction_ids: list[str]) -> dict[str, dict]:
    stored = {}
    fields = ("prediction_id", *COMPARED_ALWAYS, *COMPARED_WHEN_SENT)
    for start in range(0, len(prediction_ids), _IDS_PER_QUERY):
        chunk = prediction_ids[start : start + _IDS_PER_QUERY]
        for values in Prediction.objects.filter(prediction_id__in=chunk).values(*fields):
            stored[values["prediction_id"]] = values
    return stored


def ingest_predictions(items: list[dict]) -> IngestResult:
    """Store a batch, all or nothing; identical re-sends count as duplicates.

    Raises IngestValidationError (nothing stored) or IngestConflict (nothing stored).
    """
    now = timezone.now()
    errors: dict[int, dict[str, str]] = {}
    first_seen: dict[str, tuple[dict, dict]] = {}
    to_insert: list[tuple] = []
    in_batch_duplicates = 0
    conflicts: list[str] = []
    for index, raw in enumerate(items):
        row, item_errors, texts = _clean(raw, now)
        if item_errors:
            errors[index] = item_errors
            continue
        if errors:
            continue  # the batch is lost anyway: only keep collecting errors
        key = row["prediction_id"]
        earlier = first_seen.get(key)
        if earlier is not None:
            if _same_content(earlier[0], row, raw):
                in_batch_duplicates += 1
            elif key not in conflicts:
                conflicts.append(key)
            continue
        first_seen[key] = (row, raw)
        to_insert.append(
            (
                key,
                row["model_version"],
                row["timestamp"],
                row["predicted_outcome"],
                row["confidence"],
                texts["features"],
                texts["metadata"],
                row["actual_outcome"],
                row["actual_outcome_timestamp"],
                row["latency_ms"],
            )
        )
    if errors:
        raise IngestValidationError(errors)
    if conflicts:
        raise IngestConflict(conflicts)

    with transaction.atomic():
        inserted = _insert_rows(to_insert)
        skipped = [key for key in first_seen if key not in inserted]
        if skipped:
            stored = _stored_rows(skipped)
            conflicts = [
                key
                for key in skipped
                if key in stored and not _same_content(stored[key], *first_seen[key])
            ]
            if conflicts:
                raise IngestConflict(conflicts)  # rolls the inserts back
        rollups.add_predictions(inserted)
    return IngestResult(created=len(inserted), duplicates=len(items) - len(inserted))


# --- outcomes -----------------------------------------------------------------------------


def _evaluation(prediction: dict) -> dict:
    """The legacy library's evaluation dict for a prediction with its outcome."""
    correct = prediction["predicted_outcome"] == prediction["actual_outcome"]
    return {
        "prediction_id": prediction["prediction_id"],
        "model_version": prediction["model_version"],
        "predicted": prediction["predicted_outcome"],
        "actual": prediction["actual_outcome"],
        "correct": correct,
        "confidence": prediction["confidence"],
        "calibration_error": abs(prediction["confidence"] - (1.0 if correct else 0.0)),
        "timestamp": prediction["timestamp"].timestamp(),
    }


def record_outcome(prediction_id: str, actual_outcome: int, now: datetime | None = None):
    """Store the ground truth of one prediction; the legacy evaluation dict, or None.

    Raises IngestValidationError when ``actual_outcome`` is not an integer.
    """
    try:
        actual_outcome = clean_outcome(actual_outcome)
    except _Invalid as exc:
        raise IngestValidationError({0: {"actual_outcome": str(exc)}}) from None
    try:
        _clean_text(prediction_id, MAX_PREDICTION_ID)
    except _Invalid:
        return None  # no prediction can have this id (e.g. a NUL from a URL)
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Prediction.objects.select_for_update()
            .filter(prediction_id=prediction_id)
            .values_list("pk", "actual_outcome")
            .first()
        )
        if locked is None:
            return None
        rollups.change_outcomes([(*locked, actual_outcome)])
        Prediction.objects.filter(pk=locked[0]).update(
            actual_outcome=actual_outcome, actual_outcome_timestamp=now
        )
        prediction = Prediction.objects.filter(prediction_id=prediction_id).values(
            "prediction_id", "model_version", "predicted_outcome", "actual_outcome",
            "confidence", "timestamp",
        ).get()
    return _evaluation(prediction)


def validate_outcome_item(raw: object) -> tuple[tuple[str, int] | None, dict]:
    """One ``{prediction_id, actual_outcome}`` item: ((id, outcome), {}) or (None, errors)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": "Must be a JSON object."}
    errors = {}
    prediction_id = outcome = None
    for field in ("prediction_id", "actual_outcome"):
        if raw.get(field) is None:
            errors[field] = "This field is required."
    if "prediction_id" not in errors:
        try:
            prediction_id = _clean_text(raw["prediction_id"], MAX_PREDICTION_ID)
        except _Invalid as exc:
            errors["prediction_id"] = str(exc)
    if "actual_outcome" not in errors:
        try:
            outcome = clean_outcome(raw["actual_outcome"])
        except _Invalid as exc:
            errors["actual_outcome"] = str(exc)
    if errors:
        return None, errors
    return (prediction_id, outcome), {}


def record_outcomes(items: list[dict], now: datetime | None = None) -> dict:
    """Store many outcomes at once, all or nothing: ``{"updated": n, "not_found": [ids]}``.

    An id sent twice keeps its last outcome. One UPDATE per distinct outcome value (and
    per few thousand ids), never one per row. Raises IngestValidationError.
    """
    errors: dict[int, dict[str, str]] = {}
    outcomes: dict[str, int] = {}
    for index, raw in enumerate(items):
        pair, item_errors = validate_outcome_item(raw)
        if item_errors:
            errors[index] = item_errors
        else:
            outcomes[pair[0]] = pair[1]
    if errors:
        raise IngestValidationError(errors)
    now = now or timezone.now()
    ids = list(outcomes)
    with transaction.atomic():
        found = set()
        changes = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            # Locked in id order, so that two batches sharing ids never deadlock.
            for prediction_id, pk, old in (
                Prediction.objects.select_for_update()
                .filter(prediction_id__in=ids[start : start + _IDS_PER_QUERY])
                .order_by("pk")
                .values_list("prediction_id", "pk", "actual_outcome")
            ):
                found.add(prediction_id)
                changes.append((pk, old, outcomes[prediction_id]))
        rollups.change_outcomes(changes)
        by_outcome: dict[int, list[str]] = {}
        for prediction_id in ids:
            if prediction_id in found:
                by_outcome.setdefault(outcomes[prediction_id], []).append(prediction_id)
        for outcome, outcome_ids in by_outcome.items():
            for start in range(0, len(outcome_ids), _IDS_PER_QUERY):
                Prediction.objects.filter(
                    prediction_id__in=outcome_ids[start : start + _IDS_PER_QUERY]
                ).update(actual_outcome=outcome, actual_outcome_timestamp=now)
    return {"updated": len(found), "not_found": [i for i in ids if i not in found]}
