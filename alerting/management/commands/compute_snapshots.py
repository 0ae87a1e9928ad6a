"""manage.py compute_snapshots: snapshot one version (or every active one) and evaluate rules."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alerting.monitor import run_monitor_pass


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
            default=settings.MONITORING_DEFAULT_WINDOW_MINUTES,
            help="Window of predictions to measure (default %(default)s).",
        )

    def handle(self, *args, model_version=None, window_minutes=60, **options):
        if window_minutes < 1:
            raise CommandError("--window-minutes must be at least 1")
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
