"""Preview a rule before saving it (SPEC §10): the rule replayed over the stored history.

Hour by hour, each version's figures over the rule's window ending at that hour
(``predictions.series.trailing_series``, from the hourly aggregates) go through
``alerting.engine.replay`` — the same ``decide`` the engine applies to live evaluations,
with pending, recovery and cooldown — so the preview shows what the rule would have done.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from alerting.engine import Policy, replay
from predictions.choices import MetricName
from predictions.models import PredictionHour
from predictions.rollups import epoch_hour
from predictions.series import trailing_series
from predictions.snapshots import registry_versions_watched

MIN_DAYS, MAX_DAYS = 1, 90
# The metrics the hourly aggregates determine; the others (ROC AUC, latency, drift, trend)
# preview as an empty series.
REPLAYABLE_METRICS = frozenset({
    MetricName.NUM_PREDICTIONS, MetricName.AVG_CONFIDENCE, MetricName.MIN_CONFIDENCE,
    MetricName.MAX_CONFIDENCE, MetricName.CONFIDENCE_STD, MetricName.POSITIVE_RATE,
    MetricName.PREDICTION_ENTROPY, MetricName.LABEL_COVERAGE, MetricName.ACCURACY,
    MetricName.PRECISION, MetricName.RECALL, MetricName.F1_SCORE, MetricName.BRIER_SCORE,
    MetricName.EXPECTED_CALIBRATION_ERROR, MetricName.OVERCONFIDENCE_GAP,
})


def preview_window(days: int, now=None):
    """(start, end) of a preview: ``days`` back from the last full hour."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end


def versions_to_preview(rule, start, end, window_minutes) -> list[str]:
    """The rule's version, or every production or staging version (evaluated without data
    too) and the versions with predictions in the range, the busiest first, up to
    MONITORING_PREVIEW_MAX_VERSIONS: each costs a replay of every hour, and a site that
    has seen hundreds of versions would otherwise answer in minutes."""
    if rule.model_version:
        return [rule.model_version]
    watched = registry_versions_watched()
    room = max(settings.MONITORING_PREVIEW_MAX_VERSIONS - len(watched), 0)
    # From the hourly aggregates (whole hours around the range): no scan of predictions.
    busiest = (
        PredictionHour.objects.filter(
            hour__gte=epoch_hour(start - timedelta(minutes=window_minutes)),
            hour__lt=epoch_hour(end),
        )
        .exclude(model_version__in=watched)
        .values("model_version").annotate(rows=Sum("n"))
        .order_by("-rows", "model_version").values_list("model_version", flat=True)[:room]
    )
    return sorted({*busiest, *watched})


def rule_window_minutes(rule) -> int:
    return rule.window_minutes or settings.MONITORING_DEFAULT_WINDOW_MINUTES


def replay_points(rule, points) -> dict:
    """The replay of one version's points (dicts with start, num_with_outcome, metric)."""
    values = [
        (p["start"], p.get(rule.metric_name) if rule.metric_name in REPLAYABLE_METRICS else None,
         p.get("num_with_outcome"))
        for p in points
    ]
    replayed = replay(Policy.of(rule), values)
    return {
        "incidents": [
            {"start": i.start, "end": i.end, "peak_value": i.peak_value}
            for i in replayed.incidents
        ],
        "series": [{"start": moment, "value": value} for moment, value in replayed.series],
    }


def preview_rule(rule, days: int, now=None) -> list[dict]:
    """Per version: the incidents the rule would have opened over ``days``, and the series
    of values it would have seen (``rule`` is validated, not necessarily saved)."""
    start, end = preview_window(days, now)
    window = rule_window_minutes(rule)
    metrics = [rule.metric_name if rule.metric_name in REPLAYABLE_METRICS
               else MetricName.NUM_PREDICTIONS.value]
    previews = []
    for version in versions_to_preview(rule, start, end, window):
        points = trailing_series(version, start, end, window, metrics)
        previews.append({"model_version": version, **replay_points(rule, points)})
    return previews
