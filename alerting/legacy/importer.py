"""Import a legacy data directory, streaming, in batches, idempotently (SPEC §7).

Every line of every file ends up in exactly one bucket of the report: imported, updated
(an alert whose acknowledgment arrived later), already present (stored by an earlier
run), duplicate (the same record again in this run), rejected (with file:line and the
reason; the line itself is copied verbatim to the rejects file) or blank.

Memory stays flat whatever the size of a file: lines are read one at a time and only a
few batches are held (one being written while the next is parsed). Repeats of a
``prediction_id`` across batches are found through the database's unique key rather than
an in-memory set: each batch asks the database which of its ids exist, and the primary
key high-water mark taken when the run started tells rows this run inserted (a repeat:
duplicate, or a conflict if its content differs) from rows an earlier run left (already
present).
"""
from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q

from alerting.choices import AlertStatus, Severity
from alerting.legacy.formats import (
    ALERTS,
    LEGACY_FILES,
    METRICS,
    PREDICTIONS,
    RULES,
    SNAPSHOTS,
    from_epoch,
    is_number,
    is_whole,
)
from alerting.legacy.parsing import (
    BLANK,
    REJECT,
    PredictionParser,
    copy_line,
    describe_errors,
    encode_json,
    parse_prediction_lines,
)
from alerting.models import Alert, AlertRule, RuleCooldown
from alerting.rules import alert_title
from predictions.choices import MetricStatus
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction

DEFAULT_BATCH_SIZE = 5000
# Rejections listed in the report itself; all of them are in the rejects files.
MAX_LISTED_REJECTIONS = 1000
PROGRESS_EVERY_LINES = 20000
PARSE_CHUNK_LINES = 2000
# From this size on, predictions.jsonl is parsed and validated in worker processes.
PARSE_IN_WORKERS_FROM_BYTES = 32 * 2**20
PARSE_WORKERS = 2

ProgressCallback = Callable[[str, int, int, int], None]  # file, lines, bytes done, bytes


@dataclass
class FileReport:
    """What became of each line of one file."""

    file: str
    found: bool = False
    lines: int = 0
    imported: int = 0
    updated: int = 0
    already_present: int = 0
    duplicates: int = 0
    rejected: int = 0
    blank: int = 0

    @property
    def accounted(self) -> int:
        return (
            self.imported + self.updated + self.already_present + self.duplicates
            + self.rejected + self.blank
        )


@dataclass
class ImportReport:
    """The outcome of one import run, printed by the command (and as JSON)."""

    data_dir: str
    dry_run: bool
    rejects_path: str | None = None
    reasons_path: str | None = None
    files: dict[str, FileReport] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)
    rejections_total: int = 0
    renamed_alert_ids: list[dict] = field(default_factory=list)
    cooldowns_rebuilt: int = 0
    seconds: float = 0.0

    @property
    def all_lines_accounted(self) -> bool:
        return all(f.lines == f.accounted for f in self.files.values())

    def as_dict(self) -> dict:
        document = asdict(self)
        document["files"] = {
            name: {**asdict(report), "accounted": report.accounted}
            for name, report in self.files.items()
        }
        document["all_lines_accounted"] = self.all_lines_accounted
        return document


class _Rejects:
    """The rejects file (rejected lines, verbatim) and its companion list of reasons."""

    def __init__(self, path: Path | None):
        self.path = path
        self.reasons_path = (
            path.with_name(path.stem + ".reasons.txt") if path is not None else None
        )
        self._lines = None
        self._reasons = None

    def write(self, file: str, line: int, reason: str, raw: bytes) -> None:
        if self.path is None:
            return
        if self._lines is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lines = self.path.open("wb")
            self._reasons = self.reasons_path.open("w", encoding="utf-8")
        self._lines.write(raw if raw.endswith(b"\n") else raw + b"\n")
        self._reasons.write(f"{file}:{line}: {reason}\n")

    @property
    def written(self) -> bool:
        return self._lines is not None

    def close(self) -> None:
        for handle in (self._lines, self._reasons):
            if handle is not None:
                handle.close()


class _Line:
    """One accepted line: its number, raw bytes, validated row (for predictions parsed
    in a worker, only when needed: parsed again here from the raw line), id and COPY text."""

    __slots__ = ("_row", "copy", "number", "pid", "raw")

    def __init__(self, number: int, raw: bytes, row: dict | None, pid=None, copy=None):
        self.number, self.raw, self._row, self.pid, self.copy = number, raw, row, pid, copy

    @property
    def row(self) -> dict:
        if self._row is None:
            self._row = parse_prediction_lines([(self.number, self.raw)])[0][3]
        return self._row


