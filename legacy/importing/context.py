"""What every file's importer shares in one run: its settings, the report, and reading lines."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from legacy.formats import file_lines
from legacy.importing.report import MAX_LISTED_REJECTIONS, FileReport, ImportReport, RejectsFile
from legacy.parsing import json_object

PROGRESS_EVERY_LINES = 20000
PARSE_CHUNK_LINES = 2000

ProgressCallback = Callable[[str, int, int, int], None]  # file, lines, bytes done, bytes


class ImportRun:
    """One import run: its options, report and rejects file, and the primary-key
    high-water marks taken when it started (rows above them were inserted by this run)."""

    def __init__(self, data_dir: Path, *, dry_run: bool, rejects: RejectsFile,
                 batch_size: int, progress: ProgressCallback | None,
                 parse_workers: int | None):
        self.data_dir = data_dir
        self.dry_run = dry_run
        self.rejects = rejects
        self.batch_size = batch_size
        self.progress = progress
        self.parse_workers = parse_workers
        self.report = ImportReport(data_dir=str(data_dir), dry_run=dry_run)
        self.watermarks: dict = {}
        # Outside any caller's transaction, prediction batches may be written on a
        # connection of their own (committed batch by batch, or rolled back in a dry run).
        self.own_transactions = False

    def reject(self, counts: FileReport, number: int, raw: bytes, reason: str) -> None:
        """Count a rejected line, list it in the report, copy it to the rejects file."""
        counts.rejected += 1
        self.report.rejections_total += 1
        if len(self.report.rejections) < MAX_LISTED_REJECTIONS:
            self.report.rejections.append(
                {"file": counts.file, "line": number, "reason": reason}
            )
        self.rejects.write(counts.file, number, reason, raw)

    def json_lines(self, path: Path, counts: FileReport) -> Iterator[tuple[int, bytes, dict]]:
        """(line number, raw bytes, JSON object) for each line that parses; the rest are
        counted as blank or rejected here."""
        total = path.stat().st_size
        done = 0
        with path.open("rb") as source:
            for number, raw in file_lines(source):
                done += len(raw)
                counts.lines += 1
                if self.progress is not None and number % PROGRESS_EVERY_LINES == 0:
                    self.progress(counts.file, number, done, total)
                if not raw.strip():
                    counts.blank += 1
                    continue
                record, problem = json_object(raw)
                if problem is not None:
                    self.reject(counts, number, raw, problem)
                    continue
                yield number, raw, record
        if self.progress is not None:
            self.progress(counts.file, counts.lines, done, total)

    def raw_chunks(self, path: Path, counts: FileReport) -> Iterator[list[tuple[int, bytes]]]:
        """(line number, raw bytes) in chunks, counting lines and reporting progress."""
        total = path.stat().st_size
        done = 0
        chunk: list[tuple[int, bytes]] = []
        with path.open("rb") as source:
            for number, raw in file_lines(source):
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
