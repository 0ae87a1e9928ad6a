"""Deterministic synthetic predictions, in every shape the benchmarks feed to a database.

One generator makes the rows; the writers turn them into PostgreSQL COPY text, tuples for
``executemany``/``execute_values``, JSON request bodies and legacy JSONL lines, so every
contender ingests the same data.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

VERSIONS = [f"v{i}" for i in range(1, 11)]
COLUMNS = (
    "prediction_id", "model_version", "timestamp", "predicted_outcome", "confidence",
    "features", "metadata", "actual_outcome", "actual_outcome_timestamp", "latency_ms",
)


@dataclass(frozen=True)
class Row:
    prediction_id: str
    model_version: str
    timestamp: datetime
    predicted_outcome: int
    confidence: float
    features: dict
    metadata: dict
    actual_outcome: int | None
    actual_outcome_timestamp: datetime | None
    latency_ms: float


def rows(
    n: int,
    *,
    prefix: str = "p",
    seed: int = 1,
    end: datetime | None = None,
    span: timedelta = timedelta(days=30),
    labelled_share: float = 0.5,
    chunk: int = 100_000,
) -> Iterator[Row]:
    """n predictions over 10 versions, spread evenly over `span` ending at `end` (now).

    About `labelled_share` of them carry an outcome (correct 80 % of the time, so the
    metrics are not degenerate).
    """
    end = end or datetime.now(UTC)
    start = end - span
    step = span / max(n, 1)
    rng = np.random.default_rng(seed)
    for base in range(0, n, chunk):
        size = min(chunk, n - base)
        predicted = rng.integers(0, 2, size)
        confidence = np.round(rng.uniform(0.5, 1.0, size), 6)
        labelled = rng.random(size) < labelled_share
        correct = rng.random(size) < 0.8
        latency = np.round(rng.gamma(2.0, 10.0, size), 3)
        x = np.round(rng.normal(0.0, 1.0, size), 4)
        y = np.round(rng.uniform(0.0, 100.0, size), 2)
        cat = rng.integers(0, 5, size)
        for k in range(size):
            i = base + k
            ts = start + step * i
            outcome = None
            outcome_ts = None
            if labelled[k]:
                outcome = int(predicted[k]) if correct[k] else 1 - int(predicted[k])
                outcome_ts = ts + timedelta(minutes=5)
            yield Row(
                prediction_id=f"{prefix}{i:08d}",
                model_version=VERSIONS[i % len(VERSIONS)],
                timestamp=ts,
                predicted_outcome=int(predicted[k]),
                confidence=float(confidence[k]),
                features={"x": float(x[k]), "y": float(y[k]), "segment": f"s{cat[k]}"},
                metadata={"source": "bench"},
                actual_outcome=outcome,
                actual_outcome_timestamp=outcome_ts,
                latency_ms=float(latency[k]),
            )


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def copy_text(rows_: Iterator[Row]) -> Iterator[str]:
    """PostgreSQL COPY text lines (tab-separated, \\N for NULL) in COLUMNS order."""
    for row in rows_:
        yield "\t".join(_copy_value(getattr(row, c)) for c in COLUMNS) + "\n"


def as_tuple(row: Row, *, json_text: bool = True) -> tuple:
    """A row as parameters for INSERT … (COLUMNS)."""
    return tuple(
        json.dumps(v, separators=(",", ":")) if json_text and isinstance(v, dict) else v
        for v in (getattr(row, c) for c in COLUMNS)
    )


def as_api_item(row: Row) -> dict:
    """A row as the ingestion API takes it (POST predictions/)."""
    item = {
        "prediction_id": row.prediction_id,
        "model_version": row.model_version,
        "timestamp": row.timestamp.isoformat(),
        "predicted_outcome": row.predicted_outcome,
        "confidence": row.confidence,
        "features": row.features,
        "metadata": row.metadata,
        "latency_ms": row.latency_ms,
    }
    if row.actual_outcome is not None:
        item["actual_outcome"] = row.actual_outcome
    return item


def as_legacy_line(row: Row) -> str:
    """A row as the legacy library appended it to predictions.jsonl."""
    return json.dumps(
        {
            "timestamp": row.timestamp.timestamp(),
            "model_version": row.model_version,
            "prediction_id": row.prediction_id,
            "predicted_outcome": row.predicted_outcome,
            "confidence": row.confidence,
            "features": row.features,
            "metadata": row.metadata,
        }
    )


class IterFile:
    """A read()-able file over an iterator of strings (streams COPY without a temp file)."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        if size is None or size < 0:
            return self._buffer + "".join(self._lines)
        while len(self._buffer) < size:
            try:
                self._buffer += next(self._lines)
            except StopIteration:
                break
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (the ⌈p·n⌉-th smallest)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