def import_legacy_dir(
    data_dir: Path | str,
    *,
    dry_run: bool = False,
    rejects_path: Path | str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    parse_workers: int | None = None,
) -> ImportReport:
    """Import every legacy file found in ``data_dir``; returns the report.

    With ``dry_run`` everything runs inside one transaction that is rolled back, so the
    report is exact and nothing is stored. Rejected lines go to ``rejects_path``
    (default ``DATA_DIR/import_rejects.jsonl``; in a dry run only when given).
    ``parse_workers``: processes that parse predictions.jsonl (None: decided by size).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir} is not a directory")
    if rejects_path is None and not dry_run:
        rejects_path = data_dir / "import_rejects.jsonl"
    if rejects_path is not None:
        # Found out now, not after half the file is in.
        folder = Path(rejects_path).parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)) and folder.exists():
            raise PermissionError(
                f"cannot write the rejects file in {folder}: choose another with --rejects"
            )
    importer = _Importer(
        data_dir,
        dry_run=dry_run,
        rejects=_Rejects(Path(rejects_path) if rejects_path else None),
        batch_size=max(1, int(batch_size)),
        progress=progress,
        parse_workers=parse_workers,
    )
    return importer.run()


class _Rollback(Exception):
    """Raised at the end of a dry run to undo everything it wrote."""


class _Importer:
    def __init__(self, data_dir, *, dry_run, rejects, batch_size, progress, parse_workers):
        self.data_dir = data_dir
        self.parse_workers = parse_workers
        self.dry_run = dry_run
        self.rejects = rejects
        self.batch_size = batch_size
        self.progress = progress
        self.report = ImportReport(data_dir=str(data_dir), dry_run=dry_run)

    # --- the run --------------------------------------------------------------------
    def run(self) -> ImportReport:
        started = time.monotonic()
        # Outside any caller's transaction, prediction batches may be written on a
        # connection of their own (committed batch by batch, or rolled back in a dry run).
        self.own_transactions = not connection.in_atomic_block
        try:
            if self.dry_run:
                try:
                    with transaction.atomic():
                        self._import_all()
                        raise _Rollback
                except _Rollback:
                    pass
            else:
                self._import_all()
        finally:
            self.rejects.close()
        if self.rejects.written:
            self.report.rejects_path = str(self.rejects.path)
            self.report.reasons_path = str(self.rejects.reasons_path)
        self.report.seconds = round(time.monotonic() - started, 3)
        return self.report

    def _import_all(self) -> None:
        # Rows with a primary key above these were inserted by this run.
        self.watermarks = {
            model: model.objects.aggregate(top=Max("pk"))["top"] or 0
            for model in (Prediction, PerformanceMetric, HealthSnapshot, Alert, AlertRule)
        }
        steps = {
            RULES: self._import_rules,
            PREDICTIONS: self._import_predictions,
            METRICS: self._import_metrics,
            SNAPSHOTS: self._import_snapshots,
            ALERTS: self._import_alerts,
        }
        for name in LEGACY_FILES:
            file_report = self.report.files[name] = FileReport(file=name)
            path = self.data_dir / name
            if path.is_file():
                file_report.found = True
                steps[name](path, file_report)
        self.report.cooldowns_rebuilt = rebuild_cooldowns()

    # --- lines ------------------------------------------------------------------------
    def _lines(self, path: Path, counts: FileReport) -> Iterator[tuple[int, bytes, dict]]:
        """(line number, raw bytes, JSON object) for each line that parses; the rest are
        counted as blank or rejected here."""
        total = path.stat().st_size
        done = 0
        with path.open("rb") as source:
            for number, raw in enumerate(source, 1):
                done += len(raw)
                counts.lines += 1
                if self.progress is not None and number % PROGRESS_EVERY_LINES == 0:
                    self.progress(counts.file, number, done, total)
                if not raw.strip():
                    counts.blank += 1
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    self._reject(counts, number, raw, "not UTF-8 text")
                    continue
                except ValueError as exc:
                    if not raw.endswith(b"\n"):
                        reason = "truncated last line (no newline at the end; not JSON)"
                    else:
                        reason = f"not JSON: {exc}"
                    self._reject(counts, number, raw, reason)
                    continue
                if not isinstance(record, dict):
                    self._reject(counts, number, raw, "not a JSON object")
                    continue
                yield number, raw, record
        if self.progress is not None:
            self.progress(counts.file, counts.lines, done, total)

    def _reject(self, counts: FileReport, number: int, raw: bytes, reason: str) -> None:
        counts.rejected += 1
        self.report.rejections_total += 1
        if len(self.report.rejections) < MAX_LISTED_REJECTIONS:
            self.report.rejections.append(
                {"file": counts.file, "line": number, "reason": reason}
            )
        self.rejects.write(counts.file, number, reason, raw)

    # --- predictions ------------------------------------------------------------------
    def _import_predictions(self, path: Path, counts: FileReport) -> None:
        postgres = connection.vendor == "postgresql"
        store = (
            _PostgresPredictionStore(self.dry_run, threaded=self.own_transactions)
            if postgres
            else _OrmPredictionStore(self.batch_size)
        )
        workers = self.parse_workers
        if workers is None:
            # Worker processes pay off for big files, when batches go to PostgreSQL from
            # the writer thread (the ORM path needs every row back in this process).
            big = path.stat().st_size >= PARSE_IN_WORKERS_FROM_BYTES
            workers = PARSE_WORKERS if big and postgres and self.own_transactions else 0
        parser = PredictionParser(workers, copy_lines=postgres)
        # The batch being written while the next one is parsed: (future, firsts, repeats).
        pending = None
        firsts: dict[str, _Line] = {}
        repeats: list[_Line] = []  # later lines of an id already in this batch

        def flush():
            nonlocal pending
            written = store.submit(list(firsts.values()))
            if pending is not None:
                self._settle_predictions(*pending, counts)
            pending = (written, firsts, repeats)

        finished = False
        try:
            for chunk, parsed in parser.parse(self._raw_chunks(path, counts)):
                for (number, raw), result in zip(chunk, parsed, strict=True):
                    if result[0] == BLANK:
                        counts.blank += 1
                        continue
                    if result[0] == REJECT:
                        self._reject(counts, number, raw, result[2])
                        continue
                    _ok, _number, pid, row, copy = result
                    line = _Line(number, raw, row, pid, copy)
                    if pid in firsts:
                        repeats.append(line)
                    else:
                        firsts[pid] = line
                    # Repeats count too: one id repeated a million times is one batch.
                    if len(firsts) + len(repeats) >= self.batch_size:
                        flush()
                        firsts, repeats = {}, []
            if firsts:
                flush()
            if pending is not None:
                self._settle_predictions(*pending, counts)
            finished = True
        finally:
            parser.close(terminate=not finished)
            store.close()

    def _raw_chunks(self, path: Path, counts: FileReport) -> Iterator[list[tuple[int, bytes]]]:
        """(line number, raw bytes) in chunks, counting lines and reporting progress."""
        total = path.stat().st_size
        done = 0
        chunk: list[tuple[int, bytes]] = []
        with path.open("rb") as source:
            for number, raw in enumerate(source, 1):
                done += len(raw)
                chunk.append((number, raw))
                if len(chunk) >= PARSE_CHUNK_LINES:
                    counts.lines += len(chunk)
                    yield chunk
                    chunk = []
                    if self.progress is not None and number % PROGRESS_EVERY_LINES == 0:
                        self.progress(counts.file, number, done, total)
        if chunk:
            counts.lines += len(chunk)
            yield chunk
        if self.progress is not None:
            self.progress(counts.file, counts.lines, done, total)

    def _settle_predictions(self, written: Future, firsts, repeats, counts) -> None:
        """Count a written batch: imported, or (for ids that were stored already)
        already present, duplicate or conflicting; then the batch's own repeats."""
        inserted, failed, stored = written.result()
        watermark = self.watermarks[Prediction]
        repeated = {line.pid for line in repeats}
        # For ids repeated within the batch, what stands once it is in:
        # (row or None if rejected, "run"/"earlier", the first line's number).
        standing: dict[str, tuple[dict | None, str, int]] = {}
        for pid, line in firsts.items():
            if pid in inserted:
                counts.imported += 1
                if pid in repeated:
                    standing[pid] = (line.row, "run", line.number)
            elif pid in failed:
                self._reject(counts, line.number, line.raw, failed[pid])
                standing[pid] = (None, "rejected", line.number)
            elif pid not in stored:  # deleted by someone else meanwhile
                self._reject(counts, line.number, line.raw, "could not be stored")
                standing[pid] = (None, "rejected", line.number)
            else:
                pk, stored_row = stored[pid]
                kind = "run" if pk > watermark else "earlier"
                standing[pid] = (stored_row, kind, line.number)
                self._settle_repeat(counts, line, stored_row, kind, None)
        for line in repeats:
            stored_row, kind, first_number = standing[line.pid]
            if stored_row is None:
                self._reject(
                    counts, line.number, line.raw,
                    f"repeats prediction_id {line.pid!r} of rejected line {first_number}",
                )
            else:
                self._settle_repeat(counts, line, stored_row, kind, first_number)

    def _settle_repeat(self, counts, line, stored_row, kind, first_number) -> None:
        """A line whose prediction_id is already stored: the same, or a conflict."""
        pid = line.pid
        # Fast path: the same COPY text means the same content (no need to parse the
        # line again when it was parsed in a worker).
        same = line.copy is not None and line.copy == copy_line(stored_row)
        if same or same_prediction(stored_row, line.row):
            if kind == "earlier":
                counts.already_present += 1
            else:
                counts.duplicates += 1
            return
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
        self._reject(counts, line.number, line.raw, reason)

    # --- metrics and snapshots (no natural key: identical content is the same record) --
    def _import_metrics(self, path: Path, counts: FileReport) -> None:
        self._import_keyless(path, counts, PerformanceMetric, metric_row, METRIC_FIELDS)

    def _import_snapshots(self, path: Path, counts: FileReport) -> None:
        self._import_keyless(path, counts, HealthSnapshot, snapshot_row, SNAPSHOT_FIELDS)

    def _import_keyless(self, path, counts, model, to_row, fields) -> None:
        batch: list[_Line] = []
        for number, raw, record in self._lines(path, counts):
            row = to_row(record)
            if isinstance(row, str):
                self._reject(counts, number, raw, row)
                continue
            batch.append(_Line(number, raw, row))
            if len(batch) >= self.batch_size:
                self._flush_keyless(batch, counts, model, fields)
                batch = []
        if batch:
            self._flush_keyless(batch, counts, model, fields)

    def _flush_keyless(self, batch, counts, model, fields) -> None:
        watermark = self.watermarks[model]
        stored: dict[tuple, str] = {}
        timestamps = sorted({line.row["timestamp"] for line in batch})
        for start in range(0, len(timestamps), 500):
            for values in model.objects.filter(
                timestamp__in=timestamps[start:start + 500]
            ).values("pk", *fields):
                kind = "run" if values.pop("pk") > watermark else "earlier"
                stored.setdefault(_content_key(values, fields), kind)
        new_rows = []
        for line in batch:
            key = _content_key(line.row, fields)
            kind = stored.get(key)
            if kind == "earlier":
                counts.already_present += 1
            elif kind == "run":
                counts.duplicates += 1
            else:
                stored[key] = "run"
                new_rows.append(line)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    model.objects.bulk_create([model(**line.row) for line in new_rows],
                                              batch_size=500)
                counts.imported += len(new_rows)
                return
            except Exception:  # noqa: S110 (one bad row spoils the batch: one by one)
                pass
            for line in new_rows:
                try:
                    with transaction.atomic():
                        model.objects.create(**line.row)
                    counts.imported += 1
                except Exception as exc:
                    self._reject(counts, line.number, line.raw,
                                 f"refused by the database: {_one_line(exc)}")

    # --- rules ------------------------------------------------------------------------
    def _import_rules(self, path: Path, counts: FileReport) -> None:
        """alert_rules.json is one small JSON array: loaded whole; "line" = element."""
        raw = path.read_bytes()
        if not raw.strip():
            return  # an empty file: no rules
        try:
            rules = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            counts.lines += 1
            self._reject(counts, 1, raw.replace(b"\n", b" "), f"not a JSON array: {exc}")
            return
        if not isinstance(rules, list):
            counts.lines += 1
            self._reject(counts, 1, raw.replace(b"\n", b" "), "not a JSON array")
            return
        seen: dict[str, int] = {}
        for number, record in enumerate(rules, 1):
            counts.lines += 1
            verbatim = json.dumps(record).encode()
            rule = rule_from_record(record)
            if isinstance(rule, str):
                self._reject(counts, number, verbatim, rule)
                continue
            if rule.rule_id in seen:
                first = seen[rule.rule_id]
                existing = AlertRule.objects.get(rule_id=rule.rule_id)
                if same_rule(existing, rule):
                    counts.duplicates += 1
                else:
                    self._reject(counts, number, verbatim,
                                 f"rule_id {rule.rule_id!r} was first defined in element "
                                 f"{first} with different content (the first stands)")
                continue
            seen[rule.rule_id] = number
            existing = AlertRule.objects.filter(rule_id=rule.rule_id).first()
            if existing is None:
                try:
                    with transaction.atomic():
                        rule.save()
                except Exception as exc:
                    self._reject(counts, number, verbatim,
                                 f"refused by the database: {_one_line(exc)}")
                    seen.pop(rule.rule_id)
                    continue
                counts.imported += 1
            elif same_rule(existing, rule):
                counts.already_present += 1
            else:
                self._reject(counts, number, verbatim,
                             f"rule_id {rule.rule_id!r} is already stored with different "
                             "settings (the stored rule stands; edit it in the admin)")

    # --- alerts -----------------------------------------------------------------------
    def _import_alerts(self, path: Path, counts: FileReport) -> None:
        rules = list(AlertRule.objects.all())
        batch: list[_Line] = []
        for number, raw, record in self._lines(path, counts):
            row = alert_row(record)
            if isinstance(row, str):
                self._reject(counts, number, raw, row)
                continue
            row["rule"] = match_rule(rules, row)
            batch.append(_Line(number, raw, row))
            if len(batch) >= min(self.batch_size, 1000):
                self._flush_alerts(batch, counts)
                batch = []
        if batch:
            self._flush_alerts(batch, counts)

    def _flush_alerts(self, batch: list[_Line], counts: FileReport) -> None:
        watermark = self.watermarks[Alert]
        with transaction.atomic():
            for line in batch:
                self._import_alert(line, counts, watermark)

    def _import_alert(self, line: _Line, counts: FileReport, watermark: int) -> None:
        row = line.row
        base_id = row["alert_id"]
        pattern = re.compile(re.escape(base_id) + r"(?:_(\d+))?")
        taken = {}
        for stored in Alert.objects.filter(
            Q(alert_id=base_id) | Q(alert_id__startswith=base_id + "_")
        ):
            if pattern.fullmatch(stored.alert_id):
                taken[stored.alert_id] = stored
        for stored in taken.values():
            if same_alert(stored, row):
                if not stored.acknowledged and row["acknowledged"]:
                    # The legacy file was rewritten after an acknowledgment: apply it.
                    Alert.objects.filter(pk=stored.pk, acknowledged=False).update(
                        acknowledged=True,
                        acknowledged_at=row["acknowledged_at"],
                        acknowledged_by=row["acknowledged_by"],
                        status=AlertStatus.ACKNOWLEDGED
                        if stored.status == AlertStatus.OPEN else stored.status,
                    )
                    counts.updated += 1
                elif stored.pk > watermark:
                    counts.duplicates += 1
                else:
                    counts.already_present += 1
                return
        alert_id = base_id
        suffix = 0
        while alert_id in taken:
            suffix += 1
            alert_id = f"{base_id}_{suffix}"
        if len(alert_id) > Alert._meta.get_field("alert_id").max_length:
            self._reject(counts, line.number, line.raw, f"alert_id {alert_id!r} is too long")
            return
        try:
            with transaction.atomic():
                Alert.objects.create(**{**row, "alert_id": alert_id})
        except Exception as exc:
            self._reject(counts, line.number, line.raw,
                         f"refused by the database: {_one_line(exc)}")
            return
        counts.imported += 1
        if alert_id != base_id and len(self.report.renamed_alert_ids) < MAX_LISTED_REJECTIONS:
            self.report.renamed_alert_ids.append(
                {"file": counts.file, "line": line.number, "alert_id": base_id,
                 "stored_as": alert_id}
            )


