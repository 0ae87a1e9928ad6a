"""predictions.jsonl: parse and count; the rows are stored by ``predictions.storage``.

Lines are parsed (here, or in worker processes for big files) by ``legacy.parsing``, which
validates them with the API's validator; each batch is written with
``predictions.storage.write_batch``, the API's own write path (COPY on PostgreSQL, the
staging table for ids stored already, row by row for a row the database refuses). What
this module adds is the accounting: which lines were imported, already present (stored
by an earlier run), duplicates (seen earlier in this run) or rejected.

Repeats of a ``prediction_id`` across batches are found through the database's unique
key, not an in-memory set: the write reports which ids were stored already, with their
primary key, and the high-water mark taken when the run started tells rows this run
inserted from rows an earlier run left.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from django.db import connection, transaction

from legacy.importing.context import ImportRun
from legacy.importing.report import FileReport
from legacy.parsing import BLANK, REJECT, PredictionParser, parse_prediction_lines
from predictions.models import Prediction
from predictions.storage import Batch, Written, row_of, same_content, write_batch

# From this size on, predictions.jsonl is parsed and validated in worker processes.
PARSE_IN_WORKERS_FROM_BYTES = 32 * 2**20
PARSE_WORKERS = 2


class Line:
    """One accepted line: its number, raw bytes, prediction id, and its column values, or
    (parsed in a worker) its COPY line only; the values are then parsed again from the
    raw line when needed. Values rather than a row dict: a batch stays small in memory."""

    __slots__ = ("_values", "copy", "layout", "number", "pid", "raw")

    def __init__(self, number: int, raw: bytes, pid: str, values=None, copy=None,
                 layout=None):
        self.number, self.raw, self.pid = number, raw, pid
        self._values, self.copy, self.layout = values, copy, layout

    @property
    def values(self) -> tuple:
        if self._values is None:
            self._values = parse_prediction_lines([(self.number, self.raw)])[0][3]
        return self._values

    @property
    def row(self) -> dict:
        """The validated row, made when a repeat must be compared (seldom)."""
        return row_of(self.values)


def batch_of(lines: list[Line]) -> Batch:
    ids = [line.pid for line in lines]
    if all(line.copy is not None for line in lines):
        return Batch(ids, copy_lines=[line.copy for line in lines],
                     load_values=lambda: [line.values for line in lines],
                     copy_layouts={line.layout for line in lines if line.layout is not None})
    return Batch(ids, values=[line.values for line in lines])


class BatchWriter:
    """Writes batches through ``predictions.storage.write_batch``, in order.

    With ``background`` (PostgreSQL, outside a caller's transaction) the writing happens
    on a connection of its own, in one thread, so the database works on batch N while
    batch N + 1 is parsed (psycopg2 lets go of the GIL while it waits); each batch
    commits on its own, except in a dry run, where everything is rolled back at the end.
    Otherwise on Django's connection, one savepoint per batch.
    """

    def __init__(self, background: bool, dry_run: bool):
        self.dry_run = dry_run
        self.conn = self.thread = None
        if background:
            import psycopg2

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            self.conn = psycopg2.connect(**params)
            with self.conn.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
            self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import_legacy")

    def submit(self, lines: list[Line]) -> Future:
        if self.thread is not None:
            return self.thread.submit(self._write_and_commit, batch_of(lines))
        written = Future()
        with transaction.atomic():
            written.set_result(write_batch(batch_of(lines), row_by_row=True))
        return written

    def _write_and_commit(self, batch: Batch) -> Written:
        with self.conn.cursor() as cursor:
            written = write_batch(batch, cursor=cursor, row_by_row=True)
        if not self.dry_run:
            self.conn.commit()
        return written

    def close(self) -> None:
        if self.thread is None:
            return
        self.thread.shutdown(wait=True)
        try:
            if self.dry_run:
                self.conn.rollback()
        finally:
            self.conn.close()


def import_predictions(run: ImportRun, path: Path, counts: FileReport) -> None:
    postgres = connection.vendor == "postgresql"
    writer = BatchWriter(background=postgres and run.own_transactions, dry_run=run.dry_run)
    workers = run.parse_workers
    if workers is None:
        # Worker processes pay off for big files, when batches go to PostgreSQL from
        # the writer thread (elsewhere every row is needed back in this process).
        big = path.stat().st_size >= PARSE_IN_WORKERS_FROM_BYTES
        workers = PARSE_WORKERS if big and postgres and run.own_transactions else 0
    parser = PredictionParser(workers, copy_lines=postgres)
    # The batch being written while the next one is parsed: (future, firsts, repeats).
    pending = None
    firsts: dict[str, Line] = {}
    repeats: list[Line] = []  # later lines of an id already in this batch

    def flush():
        nonlocal pending
        written = writer.submit(list(firsts.values()))
        if pending is not None:
            _settle(run, *pending, counts)
        pending = (written, firsts, repeats)

    finished = False
    try:
        for chunk, parsed in parser.parse(run.raw_chunks(path, counts)):
            for (number, raw), result in zip(chunk, parsed, strict=True):
                if result[0] == BLANK:
                    counts.blank += 1
                    continue
                if result[0] == REJECT:
                    run.reject(counts, number, raw, result[2])
                    continue
                _ok, _number, pid, values, copy, layout = result
                line = Line(number, raw, pid, values, copy, layout)
                if pid in firsts:
                    repeats.append(line)
                else:
                    firsts[pid] = line
                # Repeats count too: one id repeated a million times is one batch.
                if len(firsts) + len(repeats) >= run.batch_size:
                    flush()
                    firsts, repeats = {}, []
        if firsts:
            flush()
        if pending is not None:
            _settle(run, *pending, counts)
        finished = True
    finally:
        parser.close(terminate=not finished)
        writer.close()


def _settle(run: ImportRun, written: Future, firsts, repeats, counts) -> None:
    """Count a written batch: imported, or (for ids that were stored already) already
    present, duplicate or conflicting; then the batch's own repeats."""
    result: Written = written.result()
    watermark = run.watermarks[Prediction]
    repeated = {line.pid for line in repeats}
    # For ids repeated within the batch, what stands once it is in:
    # (row or None if rejected, "run"/"earlier", the first line's number).
    standing: dict[str, tuple[dict | None, str, int]] = {}
    for pid, line in firsts.items():
        if pid in result.inserted:
            counts.imported += 1
            if pid in repeated:
                standing[pid] = (line.row, "run", line.number)
        elif pid in result.refused:
            run.reject(counts, line.number, line.raw, result.refused[pid])
            standing[pid] = (None, "rejected", line.number)
        elif pid not in result.stored:  # deleted by someone else meanwhile
            run.reject(counts, line.number, line.raw, "could not be stored")
            standing[pid] = (None, "rejected", line.number)
        else:
            pk, stored_row = result.stored[pid]
            kind = "run" if pk > watermark else "earlier"
            standing[pid] = (stored_row, kind, line.number)
            _settle_repeat(run, counts, line, stored_row, kind, None)
    for line in repeats:
        stored_row, kind, first_number = standing[line.pid]
        if stored_row is None:
            run.reject(
                counts, line.number, line.raw,
                f"repeats prediction_id {line.pid!r} of rejected line {first_number}",
            )
        else:
            _settle_repeat(run, counts, line, stored_row, kind, first_number)


def _settle_repeat(run, counts, line: Line, stored_row, kind, first_number) -> None:
    """A line whose prediction_id is already stored: the same, or a conflict."""
    if same_content(stored_row, line.row):
        if kind == "earlier":
            counts.already_present += 1
        else:
            counts.duplicates += 1
        return
    pid = line.pid
    if kind == "earlier":
        reason = (
            f"prediction_id {pid!r} is already stored with different content "
            "(the stored record stands)"
        )
    elif first_number is not None:
        reason = (
            f"prediction_id {pid!r} was first seen on line {first_number} with "
            "different content (the first occurrence stands)"
        )
    else:
        reason = (
            f"prediction_id {pid!r} appeared earlier in this file with different "
            "content (the first occurrence stands)"
        )
    run.reject(counts, line.number, line.raw, reason)
