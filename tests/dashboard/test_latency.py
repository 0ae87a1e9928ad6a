"""Latency p95 per bucket: the nearest rank of §8 in every bucket of a series, as numpy."""
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from predictions.latency import latency_p95_series
from predictions.models import Prediction
from predictions.series import SeriesError
from tests.conftest import store_predictions

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC)


def seed(rng):
    rows, kept = [], []
    for i in range(900):
        # Three days, with the second day's hours 0–5 left empty.
        at = START + timedelta(minutes=int(rng.integers(0, 3 * 24 * 60)))
        if START + timedelta(days=1) <= at < START + timedelta(days=1, hours=6):
            continue
        latency = None if i % 7 == 0 else float(rng.choice([5.0, 12.5, 40.0, rng.gamma(2, 30)]))
        rows.append(Prediction(prediction_id=f"lat-{i}", model_version="v1", timestamp=at,
                               predicted_outcome=1, confidence=0.7, latency_ms=latency))
        kept.append((at, latency))
    # Another version beside it, with huge latencies that must not leak in.
    rows += [Prediction(prediction_id=f"other-{i}", model_version="v2",
                        timestamp=START + timedelta(hours=i), predicted_outcome=0,
                        confidence=0.6, latency_ms=10_000.0) for i in range(40)]
    store_predictions(rows)
    return kept


@pytest.mark.parametrize("step,hours", [("1h", 1), ("6h", 6), ("1d", 24)])
def test_p95_per_bucket_equals_numpy_nearest_rank(step, hours):
    kept = seed(np.random.default_rng(3))
    # A start inside a bucket: the first bucket still begins at its aligned start.
    start, end = START + timedelta(minutes=20), START + timedelta(days=3)
    points = latency_p95_series("v1", start, end, step)
    assert len(points) == 72 // hours
    bucket = timedelta(hours=hours)
    for at, value in points:
        latencies = [lat for t, lat in kept if at <= t < at + bucket and lat is not None]
        if not latencies:
            assert value is None, at
        else:
            expected = np.percentile(latencies, 95, method="inverted_cdf")
            assert value == pytest.approx(float(expected), abs=1e-12), (at, len(latencies))
    assert any(value is None for _, value in points) == (step == "1h" or step == "6h")


def test_ranks_exactly_on_bucket_sizes_where_095n_is_whole():
    # n = 20 and n = 100: the 19th and 95th values, not the next ones.
    rows = []
    for n, hour in ((20, 0), (100, 1), (1, 2)):
        rows += [Prediction(prediction_id=f"n{n}-{i}", model_version="v1",
                            timestamp=START + timedelta(hours=hour, seconds=i),
                            predicted_outcome=1, confidence=0.8, latency_ms=float(i + 1))
                 for i in range(n)]
    store_predictions(rows)
    points = latency_p95_series("v1", START, START + timedelta(hours=4), "1h")
    assert [value for _, value in points] == [19.0, 95.0, 1.0, None]


def test_unknown_step_is_refused():
    with pytest.raises(SeriesError):
        latency_p95_series("v1", START, START + timedelta(hours=1), "2h")