# --- where prediction batches are written ----------------------------------------------
# A store's submit(lines) returns a Future of (ids inserted, {id: why it failed},
# {id: (pk, stored values)} for the ids that were in the database already).


class _OrmPredictionStore:
    """SQLite (and any other database Django supports): one transaction per batch, the
    new rows written with one executemany."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        quote = connection.ops.quote_name
        self.insert_sql = (
            f"INSERT INTO {quote(Prediction._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in PREDICTION_COPY_FIELDS)}) "
            f"VALUES ({', '.join(['%s'] * len(PREDICTION_COPY_FIELDS))})"
        )

    def submit(self, lines: list[_Line]) -> Future:
        written = Future()
        with transaction.atomic():
            inserted, failed = self._insert(lines)
            others = [
                line.pid for line in lines if line.pid not in inserted and line.pid not in failed
            ]
            written.set_result((inserted, failed, _stored_predictions(others)))
        return written

    def _insert(self, lines):
        # SQLite's IMMEDIATE transactions hold the write lock from here on: no race
        # between this look-up and the insert.
        stored = {pid for pid, _ in _stored_pks([line.pid for line in lines])}
        new_lines = [line for line in lines if line.pid not in stored]
        ops = connection.ops
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(self.insert_sql, [
                    (
                        row["prediction_id"], row["model_version"],
                        ops.adapt_datetimefield_value(row["timestamp"]),
                        row["predicted_outcome"], row["confidence"],
                        ops.adapt_json_value(row.get("features") or {}, None),
                        ops.adapt_json_value(row.get("metadata") or {}, None),
                        row.get("actual_outcome"),
                        ops.adapt_datetimefield_value(row.get("actual_outcome_timestamp")),
                        row.get("latency_ms"),
                    )
                    for row in (line.row for line in new_lines)
                ])
            return {line.pid for line in new_lines}, {}
        except Exception:  # noqa: S110 (one bad row spoils the batch: one by one)
            pass
        inserted, failed = set(), {}
        for line in new_lines:
            try:
                with transaction.atomic():
                    Prediction.objects.create(**line.row)
                inserted.add(line.pid)
            except Exception as exc:
                failed[line.pid] = f"refused by the database: {_one_line(exc)}"
        return inserted, failed

    def close(self) -> None:
        pass


class _PostgresPredictionStore:
    """PostgreSQL: each batch is COPY'd straight into the table. When that fails (an id
    stored already — a re-run —, one inserted by someone else meanwhile, or a row the
    database refuses), the batch goes through a temporary table and INSERT … SELECT … ON
    CONFLICT DO NOTHING RETURNING, which names exactly the new ids; failing that, row by
    row.

    The writing happens on a connection of its own, in one background thread, so the
    database works on batch N while batch N + 1 is parsed (psycopg2 lets go of the GIL
    while it waits). Batches are written in order; each commits on its own, except in a
    dry run, where everything is rolled back at the end.
    """

    TEMP = "legacy_prediction_batch"

    def __init__(self, dry_run: bool, threaded: bool):
        self.dry_run = dry_run
        quote = connection.ops.quote_name
        self.table = quote(Prediction._meta.db_table)
        self.column_list = ", ".join(quote(f.column) for f in PREDICTION_COPY_FIELDS)
        self.insert_sql = (
            f"INSERT INTO {self.table} ({self.column_list}) SELECT {self.column_list} "
            f"FROM {self.TEMP} ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id"
        )
        self.insert_one_sql = (
            f"INSERT INTO {self.table} ({self.column_list}) VALUES "
            "(%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s) "
            "ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id"
        )
        self.conn = self.writer = None
        if threaded:
            import psycopg2

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            self.conn = psycopg2.connect(**params)
            with self.conn.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import_legacy")

    def submit(self, lines: list[_Line]) -> Future:
        copy_text = "".join(line.copy or copy_line(line.row) for line in lines)
        if self.writer is not None:
            return self.writer.submit(self._write_and_commit, lines, copy_text)
        # Inside a caller's transaction (tests, a dry run's savepoint): Django's own
        # connection, synchronously, one savepoint per batch.
        written = Future()
        with transaction.atomic(), connection.cursor() as django_cursor:
            written.set_result(self._write(django_cursor.cursor, lines, copy_text))
        return written

    def _write_and_commit(self, lines: list[_Line], copy_text: str):
        with self.conn.cursor() as cursor:
            written = self._write(cursor, lines, copy_text)
        if not self.dry_run:
            self.conn.commit()
        return written

    def _write(self, cursor, lines: list[_Line], copy_text: str):
        failed = {}
        try:
            cursor.execute("SAVEPOINT legacy_batch")
            cursor.copy_expert(
                f"COPY {self.table} ({self.column_list}) FROM STDIN", io.StringIO(copy_text)
            )
            cursor.execute("RELEASE SAVEPOINT legacy_batch")
            inserted = {line.pid for line in lines}
        except Exception:
            cursor.execute("ROLLBACK TO SAVEPOINT legacy_batch")
            try:
                cursor.execute("SAVEPOINT legacy_batch")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.TEMP} AS "
                    f"SELECT {self.column_list} FROM {self.table} WITH NO DATA"
                )
                cursor.execute(f"TRUNCATE {self.TEMP}")
                cursor.copy_expert(
                    f"COPY {self.TEMP} ({self.column_list}) FROM STDIN", io.StringIO(copy_text)
                )
                cursor.execute(self.insert_sql)
                inserted = {pid for (pid,) in cursor.fetchall()}
                cursor.execute("RELEASE SAVEPOINT legacy_batch")
            except Exception:
                # A row the database refuses spoils any COPY: one row at a time.
                cursor.execute("ROLLBACK TO SAVEPOINT legacy_batch")
                inserted, failed = self._insert_one_by_one(
                    cursor, [line.row for line in lines]
                )
        others = [
            line.pid for line in lines if line.pid not in inserted and line.pid not in failed
        ]
        return inserted, failed, self._stored(cursor, others)

    def _insert_one_by_one(self, cursor, rows):
        inserted, failed = set(), {}
        for row in rows:
            try:
                cursor.execute("SAVEPOINT legacy_row")
                cursor.execute(self.insert_one_sql, (
                    row["prediction_id"], row["model_version"], row["timestamp"],
                    row["predicted_outcome"], row["confidence"],
                    encode_json(row.get("features") or {}),
                    encode_json(row.get("metadata") or {}),
                    row.get("actual_outcome"), row.get("actual_outcome_timestamp"),
                    row.get("latency_ms"),
                ))
                inserted.update(pid for (pid,) in cursor.fetchall())
                cursor.execute("RELEASE SAVEPOINT legacy_row")
            except Exception as exc:
                cursor.execute("ROLLBACK TO SAVEPOINT legacy_row")
                failed[row["prediction_id"]] = f"refused by the database: {_one_line(exc)}"
        return inserted, failed

    def _stored(self, cursor, prediction_ids: list[str]) -> dict[str, tuple[int, dict]]:
        if not prediction_ids:
            return {}
        names = ["prediction_id", *PREDICTION_CORE, *PREDICTION_OPTIONAL]
        columns = ", ".join(
            connection.ops.quote_name(Prediction._meta.get_field(n).column) for n in names
        )
        cursor.execute(
            f"SELECT id, {columns} FROM {self.table} WHERE prediction_id = ANY(%s)",
            (prediction_ids,),
        )
        stored = {}
        for pk, *values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for name in ("features", "metadata"):
                if isinstance(row[name], str):
                    row[name] = json.loads(row[name])
            stored[row["prediction_id"]] = (pk, row)
        return stored

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.shutdown(wait=True)
        try:
            if self.dry_run:
                self.conn.rollback()
        finally:
            self.conn.close()


# --- rows from legacy records ---------------------------------------------------------
PREDICTION_COPY_FIELDS = [
    Prediction._meta.get_field(name)
    for name in (
        "prediction_id", "model_version", "timestamp", "predicted_outcome", "confidence",
        "features", "metadata", "actual_outcome", "actual_outcome_timestamp", "latency_ms",
    )
]
PREDICTION_CORE = ("model_version", "timestamp", "predicted_outcome", "confidence",
                   "features", "metadata")
# Compared only when the line gives them (an outcome may have been recorded since). When
# an outcome arrived is not compared: a line without it would be stamped "now".
PREDICTION_OPTIONAL = ("actual_outcome", "latency_ms")
METRIC_FIELDS = ("timestamp", "metric_name", "value", "window_size", "threshold", "status",
                 "model_version")
SNAPSHOT_FIELDS = (
    "timestamp", "model_version", "window_minutes", "accuracy", "precision", "recall",
    "f1_score", "roc_auc", "expected_calibration_error", "brier_score", "num_predictions",
    "num_with_outcome", "prediction_accuracy_trend", "degradation_detected", "metrics",
)
ALERT_CORE = ("timestamp", "severity", "title", "message", "metric_name", "metric_value",
              "threshold", "component", "model_version")


def same_prediction(stored: dict, row: dict) -> bool:
    """True when ``row`` says nothing that contradicts the ``stored`` prediction."""
    if any(stored.get(name) != row.get(name) for name in PREDICTION_CORE):
        return False
    return all(
        row.get(name) is None or stored.get(name) == row.get(name)
        for name in PREDICTION_OPTIONAL
    )


def _stored_pks(prediction_ids: list[str]) -> Iterator[tuple[str, int]]:
    for start in range(0, len(prediction_ids), 900):
        yield from Prediction.objects.filter(
            prediction_id__in=prediction_ids[start:start + 900]
        ).values_list("prediction_id", "pk")


def _stored_predictions(prediction_ids: list[str]) -> dict[str, tuple[int, dict]]:
    stored = {}
    names = ["prediction_id", *PREDICTION_CORE, *PREDICTION_OPTIONAL]
    for start in range(0, len(prediction_ids), 900):
        for values in Prediction.objects.filter(
            prediction_id__in=prediction_ids[start:start + 900]
        ).values("pk", *names):
            stored[values["prediction_id"]] = (values.pop("pk"), values)
    return stored


def _content_key(values: dict, fields) -> tuple:
    return tuple(
        json.dumps(values.get(name), sort_keys=True) if name == "metrics" else values.get(name)
        for name in fields
    )


def _epoch_field(record: dict, name: str, required: bool = True):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), None
    if not is_number(value):
        return f"{name}: must be epoch seconds (a number), got {value!r}", None
    try:
        return None, from_epoch(value)
    except (OverflowError, OSError, ValueError):
        return f"{name}: {value!r} is not a usable timestamp", None


def _text_field(record, name, max_length, required=True, default=""):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), default
    if not isinstance(value, str):
        return f"{name}: must be a string, got {type(value).__name__}", None
    if required and not value.strip():
        return f"{name}: must not be empty", None
    if len(value) > max_length:
        return f"{name}: longer than {max_length} characters", None
    return None, value


def _number_field(record, name, required=True):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), None
    if not is_number(value):
        return f"{name}: must be a finite number, got {value!r}", None
    return None, float(value)


def _count_field(record, name, required=True, default=0):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_whole(value) or value < 0 or value > 2**31 - 1:
        return f"{name}: must be a whole number ≥ 0, got {value!r}", None
    return None, value


def _collect(checks) -> tuple[list[str], dict]:
    problems, row = [], {}
    for name, (problem, value) in checks:
        if problem:
            problems.append(problem)
        else:
            row[name] = value
    return problems, row


def metric_row(record: dict) -> dict | str:
    """A metrics.jsonl record → PerformanceMetric fields, or the reason it is refused."""
    status = record.get("status", MetricStatus.NORMAL)
    problems, row = _collect([
        ("timestamp", _epoch_field(record, "timestamp")),
        ("metric_name", _text_field(record, "metric_name", 64)),
        ("value", _number_field(record, "value")),
        ("window_size", _count_field(record, "window_size")),
        ("threshold", _number_field(record, "threshold", required=False)),
        ("model_version", _text_field(record, "model_version", 64, required=False)),
        ("status", (None, status) if status in MetricStatus.values else (
            f"status: must be one of {', '.join(MetricStatus.values)}, got {status!r}", None)),
    ])
    return "; ".join(problems) if problems else row


def snapshot_row(record: dict) -> dict | str:
    """A health_snapshots.jsonl record → HealthSnapshot fields, or the reason."""
    flag = record.get("degradation_detected", False)
    checks = [
        ("timestamp", _epoch_field(record, "timestamp")),
        ("model_version", _text_field(record, "model_version", 64)),
        ("num_predictions", _count_field(record, "num_predictions")),
        ("degradation_detected", (None, flag) if isinstance(flag, bool) else (
            f"degradation_detected: must be true or false, got {flag!r}", None)),
        ("window_minutes", _count_field(record, "window_minutes", required=False, default=60)),
        ("num_with_outcome", _count_field(record, "num_with_outcome", required=False)),
    ]
    for name in ("accuracy", "precision", "recall", "f1_score", "roc_auc",
                 "expected_calibration_error", "brier_score", "prediction_accuracy_trend"):
        checks.append((name, _number_field(record, name, required=False)))
    metrics = record.get("metrics", {})
    checks.append(("metrics", (None, metrics) if isinstance(metrics, dict) else (
        "metrics: must be an object", None)))
    problems, row = _collect(checks)
    return "; ".join(problems) if problems else row


def alert_row(record: dict) -> dict | str:
    """An alerts.jsonl record → Alert fields (rule left to the caller), or the reason."""
    acknowledged = record.get("acknowledged", False)
    severity = record.get("severity")
    checks = [
        ("alert_id", _text_field(record, "alert_id", Alert._meta.get_field("alert_id").max_length)),
        ("timestamp", _epoch_field(record, "timestamp")),
        ("severity", (None, severity) if severity in Severity.values else (
            f"severity: must be one of {', '.join(Severity.values)}, got {severity!r}", None)),
        ("title", _text_field(record, "title", 255)),
        ("message", _text_field(record, "message", 10**6, required=False)),
        ("metric_name", _text_field(record, "metric_name", 64, required=False)),
        ("metric_value", _number_field(record, "metric_value", required=False)),
        ("threshold", _number_field(record, "threshold", required=False)),
        ("component", _text_field(record, "component", 64, required=False)),
        ("model_version", _text_field(record, "model_version", 64, required=False)),
        ("acknowledged", (None, acknowledged) if isinstance(acknowledged, bool) else (
            f"acknowledged: must be true or false, got {acknowledged!r}", None)),
        ("acknowledged_at", _epoch_field(record, "acknowledged_at", required=False)),
        ("acknowledged_by", _text_field(record, "acknowledged_by", 150, required=False)),
    ]
    problems, row = _collect(checks)
    if problems:
        return "; ".join(problems)
    if row["acknowledged"]:
        row["status"] = AlertStatus.ACKNOWLEDGED
    return row


def same_alert(stored: Alert, row: dict) -> bool:
    return all(getattr(stored, name) == row[name] for name in ALERT_CORE)


def match_rule(rules: list[AlertRule], row: dict) -> AlertRule | None:
    """The rule that fired a legacy alert: same metric and component, the title it
    writes, and (when several fit) the same threshold and severity."""
    fitting = [
        rule for rule in rules
        if rule.metric_name == row["metric_name"]
        and rule.component == row["component"]
        and alert_title(rule.component, rule.metric_name) == row["title"]
        and (not rule.model_version or rule.model_version == row["model_version"])
    ]
    if len(fitting) > 1:
        fitting = [
            rule for rule in fitting
            if rule.threshold == row["threshold"] and rule.severity == row["severity"]
        ] or fitting
    return fitting[0] if len(fitting) == 1 else None


RULE_EXTRAS = ("name", "description", "model_version")


def rule_from_record(record) -> AlertRule | str:
    """An alert_rules.json element → an unsaved, validated AlertRule, or the reason."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("rule_id"), str) or not record["rule_id"]:
        return "rule_id: missing"
    known = {f.name for f in AlertRule._meta.concrete_fields}
    unknown = sorted(set(record) - known)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    values = {
        "metric_type": "threshold", "enabled": True, "cooldown_minutes": 60,
        "channels": ["console"], "conditions": {},
    }
    values.update({k: v for k, v in record.items() if k not in ("id", "last_triggered",
                                                               "created_at", "updated_at")})
    for name in ("enabled",):
        if not isinstance(values[name], bool):
            return f"{name}: must be true or false"
    try:
        rule = AlertRule(**values)
        rule.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return describe_errors(exc.message_dict)
    except (TypeError, ValueError) as exc:
        return _one_line(exc)
    return rule


