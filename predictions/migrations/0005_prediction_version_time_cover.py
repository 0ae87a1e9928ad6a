"""The (model_version, timestamp) index covers the columns the scanning figures read.

On PostgreSQL it becomes a covering index (INCLUDE predicted_outcome, confidence,
actual_outcome, latency_ms): the exact ROC AUC and the latency percentiles over a window
are one index-only pass (SPEC §9), measured in docs/PERFORMANCE.md "Volume curve". It
replaces the plain index on the same key, so a write still updates as many indexes.
SQLite has no INCLUDE: there the new index is the old one under a new name.

Building it locks writes to predictions_prediction while it runs (about 10 s per million
rows on a small machine): on a large table, run the migration in a quiet moment.
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("predictions", "0004_hourly_aggregates"),
    ]

    operations = [
        # Added before the old one goes, so no moment is without an index on the key.
        migrations.AddIndex(
            model_name="prediction",
            index=models.Index(
                fields=["model_version", "timestamp"],
                include=("predicted_outcome", "confidence", "actual_outcome", "latency_ms"),
                name="prediction_version_time_cover",
            ),
        ),
        migrations.RemoveIndex(
            model_name="prediction",
            name="prediction_version_time",
        ),
    ]
