"""manage.py compute_snapshots: snapshot one version (or every active one) and evaluate rules;
with --since, backfill the snapshots of the history instead (no rule evaluated)."""
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerting.monitor import run_monitor_pass
from predictions.backfill import backfill_snapshots

STEPS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "1d": timedelta(days=1)}


class Command(BaseCommand):
    help = (
        "Compute and store health snapshots for a model version (or every version with "
        "predictions in the window), evaluate the alert rules on them and send the alerts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", default=None, help="Only this version.")
        parser.add_argument(
            "--window-minutes",
            type=int,
            default=None,
            help="Window of predictions to measure (default "
            "MONITORING_DEFAULT_WINDOW_MINUTES; with --since, the step).",
        )
        parser.add_argument(
            "--since", help="Backfill: a snapshot at every step from this ISO 8601 date-time "
            "to now, over [t − window, t), for the versions with data; no rule is evaluated.",
        )
        parser.add_argument("--step", choices=sorted(STEPS), default="1h",
                            help="Backfill step (default %(default)s).")

    def handle(self, *args, model_version=None, window_minutes=None, since=None, step="1h",
               **options):
        if window_minutes is not None and window_minutes < 1:
            raise CommandError("--window-minutes must be at least 1")
        if since:
            return self._backfill(since, STEPS[step], model_version, window_minutes)
        window_minutes = window_minutes or settings.MONITORING_DEFAULT_WINDOW_MINUTES
        result = run_monitor_pass(model_version=model_version, window_minutes=window_minutes)
        for snapshot in result.snapshots:
            accuracy = "-" if snapshot.accuracy is None else f"{snapshot.accuracy:.4f}"
            self.stdout.write(
                f"snapshot {snapshot.model_version}: {snapshot.num_predictions} predictions, "
                f"{snapshot.num_with_outcome} labelled, accuracy {accuracy}"
                + (" — DEGRADED" if snapshot.degradation_detected else "")
            )
        for alert in result.alerts_fired:
            self.stdout.write(self.style.WARNING(f"alert {alert.alert_id}: {alert.title}"))
        for alert in result.alerts_resolved:
            self.stdout.write(f"resolved {alert.alert_id}: {alert.title}")
        if not result.snapshots:
            self.stdout.write(self.style.WARNING("no model version with predictions in the window"))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.snapshots)} snapshot(s), {len(result.alerts_fired)} alert(s) "
                f"fired, {len(result.alerts_resolved)} resolved, "
                f"{result.deliveries_sent} notification(s) sent"
            )
        )

    def _backfill(self, since, step, model_version, window_minutes):
        try:
            moment = parse_datetime(since)
        except ValueError:
            moment = None
        if moment is None:
            raise CommandError(f"--since {since!r} is not an ISO 8601 date-time "
                               "(e.g. 2026-11-01T00:00:00Z)")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        window = timedelta(minutes=window_minutes) if window_minutes else None
        try:
            report = backfill_snapshots(moment, step, window, model_version)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"{report.stored} snapshot(s) stored over {report.boundaries} step(s), "
            f"{report.already_there} already there; no rule evaluated"
        ))
