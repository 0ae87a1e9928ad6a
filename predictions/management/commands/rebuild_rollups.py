"""manage.py rebuild_rollups [--model-version V] [--since ISO]: recompute the hourly sums."""
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from predictions.rollups import rebuild

MAX_LISTED = 50


class Command(BaseCommand):
    help = (
        "Recompute the hourly aggregates that series and windows read from the stored "
        "predictions, and report every cell that differed from the maintained one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", help="Only this version (default: all).")
        parser.add_argument(
            "--since", help="Only hours from this ISO 8601 date-time on (default: all time)."
        )

    def handle(self, *args, model_version=None, since=None, **options):
        since_moment = None
        if since:
            try:
                since_moment = parse_datetime(since)
            except ValueError:
                since_moment = None
            if since_moment is None:
                raise CommandError(f"--since {since!r} is not an ISO 8601 date-time.")
            if timezone.is_naive(since_moment):
                since_moment = timezone.make_aware(since_moment, timezone.get_default_timezone())
        report = rebuild(model_version=model_version, since=since_moment)
        for line in report.differences[:MAX_LISTED]:
            self.stdout.write(self.style.WARNING(line))
        if len(report.differences) > MAX_LISTED:
            self.stdout.write(f"… and {len(report.differences) - MAX_LISTED} more differences")
        summary = (
            f"Rebuilt {report.prediction_hours} prediction hours and "
            f"{report.outcome_hours} outcome hours; {len(report.differences)} differed."
        )
        style = self.style.WARNING if report.differences else self.style.SUCCESS
        self.stdout.write(style(summary))
