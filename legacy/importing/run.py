"""Import a legacy data directory, streaming, in batches, idempotently (SPEC §7).

Every line of every file ends up in exactly one bucket of the report: imported, updated
(an alert whose acknowledgment arrived later), already present (stored by an earlier
run), duplicate (the same record again in this run), rejected (with file:line and the
reason; the line itself is copied verbatim to the rejects file) or blank.

Memory stays flat whatever the size of a file: lines are read one at a time and only a
few batches are held (one being written while the next is parsed). Each file kind has
its module (``predictions``, ``records``, ``rules``, ``alerts``); this one runs them in
order, inside one rolled-back transaction for a dry run.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Max

from alerting.models import Alert, AlertRule
from legacy.formats import ALERTS, LEGACY_FILES, METRICS, PREDICTIONS, RULES, SNAPSHOTS
from legacy.importing.alerts import import_alerts, rebuild_cooldowns
from legacy.importing.context import ImportRun, ProgressCallback
from legacy.importing.predictions import import_predictions
from legacy.importing.records import import_metrics, import_snapshots
from legacy.importing.report import FileReport, ImportReport, RejectsFile
from legacy.importing.rules import import_rules
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction

DEFAULT_BATCH_SIZE = 5000
IMPORTERS = {
    RULES: import_rules,
    PREDICTIONS: import_predictions,
    METRICS: import_metrics,
    SNAPSHOTS: import_snapshots,
    ALERTS: import_alerts,
}


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
    run = ImportRun(
        data_dir,
        dry_run=dry_run,
        rejects=RejectsFile(Path(rejects_path) if rejects_path else None),
        batch_size=max(1, int(batch_size)),
        progress=progress,
        parse_workers=parse_workers,
    )
    started = time.monotonic()
    # Outside any caller's transaction, prediction batches may be written on a
    # connection of their own (committed batch by batch, or rolled back in a dry run).
    run.own_transactions = not connection.in_atomic_block
    try:
        if dry_run:
            try:
                with transaction.atomic():
                    _import_all(run)
                    raise _Rollback
            except _Rollback:
                pass
        else:
            _import_all(run)
    finally:
        run.rejects.close()
    report = run.report
    if run.rejects.written:
        report.rejects_path = str(run.rejects.path)
        report.reasons_path = str(run.rejects.reasons_path)
    report.seconds = round(time.monotonic() - started, 3)
    return report


class _Rollback(Exception):
    """Raised at the end of a dry run to undo everything it wrote."""


def _import_all(run: ImportRun) -> None:
    # Rows with a primary key above these were inserted by this run.
    run.watermarks = {
        model: model.objects.aggregate(top=Max("pk"))["top"] or 0
        for model in (Prediction, PerformanceMetric, HealthSnapshot, Alert, AlertRule)
    }
    for name in LEGACY_FILES:
        counts = run.report.files[name] = FileReport(file=name)
        path = run.data_dir / name
        if path.is_file():
            counts.found = True
            IMPORTERS[name](run, path, counts)
    run.report.cooldowns_rebuilt = rebuild_cooldowns()
