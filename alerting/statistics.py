"""How noisy a rule is (SPEC §10): incidents, notifications, how fast people react.

A handful of aggregate queries per rule; the medians read two timestamps of the rule's
alerts of the last 30 days (values_list), never whole rows.
"""
from __future__ import annotations

import statistics
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from alerting.choices import DeliveryStatus
from alerting.models import Alert, Delivery

NOISIEST_RULES = 5


def _median_seconds(pairs) -> float | None:
    durations = [(later - start).total_seconds() for start, later in pairs if later is not None]
    return round(statistics.median(durations), 3) if durations else None


def rule_statistics(rule, now=None) -> dict:
    """incidents_7d/30d, notifications_30d, acknowledged_pct, median times, silenced_30d."""
    now = now or timezone.now()
    month_ago, week_ago = now - timedelta(days=30), now - timedelta(days=7)
    recent = Alert.objects.filter(rule=rule, timestamp__gte=month_ago, timestamp__lte=now)
    counts = recent.aggregate(
        incidents_30d=Count("id"),
        incidents_7d=Count("id", filter=Q(timestamp__gte=week_ago)),
        acknowledged=Count("id", filter=Q(acknowledged=True)),
        silenced_30d=Count("id", filter=Q(silenced=True)),
    )
    notifications = Delivery.objects.filter(
        alert__rule=rule, status=DeliveryStatus.SENT, sent_at__gte=month_ago
    ).count()
    incidents = counts["incidents_30d"]
    return {
        "rule_id": rule.rule_id,
        "incidents_7d": counts["incidents_7d"],
        "incidents_30d": incidents,
        "notifications_30d": notifications,
        "acknowledged_pct": (
            round(100.0 * counts["acknowledged"] / incidents, 2) if incidents else None
        ),
        "median_time_to_ack_s": _median_seconds(
            recent.values_list("timestamp", "acknowledged_at")
        ),
        "median_time_to_resolve_s": _median_seconds(
            recent.values_list("timestamp", "resolved_at")
        ),
        "silenced_30d": counts["silenced_30d"],
    }


def noisiest_rules(now=None, limit: int = NOISIEST_RULES) -> list[dict]:
    """The rules with the most incidents in 30 days: [{rule_id, name, incidents_30d}]."""
    now = now or timezone.now()
    return list(
        Alert.objects.filter(rule__isnull=False, timestamp__gte=now - timedelta(days=30))
        .order_by()
        .values("rule__rule_id", "rule__name")
        .annotate(incidents_30d=Count("id"))
        .order_by("-incidents_30d", "rule__rule_id")[:limit]
    )
