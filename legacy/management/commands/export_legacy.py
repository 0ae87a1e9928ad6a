"""manage.py export_legacy OUT_DIR: write the database back as a legacy data directory."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from legacy.exporter import export_legacy_dir


class Command(BaseCommand):
    help = (
        "Write predictions, metrics, health snapshots, alerts and alert rules in the legacy "
        "file formats (the rollback path). import_legacy reads them back unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("out_dir", type=Path)
        parser.add_argument(
            "--legacy-only", action="store_true",
            help="write only the keys the legacy library knew (drops outcomes, latencies, "
                 "rule version scopes), for readers that refuse unknown keys",
        )

    def handle(self, *args, **options):
        try:
            report = export_legacy_dir(options["out_dir"], legacy_only=options["legacy_only"])
        except OSError as exc:
            raise CommandError(f"cannot write {options['out_dir']}: {exc}") from exc
        for name, written in report.files.items():
            self.stdout.write(f"  {name:<24}{written:>10,} records")
        self.stdout.write(self.style.SUCCESS(f"Exported to {report.out_dir}"))
