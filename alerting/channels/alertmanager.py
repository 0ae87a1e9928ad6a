"""The Alertmanager channel: incidents posted to Alertmanager's ``/api/v2/alerts``.

Alertmanager considers an alert resolved once it has not been posted for its
``resolve_timeout``, so a firing incident is posted again at every monitor pass
(``reposts_firing``; alerting.deliveries.repost_firing) and its resolution is posted
with ``endsAt``, whoever resolved it (``lifecycle_kinds``).
"""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from alerting.channels.base import Channel, alert_url, not_configured, post_json
from alerting.choices import ChannelName, DeliveryKind

# Alertmanager accepts a list per POST; a huge backlog goes in slices of this size.
BATCH = 500


def alertname(alert) -> str:
    """The rule's id; an alert created without a rule is named after its metric."""
    if alert.rule_id:
        return alert.rule.rule_id
    return alert.metric_name or "monitoring_alert"


def alertmanager_alert(alert, kind=DeliveryKind.ALERT) -> dict:
    """One alert as Alertmanager's API v2 takes it (a resolution carries ``endsAt``)."""
    labels = {
        "alertname": alertname(alert),
        "model_version": alert.model_version,
        "severity": alert.severity,
        "component": alert.component,
    }
    document = {
        # An empty label is no label to Alertmanager: leave it out rather than send "".
        "labels": {name: value for name, value in labels.items() if value},
        "annotations": {"summary": alert.headline, "description": alert.message},
        "startsAt": alert.timestamp.isoformat(),
        "generatorURL": alert_url(alert),
    }
    # A resolved alert always carries its end, even in a late retry of its first post.
    if kind == DeliveryKind.RECOVERY or alert.resolved_at is not None:
        document["endsAt"] = (alert.resolved_at or timezone.now()).isoformat()
    return document


class AlertmanagerChannel(Channel):
    """POSTs the alert to ``ALERTMANAGER_URL``/api/v2/alerts; Alertmanager routes it."""

    name = ChannelName.ALERTMANAGER
    lifecycle_kinds = frozenset({DeliveryKind.RECOVERY})
    reposts_firing = True

    def endpoint(self) -> str:
        base = self.config.get("url") or settings.ALERTMANAGER_URL
        if not base:
            raise not_configured("Alertmanager is not configured: set ALERTMANAGER_URL")
        return base.rstrip("/") + "/api/v2/alerts"

    def send(self, alert, kind=DeliveryKind.ALERT):
        post_json(self.endpoint(), [alertmanager_alert(alert, kind)])

    def send_many(self, alerts):
        alerts = list(alerts)
        for start in range(0, len(alerts), BATCH):
            post_json(self.endpoint(), [alertmanager_alert(a) for a in alerts[start:start + BATCH]])
