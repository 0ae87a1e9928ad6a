"""The ingestion service: one validator, all-or-nothing batches, idempotent re-sends."""
import math
from datetime import UTC, datetime

import pytest

from predictions.models import Prediction
from predictions.outcomes import record_outcome, record_outcomes
from predictions.storage import IngestConflict, ingest_predictions
from predictions.validation import IngestValidationError, validate_prediction


def item(n=1, **overrides):
    values = {
        "prediction_id": f"req-{n}",
        "model_version": "v1",
        "predicted_outcome": 1,
        "confidence": 0.75,
        "features": {"age": 41, "country": "FR"},
        "metadata": {"source": "test"},
        "timestamp": "2026-11-24T10:00:00Z",
    }
    values.update(overrides)
    return values


# --- the validator -----------------------------------------------------------------------


def test_validator_returns_a_row_ready_for_the_model():
    row, errors = validate_prediction(item(latency_ms=12, actual_outcome=0))
    assert errors == {}
    assert row["timestamp"] == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert row["latency_ms"] == 12.0
    assert row["actual_outcome"] == 0
    assert row["actual_outcome_timestamp"] is not None
    Prediction(**row).full_clean(validate_unique=False, validate_constraints=False)


def test_validator_accepts_epoch_seconds_and_naive_iso_as_utc():
    row, _ = validate_prediction(item(timestamp=1_700_000_000.5))
    assert row["timestamp"] == datetime.fromtimestamp(1_700_000_000.5, tz=UTC)
    row, _ = validate_prediction(item(timestamp="2026-01-02T03:04:05"))
    assert row["timestamp"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    row, _ = validate_prediction(item(timestamp="2026-01-02T03:04:05+02:00"))
    assert row["timestamp"] == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)


def test_validator_defaults():
    raw = item()
    del raw["features"], raw["metadata"], raw["timestamp"]
    row, errors = validate_prediction(raw)
    assert errors == {}
    assert row["features"] == {} and row["metadata"] == {}
    assert row["timestamp"].tzinfo is not None
    assert row["latency_ms"] is None and row["actual_outcome"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": -0.1}, "confidence"),
        ({"confidence": math.nan}, "confidence"),
        ({"confidence": math.inf}, "confidence"),
        ({"confidence": "0.5"}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"predicted_outcome": True}, "predicted_outcome"),
        ({"predicted_outcome": 1.5}, "predicted_outcome"),
        ({"predicted_outcome": "1"}, "predicted_outcome"),
        ({"predicted_outcome": 2**40}, "predicted_outcome"),
        ({"actual_outcome": False}, "actual_outcome"),
        # Not stored without an outcome, but a wrong value is still refused (was a 201).
        ({"actual_outcome_timestamp": True}, "actual_outcome_timestamp"),
        ({"actual_outcome_timestamp": "yesterday"}, "actual_outcome_timestamp"),
        ({"prediction_id": "x" * 129}, "prediction_id"),
        ({"prediction_id": ""}, "prediction_id"),
        ({"prediction_id": 12}, "prediction_id"),
        ({"prediction_id": "a\x00b"}, "prediction_id"),
        ({"prediction_id": "\ud800"}, "prediction_id"),
        ({"model_version": "v" * 65}, "model_version"),
        ({"features": [1, 2]}, "features"),
        ({"features": {"x": math.nan}}, "features"),
        ({"features": {"x": "a\x00"}}, "features"),
        ({"metadata": "note"}, "metadata"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2026-13-45T00:00:00"}, "timestamp"),
        ({"timestamp": 1e20}, "timestamp"),
        ({"timestamp": "9999-12-31T23:00:00-05:00"}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": math.nan}, "latency_ms"),
        ({"latency_ms": "fast"}, "latency_ms"),
    ],
)
def test_validator_names_the_bad_field(overrides, field):
    row, errors = validate_prediction(item(**overrides))
    assert row is None
    assert list(errors) == [field]
    assert errors[field]


def test_validator_reports_every_missing_field():
    _, errors = validate_prediction({"features": {}})
    assert set(errors) == {"prediction_id", "model_version", "predicted_outcome", "confidence"}


def test_validator_rejects_a_non_object():
    assert validate_prediction([1, 2])[1] == {"non_field_errors": "Must be a JSON object."}


