"""Turn predictions.jsonl lines into validated rows and COPY text, here or in workers.

``parse_prediction_lines`` is the one place a legacy prediction line is read: JSON, then
``predictions.validation.validate_prediction`` (the API's validator), then the COPY line for
PostgreSQL. It runs in the importing process, or, for large files on PostgreSQL, in
worker processes (``PredictionParser``), since parsing and validating in Python is what
bounds the import's speed. Nothing here imports Django models at module level: a spawned
worker sets Django up first (``init_worker``).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

logger = logging.getLogger("alerting.legacy")

# The Prediction fields a validated row carries (as Prediction(**row) takes them).
PREDICTION_FIELD_NAMES = frozenset((
    "prediction_id", "model_version", "timestamp", "predicted_outcome", "confidence",
    "features", "metadata", "actual_outcome", "actual_outcome_timestamp", "latency_ms",
))

OK, REJECT, BLANK = "ok", "reject", "blank"

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# One encoder, made once: json.dumps with options builds a new one on every call. Keys
# sorted, so that a stored row and a line with the same content give the same COPY text.
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def parse_prediction_lines(
    chunk: list[tuple[int, bytes]], keep_rows: bool = True, copy_lines: bool = False
) -> list[tuple]:
    """For each (line number, raw bytes): (OK, number, prediction_id, row or None,
    COPY line or None), (REJECT, number, reason) or (BLANK, number)."""
    from predictions.validation import validate_prediction

    parsed = []
    for number, raw in chunk:
        if not raw.strip():
            parsed.append((BLANK, number))
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            parsed.append((REJECT, number, "not UTF-8 text"))
            continue
        except ValueError as exc:
            if not raw.endswith(b"\n"):
                reason = "truncated last line (no newline at the end; not JSON)"
            else:
                reason = f"not JSON: {exc}"
            parsed.append((REJECT, number, reason))
            continue
        if not isinstance(record, dict):
            parsed.append((REJECT, number, "not a JSON object"))
            continue
        clean, errors = validate_prediction(record)
        if errors or clean is None:
            parsed.append((REJECT, number, describe_errors(errors)))
            continue
        row = prediction_row(clean, record)
        if isinstance(row, str):
            parsed.append((REJECT, number, row))
            continue
        parsed.append((
            OK, number, row["prediction_id"], row if keep_rows else None,
            copy_line(row) if copy_lines else None,
        ))
    return parsed


def prediction_row(clean: dict, record: dict) -> dict | str:
    """The validated row (the model's fields), or why the line cannot be imported."""
    if record.get("timestamp") is None:
        # The validator would say "now": a different row on every run.
        return "timestamp: This field is required."
    if clean.keys() <= PREDICTION_FIELD_NAMES:
        return clean
    return {name: value for name, value in clean.items() if name in PREDICTION_FIELD_NAMES}


def copy_text(text: str) -> str:
    """A value for COPY's text format (backslash, tab and line breaks escaped)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def copy_line(row: dict) -> str:
    """One prediction as a line of COPY text, columns in the order of the importer's
    PREDICTION_COPY_FIELDS (prediction_id … latency_ms)."""
    actual = row.get("actual_outcome")
    actual_at = row.get("actual_outcome_timestamp")
    latency = row.get("latency_ms")
    features = row.get("features")
    metadata = row.get("metadata")
    return "\t".join((
        copy_text(row["prediction_id"]),
        copy_text(row["model_version"]),
        row["timestamp"].isoformat(),
        str(row["predicted_outcome"]),
        repr(row["confidence"]),
        copy_text(encode_json(features)) if features else "{}",
        copy_text(encode_json(metadata)) if metadata else "{}",
        "\\N" if actual is None else str(actual),
        "\\N" if actual_at is None else actual_at.isoformat(),
        "\\N" if latency is None else repr(latency),
    )) + "\n"


def describe_errors(errors) -> str:
    """Field errors ({field: message or [messages]}) as one line a person can read."""
    if not errors:
        return "invalid record"
    if isinstance(errors, dict):
        parts = []
        for name, messages in errors.items():
            if isinstance(messages, (list, tuple)):
                messages = " ".join(str(m) for m in messages)
            elif isinstance(messages, dict):
                messages = describe_errors(messages)
            parts.append(f"{name}: {messages}")
        return "; ".join(parts)
    if isinstance(errors, (list, tuple)):
        return "; ".join(str(e) for e in errors)
    return str(errors)


def init_worker() -> None:
    import django

    django.setup()


class PredictionParser:
    """parse(chunks) → (chunk, parsed) in file order, with at most a few chunks in flight.

    ``workers`` 0 parses here; otherwise that many spawned processes parse (rows are
    then not sent back: the COPY line is enough, and a row needed to compare a repeat is
    parsed again here from the raw line). Should the workers fail to start or die (a
    host where spawned processes cannot run), parsing carries on here.
    """

    def __init__(self, workers: int, copy_lines: bool):
        self.workers = workers
        self.copy_lines = copy_lines
        self.pool = None
        if workers > 0:
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
            )

    def _here(self, chunk):
        return parse_prediction_lines(chunk, True, self.copy_lines)

    def parse(self, chunks: Iterable[list[tuple[int, bytes]]]) -> Iterator[tuple[list, list]]:
        in_flight: deque = deque()
        for chunk in chunks:
            if self.pool is None:
                while in_flight:
                    yield self._collect(*in_flight.popleft())
                yield chunk, self._here(chunk)
                continue
            try:
                in_flight.append((chunk, self.pool.submit(
                    parse_prediction_lines, chunk, False, self.copy_lines
                )))
            except BrokenProcessPool:
                self._give_up_workers()
                in_flight.append((chunk, None))
            if len(in_flight) > 2 * self.workers + 1:
                yield self._collect(*in_flight.popleft())
        while in_flight:
            yield self._collect(*in_flight.popleft())

    def _collect(self, chunk, future):
        if future is not None:
            try:
                return chunk, future.result()
            except BrokenProcessPool:
                self._give_up_workers()
        return chunk, self._here(chunk)

    def _give_up_workers(self) -> None:
        if self.pool is not None:
            logger.warning("parse workers unavailable; parsing in this process instead")
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def close(self, terminate: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=not terminate, cancel_futures=terminate)
            self.pool = None
