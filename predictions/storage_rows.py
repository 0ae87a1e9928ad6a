"""One prediction as the write path stores it: its column values and its COPY line.

``row_values`` is what every write path (``predictions.storage``) takes: the validated
row's columns, then its packed features (``predictions.feature_pack``).
"""
from __future__ import annotations

import json

from predictions.feature_pack import pack_features

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
# What a write stores: the columns above, then the packed numeric features (feature_pack).
WRITE_COLUMNS = (*COLUMNS, "feature_layout_id", "numeric_features", "other_features")
LAYOUT = len(COLUMNS)  # where a row's values hold its layout


def row_values(row: dict, texts: dict) -> tuple:
    """A validated row (and its features/metadata JSON texts) as column values, in
    WRITE_COLUMNS order (the layout as a ``feature_pack.Layout``): what every write path
    takes."""
    return (
        row["prediction_id"],
        row["model_version"],
        row["timestamp"],
        row["predicted_outcome"],
        row["confidence"],
        texts["features"],
        texts["metadata"],
        row["actual_outcome"],
        row["actual_outcome_timestamp"],
        row["latency_ms"],
        *pack_features(row["features"]),
    )


def without_layout(values: tuple) -> tuple:
    """The row unpacked (its layout's key clashed with another's; feature_pack)."""
    return (*values[:LAYOUT], None, None, None)


def row_of(values: tuple) -> dict:
    """The row a ``row_values`` tuple stands for (features and metadata as objects again)."""
    row = dict(zip(COLUMNS, values[: len(COLUMNS)], strict=True))
    row["features"] = json.loads(row["features"])
    row["metadata"] = json.loads(row["metadata"])
    return row


# COPY text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_BYTEA = "\\\\x"  # a bytea's text form starts with \x; COPY text escapes the backslash


def copy_line(values: tuple) -> str:
    """One row (``row_values``) in COPY text format (a function per row, not per value:
    it is the hot loop)."""
    (prediction_id, model_version, timestamp, predicted, confidence, features, metadata,
     actual, actual_at, latency, layout, packed, others) = values
    return (
        f"{prediction_id.translate(_COPY_ESCAPES)}\t{model_version.translate(_COPY_ESCAPES)}\t"
        f"{timestamp.isoformat()}\t{predicted}\t{confidence!r}\t"
        f"{features.translate(_COPY_ESCAPES)}\t{metadata.translate(_COPY_ESCAPES)}\t"
        f"{_NULL if actual is None else actual}\t"
        f"{_NULL if actual_at is None else actual_at.isoformat()}\t"
        f"{_NULL if latency is None else repr(latency)}\t"
        f"{_NULL if layout is None else layout.key}\t"
        f"{_NULL if packed is None else _BYTEA + packed.hex()}\t"
        f"{_NULL if others is None else others.translate(_COPY_ESCAPES)}\n"
    )
