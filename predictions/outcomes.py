"""Record the ground truth of stored predictions, one or many at once (SPEC §3)."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
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

    An id sent twice keeps its last outcome. One UPDATE per distinct outcome value (and
    per few thousand ids), never one per row. ``strict`` (default:
    MONITORING_INGEST_STRICT) makes an unknown key an error. Raises IngestValidationError.
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
