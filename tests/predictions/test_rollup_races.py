"""8 writers racing into the same hours on PostgreSQL leave the hourly sums exact."""
import random
import threading

import pytest
from django.db import connection

from predictions.outcomes import record_outcome, record_outcomes
from predictions.rollups import rebuild
from predictions.storage import ingest_predictions

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

WRITERS = 8
HOURS = ["2026-11-24T10:%02d:00Z", "2026-11-24T11:%02d:00Z"]


def _writer(index: int, barrier: threading.Barrier, failures: list) -> None:
    rng = random.Random(index)
    try:
        barrier.wait()
        for round_ in range(6):
            batch = [
                {"prediction_id": f"w{index}-{round_}-{k}", "model_version": "v1",
                 "predicted_outcome": rng.randint(0, 1), "confidence": rng.random(),
                 "timestamp": rng.choice(HOURS) % rng.randrange(60),
                 **({"actual_outcome": 1} if k % 3 == 0 else {})}
                for k in range(40)
            ]
            ingest_predictions(batch)
            # Re-send part of the batch (duplicates must not count; only items sent
            # without a label, which a neighbour may have labelled since) and label
            # predictions that other writers are labelling at the same time.
            ingest_predictions([item for item in batch[:10] if "actual_outcome" not in item])
            shared = [f"w{(index + 1) % WRITERS}-{round_}-{k}" for k in range(20)]
            record_outcomes([
                {"prediction_id": pid, "actual_outcome": rng.randint(0, 1)} for pid in shared
            ])
            record_outcome(f"w{index}-{round_}-1", rng.randint(0, 1))
    except Exception as exc:  # reported by the test
        failures.append(exc)
    finally:
        connection.close()


def test_racing_ingest_and_outcomes_into_the_same_hours_stay_exact():
    barrier = threading.Barrier(WRITERS)
    failures: list = []
    threads = [
        threading.Thread(target=_writer, args=(i, barrier, failures)) for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    report = rebuild()
    assert report.prediction_hours >= 2
    assert report.differences == []
