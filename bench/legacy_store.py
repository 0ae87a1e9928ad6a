"""The legacy file store's cost for the metric work: read every line, parse, filter, compute.

This is what the file-based library did for ``get_performance_metrics``: it opened
``predictions.jsonl``, ``json.loads``-ed each line, kept the records of the version in the
window, and computed the figures in Python. (Kindly, here with NumPy for the statistics.)
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench import data


def write_file(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for row in data.rows(n, prefix="legacy"):
            f.write(data.as_legacy_line(row))
            f.write("\n")
    return path


def performance_metrics(path: Path, model_version: str, window_minutes: int) -> dict:
    cutoff = (datetime.now(UTC) - timedelta(minutes=window_minutes)).timestamp()
    confidences = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["model_version"] == model_version and record["timestamp"] >= cutoff:
                confidences.append(record["confidence"])
    if not confidences:
        return {}
    values = np.asarray(confidences)
    return {
        "num_predictions": len(values),
        "avg_confidence": float(values.mean()),
        "min_confidence": float(values.min()),
        "max_confidence": float(values.max()),
        "confidence_std": float(values.std(ddof=1)) if len(values) > 1 else None,
    }


def time_scan(path: Path, model_version: str, window_minutes: int) -> dict:
    started = time.perf_counter()
    result = performance_metrics(path, model_version, window_minutes)
    return {"seconds": time.perf_counter() - started,
            "num_predictions": result.get("num_predictions", 0)}
