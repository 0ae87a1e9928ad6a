"""manage.py pack_features [--batch-size N]: pack the numeric features of older rows."""
from django.core.management.base import BaseCommand, CommandError

from predictions.feature_pack import backfill


class Command(BaseCommand):
    help = (
        "Store the numeric features of predictions written before packing existed as "
        "packed float64 values (what drift reports read fast); rows packed already are "
        "left alone, so it can run again, or be stopped and resumed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000,
                            help="Rows per transaction (default 5000).")

    def handle(self, *args, batch_size=5000, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        examined, packed = backfill(batch_size)
        self.stdout.write(self.style.SUCCESS(
            f"Examined {examined} unpacked prediction(s); packed {packed} "
            f"(the others' features are not objects)."
        ))
