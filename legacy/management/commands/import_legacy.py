"""manage.py import_legacy DATA_DIR: bring a legacy data directory into the database."""
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from legacy.importing import DEFAULT_BATCH_SIZE, import_legacy_dir

LISTED_IN_TEXT = 50


class Command(BaseCommand):
    help = (
        "Import a legacy monitoring data directory (predictions.jsonl, metrics.jsonl, "
        "health_snapshots.jsonl, alerts.jsonl, alert_rules.json). Idempotent: running it "
        "again adds nothing. Every line is accounted for in the report."
    )

    def add_arguments(self, parser):
        parser.add_argument("data_dir", type=Path)
        parser.add_argument("--dry-run", action="store_true",
                            help="validate and report, store nothing")
        parser.add_argument("--rejects", type=Path, default=None,
                            help="where rejected lines go (default DATA_DIR/import_rejects.jsonl)")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--workers", type=int, default=None,
            help="processes that parse predictions.jsonl (default: 2 for files over 32 MB "
                 "on PostgreSQL, else 0 = in this process)",
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["workers"] is not None and options["workers"] < 0:
            raise CommandError("--workers must be 0 or more")
        show_progress = not options["json"] and self.stdout.isatty()
        self._last_progress = time.monotonic()
        self._file = None
        try:
            report = import_legacy_dir(
                options["data_dir"],
                dry_run=options["dry_run"],
                rejects_path=options["rejects"],
                batch_size=options["batch_size"],
                progress=self._progress if show_progress else None,
                parse_workers=options["workers"],
            )
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise CommandError(str(exc)) from exc
        if show_progress:
            self.stdout.write("\r\033[K", ending="")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._print(report)
        if not report.all_lines_accounted:
            raise CommandError("some lines were not accounted for (a bug): see the report")

    def _progress(self, name, lines, done, total):
        now = time.monotonic()
        if name != self._file:  # a new file started after the previous report
            self._file, self._file_started = name, self._last_progress
        self._last_progress = now
        elapsed = max(now - self._file_started, 1e-6)
        share = f"{100 * done / total:5.1f}%" if total else "  -  "
        self.stdout.write(
            f"\r\033[K{name}: {share}  {lines:,} lines  {lines / elapsed:,.0f} lines/s",
            ending="",
        )
        self.stdout.flush()

    def _print(self, report):
        write = self.stdout.write
        title = "Dry run (nothing stored)" if report.dry_run else "Imported"
        write(self.style.MIGRATE_HEADING(f"{title}: {report.data_dir} in {report.seconds:.1f} s"))
        write(f"  {'file':<24}{'lines':>10}{'imported':>10}{'updated':>9}{'present':>9}"
              f"{'dupes':>8}{'rejected':>10}{'blank':>7}")
        for name, counts in report.files.items():
            if not counts.found:
                write(f"  {name:<24}{'(absent)':>10}")
                continue
            write(f"  {name:<24}{counts.lines:>10,}{counts.imported:>10,}{counts.updated:>9,}"
                  f"{counts.already_present:>9,}{counts.duplicates:>8,}{counts.rejected:>10,}"
                  f"{counts.blank:>7,}")
        for renamed in report.renamed_alert_ids:
            write(f"  {renamed['file']}:{renamed['line']}: alert_id {renamed['alert_id']} "
                  f"collides with another alert; stored as {renamed['stored_as']}")
        if report.cooldowns_rebuilt:
            write(f"  rule cooldowns rebuilt from the alert history: {report.cooldowns_rebuilt}")
        if report.rejections_total:
            write(self.style.WARNING(f"Rejected lines: {report.rejections_total}"))
            for rejection in report.rejections[:LISTED_IN_TEXT]:
                write(f"  {rejection['file']}:{rejection['line']}: {rejection['reason']}")
            if report.rejections_total > LISTED_IN_TEXT:
                write(f"  … and {report.rejections_total - LISTED_IN_TEXT} more")
            if report.rejects_path:
                write(f"Rejected lines (verbatim): {report.rejects_path}")
                write(f"Their reasons, one per line: {report.reasons_path}")
            else:
                write("(dry run: no rejects file written; pass --rejects PATH to get one)")
        else:
            write(self.style.SUCCESS("No line rejected."))