RULE_COMPARED = (
    "metric_name", "metric_type", "threshold", "comparison", "severity", "component",
    "enabled", "cooldown_minutes", "channels", "conditions", *RULE_EXTRAS,
)


def same_rule(stored: AlertRule, rule: AlertRule) -> bool:
    return all(getattr(stored, name) == getattr(rule, name) for name in RULE_COMPARED)


def rebuild_cooldowns() -> int:
    """Cooldowns and ``last_triggered`` from the alert history: per (rule, version) the
    newest alert. Only moves them forward; returns how many cooldown rows changed."""
    changed = 0
    newest_per_rule: dict[int, object] = {}
    for entry in (
        Alert.objects.filter(rule__isnull=False)
        .values("rule_id", "model_version")
        .annotate(newest=Max("timestamp"))
        .order_by()
    ):
        rule_id, version, newest = entry["rule_id"], entry["model_version"], entry["newest"]
        cooldown, created = RuleCooldown.objects.get_or_create(
            rule_id=rule_id, model_version=version, defaults={"last_fired_at": newest}
        )
        if created:
            changed += 1
        else:
            changed += RuleCooldown.objects.filter(pk=cooldown.pk).filter(
                Q(last_fired_at__isnull=True) | Q(last_fired_at__lt=newest)
            ).update(last_fired_at=newest)
        if rule_id not in newest_per_rule or newest_per_rule[rule_id] < newest:
            newest_per_rule[rule_id] = newest
    for rule_id, newest in newest_per_rule.items():
        AlertRule.objects.filter(pk=rule_id).filter(
            Q(last_triggered__isnull=True) | Q(last_triggered__lt=newest)
        ).update(last_triggered=newest)
    return changed


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}"[:300]
