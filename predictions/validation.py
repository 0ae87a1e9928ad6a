"""What a valid prediction and a valid outcome are (SPEC §3), said once.

``PREDICTION_FIELDS`` describes each field a client may send (type, required, bounds,
length, meaning). The validator below reads it, and so does the OpenAPI schema
(``predictions.api.serializers`` builds ``PredictionInputSerializer`` from it), so the two
cannot drift apart. One validator serves the REST API, the legacy tracker and the legacy
importer; messages name the problem, keyed by field.

Valid batches are stored by ``predictions.storage``; the JSON text of features and
metadata is made here, once, while checking them, and stored as it is.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from predictions.models import Prediction

MAX_PREDICTION_ID = Prediction._meta.get_field("prediction_id").max_length
MAX_MODEL_VERSION = Prediction._meta.get_field("model_version").max_length
# Outcomes are stored in a 32-bit integer column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# The kinds of value a field holds.
TEXT, INTEGER, NUMBER, OBJECT, TIMESTAMP = "text", "integer", "number", "object", "timestamp"


@dataclass(frozen=True)
class FieldSpec:
    """One input field: what the validator checks and what the schema documents.

    An optional field may be absent or null. ``only_with`` names a field without which
    this one is checked but not stored (an outcome's time means nothing without the outcome).
    """

    name: str
    kind: str
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    description: str = ""
    only_with: str | None = None


PREDICTION_FIELDS = (
    FieldSpec("prediction_id", TEXT, required=True, max_length=MAX_PREDICTION_ID,
              description="The client's id of the prediction; unique."),
    FieldSpec("model_version", TEXT, required=True, max_length=MAX_MODEL_VERSION),
    FieldSpec("predicted_outcome", INTEGER, required=True, min_value=INT_MIN,
              max_value=INT_MAX, description="The predicted class."),
    FieldSpec("confidence", NUMBER, required=True, min_value=0.0, max_value=1.0),
    FieldSpec("features", OBJECT, description="A JSON object."),
    FieldSpec("metadata", OBJECT, description="A JSON object."),
    FieldSpec("timestamp", TIMESTAMP,
              description="ISO 8601 (naive means UTC) or epoch seconds as a number; default now."),
    FieldSpec("latency_ms", NUMBER, min_value=0.0),
    FieldSpec("actual_outcome", INTEGER, min_value=INT_MIN, max_value=INT_MAX,
              description="The true class, when already known."),
    FieldSpec("actual_outcome_timestamp", TIMESTAMP, only_with="actual_outcome",
              description="When the outcome was known (with actual_outcome); default now."),
)
PREDICTION_FIELD = {spec.name: spec for spec in PREDICTION_FIELDS}
# An outcome sent later: the prediction's id and the true class, both required.
OUTCOME_FIELDS = (
    PREDICTION_FIELD["prediction_id"],
    replace(PREDICTION_FIELD["actual_outcome"], required=True, description=""),
)
REQUIRED = tuple(spec.name for spec in PREDICTION_FIELDS if spec.required)

# One encoder for every features/metadata object: compact, no NaN/Infinity (not JSON, and
# PostgreSQL's jsonb refuses them). The text it makes is what gets stored.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class IngestValidationError(Exception):
    """Some items are invalid: ``errors`` maps each bad item's index to {field: message}."""

    def __init__(self, errors: dict[int, dict[str, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid item(s); nothing was stored")


class InvalidValue(Exception):
    """A value a field cannot take; the message says why, for the client."""


# --- one value ------------------------------------------------------------------------------


def is_number(value) -> bool:
    """A JSON number: int or float, not a bool (bool is an int subclass)."""
    return type(value) in (int, float)


def finite_float(value) -> float:
    """A finite number as a float; raises InvalidValue for anything else (bool, NaN, ±inf)."""
    if not is_number(value):
        raise InvalidValue("Must be a number.")
    try:
        value = float(value)
    except OverflowError:
        raise InvalidValue("Must be a finite number.") from None
    if not math.isfinite(value):
        raise InvalidValue("Must be a finite number.")
    return value


def clean_text(value, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue("Must be a string.")
    if not value:
        raise InvalidValue("Must not be empty.")
    if len(value) > max_length:
        raise InvalidValue(f"Must be at most {max_length} characters.")
    if "\x00" in value:
        raise InvalidValue("Must not contain NUL characters.")
    if not _utf8(value):
        raise InvalidValue("Must be valid Unicode text.")
    return value


def clean_integer(value, min_value=INT_MIN, max_value=INT_MAX) -> int:
    """An integer (not a bool), or a float with an integral value, within the bounds."""
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise InvalidValue("Must be an integer.")
    if not min_value <= value <= max_value:
        if (min_value, max_value) == (INT_MIN, INT_MAX):
            raise InvalidValue("Must fit in a 32-bit integer.")
        raise InvalidValue(f"Must be between {min_value} and {max_value}.")
    return value


def clean_outcome(value) -> int:
    """An outcome class: a 32-bit integer."""
    return clean_integer(value)


def clean_number(value, min_value=None, max_value=None) -> float:
    value = finite_float(value)
    if min_value is not None and max_value is not None:
        if not min_value <= value <= max_value:
            raise InvalidValue(f"Must be between {min_value:g} and {max_value:g}.")
    elif min_value is not None and value < min_value:
        raise InvalidValue(
            "Must not be negative." if min_value == 0 else f"Must be at least {min_value:g}."
        )
    elif max_value is not None and value > max_value:
        raise InvalidValue(f"Must be at most {max_value:g}.")
    return value


def clean_timestamp(value) -> datetime:
    """ISO 8601 text or epoch seconds → an aware UTC datetime (naive text is UTC)."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif is_number(value):
            if not math.isfinite(value):
                raise InvalidValue("Must be a finite number of epoch seconds.")
            return datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)  # the common case, fast
            except ValueError:
                moment = parse_datetime(value.strip())
            if moment is None:
                raise InvalidValue("Must be an ISO 8601 date-time or epoch seconds.")
        else:
            raise InvalidValue("Must be an ISO 8601 date-time or epoch seconds.")
        if moment.tzinfo is None or moment.utcoffset() is None:
            return moment.replace(tzinfo=UTC)
        if moment.tzinfo is UTC:
            return moment
        return moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidValue("Must be a valid date-time within years 1–9999.") from None


def json_object_text(value) -> str:
    """A JSON object as the text it is stored as (no NaN, no NUL, valid Unicode)."""
    if not isinstance(value, dict):
        raise InvalidValue("Must be a JSON object.")
    try:
        text = _ENCODER.encode(value)
        if "\\u0000" in text and _contains_nul(value):
            raise InvalidValue("Must not contain NUL characters.")
    except ValueError:
        raise InvalidValue("Must not contain NaN or Infinity.") from None
    except TypeError:
        raise InvalidValue("Must contain only JSON values.") from None
    except RecursionError:
        raise InvalidValue("Is nested too deeply.") from None
    if not _utf8(text):
        raise InvalidValue("Must be valid Unicode text.")
    return text


def json_object_problem(value) -> str | None:
    """Why ``value`` cannot be stored as a JSON object, or None when it can."""
    try:
        json_object_text(value)
    except InvalidValue as exc:
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


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_value(spec: FieldSpec, value):
    """``value`` checked against ``spec`` (present and not null); raises InvalidValue."""
    if spec.kind == TEXT:
        return clean_text(value, spec.max_length)
    if spec.kind == INTEGER:
        return clean_integer(value, spec.min_value, spec.max_value)
    if spec.kind == NUMBER:
        return clean_number(value, spec.min_value, spec.max_value)
    if spec.kind == TIMESTAMP:
        return clean_timestamp(value)
    json_object_text(value)
    return value


# --- one prediction ---------------------------------------------------------------------------


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


def _fast_clean(raw: dict, now: datetime) -> tuple[dict, dict] | None:
    """The common, valid item checked inline: (row, texts), or None for the full check.

    Written out by hand because it is the ingest hot loop; accepts only what
    ``_full_clean`` accepts (the tests hold it to that) and builds the same row; anything
    unusual (an error, a float class, a non-UTC offset, …) goes to the full check, which
    also writes the messages.
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
    if get("actual_outcome_timestamp") is not None:
        return None  # the full path checks it (even when no outcome comes with it)
    if actual is not None:
        if type(actual) is not int or not INT_MIN <= actual <= INT_MAX:
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


def _full_clean(raw, now: datetime) -> tuple[dict | None, dict, dict | None]:
    """Every check of ``PREDICTION_FIELDS``, with a message for each field that fails."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": "Must be a JSON object."}, None
    errors: dict[str, str] = {}
    row: dict = {}
    texts: dict[str, str] = {}
    for spec in PREDICTION_FIELDS:
        name = spec.name
        value = raw.get(name)
        if spec.only_with is not None and raw.get(spec.only_with) is None:
            if value is not None:  # meaningless alone, so not stored; still a valid value
                try:
                    clean_value(spec, value)
                except InvalidValue as exc:
                    errors[name] = str(exc)
            value = None
        elif value is None:
            if spec.required:
                errors[name] = "This field is required."
                continue
            if spec.kind == TIMESTAMP:
                value = now  # the default time: when the item arrived
        if value is None:
            row[name] = {} if spec.kind == OBJECT else None
            if spec.kind == OBJECT:
                texts[name] = "{}"
            continue
        try:
            if spec.kind == OBJECT:
                texts[name] = json_object_text(value)
                row[name] = value
            else:
                row[name] = clean_value(spec, value)
        except InvalidValue as exc:
            errors[name] = str(exc)
    if errors:
        return None, errors, None
    return row, {}, texts


def clean_prediction(raw, now: datetime) -> tuple[dict | None, dict, dict | None]:
    """(row, {}, JSON texts of features/metadata), or (None, {field: message}, None).

    ``now`` stands in for an absent timestamp (and an outcome's absent time).
    """
    if type(raw) is dict:
        fast = _fast_clean(raw, now)
        if fast is not None:
            return fast[0], {}, fast[1]
    return _full_clean(raw, now)


def validate_prediction(raw: object, index: int | None = None) -> tuple[dict | None, dict]:
    """Check one raw prediction: (row ready for ``Prediction(**row)``, {}) or (None, errors).

    ``index`` is only a label for callers that keep track of positions; errors are
    ``{field: message}``.
    """
    row, errors, _texts = clean_prediction(raw, timezone.now())
    return row, errors


# --- one outcome ------------------------------------------------------------------------------


def validate_outcome_item(raw: object) -> tuple[tuple[str, int] | None, dict]:
    """One ``{prediction_id, actual_outcome}`` item: ((id, outcome), {}) or (None, errors)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": "Must be a JSON object."}
    errors, values = {}, []
    for spec in OUTCOME_FIELDS:
        value = raw.get(spec.name)
        if value is None:
            errors[spec.name] = "This field is required."
            continue
        try:
            values.append(clean_value(spec, value))
        except InvalidValue as exc:
            errors[spec.name] = str(exc)
    if errors:
        return None, errors
    return (values[0], values[1]), {}
