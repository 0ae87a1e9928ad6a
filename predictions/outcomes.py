"""Record the ground truth of stored predictions, one or many at once (SPEC §3)."""
from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from predictions import rollups
from predictions.models import Prediction
from predictions.unknown_fields import has_unknown, ingest_is_strict, unknown_field_errors
from predictions.validation import (
    MAX_PREDICTION_ID,
    OUTCOME_FIELDS,
    IngestValidationError,
    InvalidValue,
    clean_outcome,
    clean_text,
    validate_outcome_item,
)

_IDS_PER_QUERY = 5000
OUTCOME_KEYS = {spec.name: spec for spec in OUTCOME_FIELDS}.keys()
_PREDICTIONS = Prediction._meta.db_table


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
    except InvalidValue as exc:
        raise IngestValidationError({0: {"actual_outcome": str(exc)}}) from None
    try:
        clean_text(prediction_id, MAX_PREDICTION_ID)
    except InvalidValue:
        return None  # no prediction can have this id (e.g. a NUL from a URL)
    now = now or timezone.now()
    with transaction.atomic():
        # Locked: the aggregates move the prediction from its old label's cell, which a
        # concurrent relabel must not change underneath.
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


def record_outcomes(
    items: list[dict], now: datetime | None = None, strict: bool | None = None
) -> dict:
    """Store many outcomes at once, all or nothing: ``{"updated": n, "not_found": [ids]}``.

    An id sent twice keeps its last outcome. One statement per few thousand ids on
    PostgreSQL, one UPDATE per distinct outcome value elsewhere; never one per row.
    ``strict`` (default: MONITORING_INGEST_STRICT) makes an unknown key an error.
    Raises IngestValidationError.
    """
    strict = ingest_is_strict() if strict is None else strict
    errors: dict[int, dict[str, str]] = {}
    outcomes: dict[str, int] = {}
    for index, raw in enumerate(items):
        pair, item_errors = validate_outcome_item(raw)
        if strict and has_unknown(raw, OUTCOME_KEYS):
            item_errors = {**unknown_field_errors(raw, OUTCOME_KEYS, index), **item_errors}
        if item_errors:
            errors[index] = item_errors
        else:
            outcomes[pair[0]] = pair[1]
    if errors:
        raise IngestValidationError(errors)
    now = now or timezone.now()
    ids = list(outcomes)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            found = _set_outcomes_postgres(outcomes, now)
        else:
            found = _set_outcomes(outcomes, now)
    return {"updated": len(found), "not_found": [i for i in ids if i not in found]}


# One statement per chunk: lock the rows in id order (two batches sharing ids never
# deadlock), set their labels, and move them between the OutcomeHour cells from what the
# UPDATE returns — one index probe per id instead of one per step, one round trip.
_SET_OUTCOMES = (
    "WITH sent (prediction_id, outcome) AS (SELECT * FROM unnest(%s::text[], %s::int[])), "
    "locked AS (SELECT p.id, p.actual_outcome AS old_outcome, s.outcome AS new_outcome "
    f"FROM {_PREDICTIONS} p JOIN sent s ON s.prediction_id = p.prediction_id "
    "ORDER BY p.id FOR UPDATE OF p), "
    f"relabelled AS (UPDATE {_PREDICTIONS} p SET actual_outcome = l.new_outcome, "
    "actual_outcome_timestamp = %s FROM locked l WHERE p.id = l.id RETURNING p.prediction_id, "
    "p.model_version, p.timestamp AS ts, p.predicted_outcome, p.confidence, p.latency_ms, "
    "l.old_outcome, l.new_outcome), "
    f"moved AS ({rollups.relabel_sql('relabelled')}) "
    "SELECT prediction_id FROM relabelled"
)


def _set_outcomes_postgres(outcomes: dict[str, int], now: datetime) -> set[str]:
    ids = list(outcomes)
    found: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            cursor.execute(_SET_OUTCOMES, [chunk, [outcomes[i] for i in chunk], now])
            found.update(row[0] for row in cursor.fetchall())
    return found


def _set_outcomes(outcomes: dict[str, int], now: datetime) -> set[str]:
    """Lock, move the aggregates, then update: one UPDATE per distinct outcome value."""
    ids = list(outcomes)
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
    return found
