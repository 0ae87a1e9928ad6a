"""Concurrent batches on PostgreSQL: each prediction stored once, no request fails."""
import pytest

from predictions.models import Prediction
from predictions.storage import IngestConflict, ingest_predictions
from tests.races import race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def item(n, confidence=0.5):
    return {"prediction_id": f"race-{n}", "model_version": "v1", "predicted_outcome": 1,
            "confidence": confidence, "timestamp": "2026-11-24T10:00:00Z"}


def run_concurrently(*batches):
    return race(ingest_predictions, batches, allow_errors=True)


def test_the_same_batch_sent_twice_at_once_is_stored_once():
    batch = [item(n) for n in range(300)]
    first, second = run_concurrently(batch, list(reversed(batch)))
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert first.created + second.created == 300
    assert first.duplicates + second.duplicates == 300
    assert Prediction.objects.count() == 300


def test_overlapping_batches_with_a_conflict_leave_one_consistent_result():
    shared = [item(n) for n in range(100)]
    one = shared + [item(n) for n in range(100, 200)]
    other = [item(0, confidence=0.9)] + shared[1:] + [item(n) for n in range(200, 300)]
    outcomes = run_concurrently(one, other)
    conflicts = [o for o in outcomes if isinstance(o, IngestConflict)]
    stored = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(conflicts) == 1 and len(stored) == 1, outcomes
    assert Prediction.objects.count() == 200
