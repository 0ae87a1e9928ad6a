"""Turn predictions.jsonl lines into validated rows and COPY text, here or in workers.

``parse_prediction_lines`` is the one place a legacy prediction line is read: JSON, then
``predictions.validation.clean_prediction`` (the API's validator), then the column values
and COPY line of ``predictions.storage`` (the API's write path). It runs in the importing
process, or, for large files on PostgreSQL, in worker processes (``PredictionParser``),
since parsing and validating in Python is what bounds the import's speed. Nothing here
imports Django models at module level: a spawned worker sets Django up first
(``init_worker``).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

logger = logging.getLogger("legacy")

OK, REJECT, BLANK = "ok", "reject", "blank"


def json_object(raw: bytes) -> tuple[dict | None, str | None]:
    """One line of a JSON-lines file: (the object, None), or (None, why it is refused)."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except ValueError as exc:
        if not raw.endswith(b"\n"):
            return None, "truncated last line (no newline at the end; not JSON)"
        return None, f"not JSON: {exc}"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    return record, None


def parse_prediction_lines(
    chunk: list[tuple[int, bytes]], keep_rows: bool = True, copy_lines: bool = False
) -> list[tuple]:
    """For each (line number, raw bytes): (OK, number, prediction_id, column values or
    None, COPY line or None, feature layout or None), (REJECT, number, reason) or
    (BLANK, number)."""
    from django.utils import timezone

    from predictions.storage import LAYOUT, copy_line, row_values
    from predictions.validation import clean_prediction

    now = timezone.now()
    parsed = []
    for number, raw in chunk:
        if not raw.strip():
            parsed.append((BLANK, number))
            continue
        record, problem = json_object(raw)
        if problem is not None:
            parsed.append((REJECT, number, problem))
            continue
        row, errors, texts = clean_prediction(record, now)
        if errors:
            parsed.append((REJECT, number, describe_errors(errors)))
            continue
        if record.get("timestamp") is None:
            # The validator would say "now": a different row on every run.
            parsed.append((REJECT, number, "timestamp: This field is required."))
            continue
        values = row_values(row, texts)
        parsed.append((
            OK, number, row["prediction_id"],
            values if keep_rows else None,
            copy_line(values) if copy_lines else None,
            values[LAYOUT],  # the features' layout, which the COPY line only names
        ))
    return parsed


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

    ``workers`` 0 parses here (column values kept); otherwise that many spawned processes
    parse, and send back only the COPY line (with ``copy_lines``): the values needed to
    compare a repeat, or to write a row alone, are parsed again here from the raw line.
    Should the workers fail to start or die (a host where spawned processes cannot run),
    parsing carries on here.
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
        return parse_prediction_lines(chunk, True, False)

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
