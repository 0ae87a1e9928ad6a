"""Snapshots of the past: ``compute_snapshots --since ISO --step 1h`` (SPEC §9).

Imported or late-arriving history has no snapshots, so rules' history, trends and the
degradation baseline have nothing to read. A backfill stores, at each step boundary t
from ``since`` to now, each version's snapshot over the bounded window [t − window, t)
(only versions with predictions in it), with the trend against the §9 baseline. It
evaluates no rule: history must not page anyone. Re-running it stores nothing twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from predictions.metrics import MetricWindow, metrics_of
from predictions.models import HealthSnapshot, PredictionHour
from predictions.rollups import HOUR_SECONDS
from predictions.snapshots import json_safe, with_trend

MAX_BOUNDARIES = 100_000


@dataclass
class BackfillReport:
    stored: int = 0
    already_there: int = 0
    boundaries: int = 0


def _boundaries(since: datetime, until: datetime, step: timedelta) -> list[datetime]:
    seconds = int(step.total_seconds())
    first = -(-int(since.timestamp()) // seconds) * seconds  # aligned in UTC
    last = int(until.timestamp())
    count = max(0, (last - first) // seconds + 1)
    if count > MAX_BOUNDARIES:
        raise ValueError(f"{count} steps is more than {MAX_BOUNDARIES}: a later --since "
                         "or a longer --step")
    return [datetime.fromtimestamp(first + i * seconds, tz=UTC)
            for i in range(count)]


def _versions_with_data(start: datetime, end: datetime, model_version: str | None):
    """Versions with predictions in [start, end), read from the hourly aggregates."""
    hours = PredictionHour.objects.filter(
        hour__gte=int(start.timestamp()) // HOUR_SECONDS,
        hour__lte=(int(end.timestamp()) - 1) // HOUR_SECONDS,
    )
    if model_version is not None:
        hours = hours.filter(model_version=model_version)
    return sorted(set(hours.values_list("model_version", flat=True)))


def backfill_snapshots(since: datetime, step: timedelta, window: timedelta | None = None,
                       model_version: str | None = None,
                       until: datetime | None = None) -> BackfillReport:
    """Store the snapshots of each step boundary since ``since`` (window default: step)."""
    window = window or step
    until = until or timezone.now()
    report = BackfillReport()
    for moment in _boundaries(since, until, step):
        report.boundaries += 1
        start = moment - window
        for version in _versions_with_data(start, moment, model_version):
            window_minutes = int(window.total_seconds() // 60)
            if HealthSnapshot.objects.filter(
                model_version=version, window_minutes=window_minutes, timestamp=moment
            ).exists():
                report.already_there += 1
                continue
            figures = json_safe(dict(metrics_of(MetricWindow(version, start, moment))))
            fields = {
                "timestamp": moment, "model_version": version,
                "window_minutes": window_minutes, "metrics": figures,
                **{name: figures.get(name) for name in HealthSnapshot.METRIC_FIELDS},
                **{name: figures.get(name) or 0 for name in HealthSnapshot.COUNT_FIELDS},
            }
            with transaction.atomic():
                snapshot = HealthSnapshot(**with_trend(fields))
                snapshot.metrics = {
                    **snapshot.metrics,
                    **{name: getattr(snapshot, name) for name in HealthSnapshot.TREND_FIELDS},
                }
                snapshot.save()
            report.stored += 1
    return report