def test_integral_floats_are_accepted_as_classes():
    row, errors = validate_prediction(item(predicted_outcome=1.0))
    assert errors == {} and row["predicted_outcome"] == 1


# --- batches -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_batch_is_stored_with_its_fields():
    result = ingest_predictions([item(1), item(2, latency_ms=3.5, actual_outcome=1)])
    assert (result.created, result.duplicates) == (2, 0)
    second = Prediction.objects.get(prediction_id="req-2")
    assert second.features == {"age": 41, "country": "FR"}
    assert second.latency_ms == 3.5
    assert second.actual_outcome == 1 and second.actual_outcome_timestamp is not None
    assert second.timestamp == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_identical_resend_is_a_no_op():
    ingest_predictions([item(1), item(2)])
    result = ingest_predictions([item(1), item(2), item(3)])
    assert (result.created, result.duplicates) == (1, 2)
    assert Prediction.objects.count() == 3


@pytest.mark.django_db
def test_resend_without_timestamp_is_identical_even_after_an_outcome():
    raw = item(1)
    del raw["timestamp"]
    ingest_predictions([raw])
    record_outcome("req-1", 0)
    assert ingest_predictions([raw]).duplicates == 1


@pytest.mark.django_db
def test_conflicting_resend_stores_nothing():
    ingest_predictions([item(1)])
    with pytest.raises(IngestConflict) as caught:
        ingest_predictions([item(5), item(1, confidence=0.2)])
    assert caught.value.prediction_ids == ["req-1"]
    assert list(Prediction.objects.values_list("prediction_id", flat=True)) == ["req-1"]


@pytest.mark.django_db
def test_same_id_twice_in_a_batch():
    assert ingest_predictions([item(1), item(1)]).duplicates == 1
    with pytest.raises(IngestConflict):
        ingest_predictions([item(2), item(2, predicted_outcome=0)])
    assert Prediction.objects.count() == 1


@pytest.mark.django_db
def test_invalid_item_stores_nothing_and_names_every_bad_index():
    with pytest.raises(IngestValidationError) as caught:
        ingest_predictions([item(1), item(2, confidence=1.5), item(3), "nope"])
    assert caught.value.errors == {
        1: {"confidence": "Must be between 0 and 1."},
        3: {"non_field_errors": "Must be a JSON object."},
    }
    assert Prediction.objects.count() == 0


@pytest.mark.django_db
def test_large_batch_is_a_few_queries(django_assert_max_num_queries):
    # At most three INSERTs (SQLite takes 1000 rows a statement), a savepoint, and one
    # upsert into each of the two hourly aggregate tables.
    with django_assert_max_num_queries(7):
        result = ingest_predictions([item(n) for n in range(2500)])
    assert result.created == 2500
    # A re-send: on PostgreSQL the COPY is retried through a staging table (savepoints,
    # CREATE TEMPORARY TABLE IF NOT EXISTS, INSERT … SELECT), then one SELECT of the ids
    # that were already there, and the two aggregate upserts. A handful, not one per row.
    with django_assert_max_num_queries(10):
        result = ingest_predictions([item(n) for n in range(2600)])
    assert (result.created, result.duplicates) == (100, 2500)


# --- outcomes ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_record_outcome_returns_the_legacy_evaluation():
    ingest_predictions([item(1, confidence=0.8, predicted_outcome=1)])
    evaluation = record_outcome("req-1", 0)
    assert evaluation == {
        "prediction_id": "req-1",
        "model_version": "v1",
        "predicted": 1,
        "actual": 0,
        "correct": False,
        "confidence": 0.8,
        "calibration_error": pytest.approx(0.8),
        "timestamp": datetime(2026, 11, 24, 10, 0, tzinfo=UTC).timestamp(),
    }
    stored = Prediction.objects.get(prediction_id="req-1")
    assert stored.actual_outcome == 0 and stored.actual_outcome_timestamp is not None
    assert record_outcome("req-1", 1)["calibration_error"] == pytest.approx(0.2)


@pytest.mark.django_db
def test_record_outcome_of_unknown_prediction_is_none():
    assert record_outcome("missing", 1) is None


@pytest.mark.django_db
def test_record_outcomes_in_bulk(django_assert_max_num_queries):
    ingest_predictions([item(n) for n in range(10)])
    outcomes = [{"prediction_id": f"req-{n}", "actual_outcome": n % 2} for n in range(10)]
    outcomes.append({"prediction_id": "ghost", "actual_outcome": 1})
    with django_assert_max_num_queries(6):  # the UPDATEs and one aggregate upsert
        result = record_outcomes(outcomes)
    assert result == {"updated": 10, "not_found": ["ghost"]}
    assert dict(Prediction.objects.values_list("prediction_id", "actual_outcome")) == {
        f"req-{n}": n % 2 for n in range(10)
    }


@pytest.mark.django_db
def test_record_outcomes_rejects_bad_items_and_stores_nothing():
    ingest_predictions([item(1)])
    with pytest.raises(IngestValidationError) as caught:
        record_outcomes([
            {"prediction_id": "req-1", "actual_outcome": 1},
            {"prediction_id": "req-1", "actual_outcome": "yes"},
            {"actual_outcome": 1},
        ])
    assert set(caught.value.errors) == {1, 2}
    assert Prediction.objects.get().actual_outcome is None


@pytest.mark.django_db
def test_awkward_text_round_trips():
    awkward = "tab\there, new\nline, cr\r, back\\slash, \\N, quote' \"dq\", ünïcode ✓"
    ingest_predictions([
        item(1, prediction_id="id\twith\\N", model_version="v\\1",
             features={"text": awkward, awkward: [1, None, True]}, metadata={"n": None}),
    ])
    stored = Prediction.objects.get()
    assert stored.prediction_id == "id\twith\\N"
    assert stored.model_version == "v\\1"
    assert stored.features == {"text": awkward, awkward: [1, None, True]}
    assert stored.metadata == {"n": None}
    # And an identical re-send of it is recognised as one.
    result = ingest_predictions([
        item(1, prediction_id="id\twith\\N", model_version="v\\1",
             features={"text": awkward, awkward: [1, None, True]}, metadata={"n": None}),
    ])
    assert (result.created, result.duplicates) == (0, 1)


@pytest.mark.parametrize(
    "raw",
    [
        item(1),
        item(2, latency_ms=3.5, actual_outcome=1),
        item(3, confidence=1, features=None, metadata=None, timestamp=None),
        item(4, timestamp="2026-11-24T10:00:00"),
        item(5, timestamp="2026-11-24T10:00:00+02:00"),
        item(6, timestamp=1_700_000_000),
        item(11, timestamp=1_767_225_600.123456),
        item(7, prediction_id="pré-7", features={"ville": "Orléans"}),
        item(8, predicted_outcome=1.0, latency_ms=2),
        item(9, actual_outcome=0, actual_outcome_timestamp="2026-11-24T11:00:00Z"),
        item(10, confidence=0),
        item(12, actual_outcome_timestamp="2026-11-24T11:00:00Z"),  # checked, not stored
    ],
)
def test_fast_path_builds_the_same_row_as_the_full_check(raw):
    # The inline fast path must accept only what the full check accepts, identically.
    from predictions import validation

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    fast = validation._fast_clean(raw, now)
    full_row, errors, full_texts = validation._full_clean(raw, now)
    assert errors == {}
    if fast is not None:
        assert fast == (full_row, full_texts)
    assert validation.clean_prediction(raw, now) == (full_row, {}, full_texts)


@pytest.mark.parametrize(
    "overrides",
    [
        {"confidence": math.nan}, {"confidence": 1.0000001}, {"prediction_id": "a\x00"},
        {"prediction_id": "x" * 129}, {"predicted_outcome": True}, {"features": [1]},
        {"features": {"x": math.inf}}, {"timestamp": "nope"}, {"latency_ms": -0.5},
        {"latency_ms": math.inf}, {"actual_outcome": 2**31},
        {"timestamp": math.nan}, {"timestamp": math.inf}, {"timestamp": 1e20},
        {"timestamp": True},
    ],
)
def test_fast_path_never_accepts_what_the_full_check_refuses(overrides):
    from predictions import validation

    raw = item(1, **overrides)
    assert validation._fast_clean(raw, datetime.now(UTC)) is None
    assert validation._full_clean(raw, datetime.now(UTC))[1]
