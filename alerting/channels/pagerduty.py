"""The PagerDuty channel: Events API v2, one PagerDuty incident per alert.

``dedup_key`` is the alert's id, so the trigger, the reminders, the acknowledgment and
the resolution all land on one PagerDuty incident. Acknowledging or resolving here
(alerting.lifecycle) sends ``acknowledge`` / ``resolve`` (``lifecycle_kinds``), so the
pager stops escalating once someone has the alert in hand.
"""
from __future__ import annotations

import json

from django.conf import settings

from alerting.channels.base import (
    Channel,
    ChannelError,
    alert_url,
    not_configured,
    post_json,
    rule_condition,
)
from alerting.choices import ChannelName, DeliveryKind

EVENT_ACTIONS = {
    DeliveryKind.ALERT: "trigger",
    DeliveryKind.REMINDER: "trigger",  # the same dedup_key: PagerDuty keeps one incident
    DeliveryKind.ACKNOWLEDGMENT: "acknowledge",
    DeliveryKind.RECOVERY: "resolve",
}
# PagerDuty's severities are critical, error, warning and info; ours map onto them.
SEVERITIES = {"critical": "critical", "warning": "warning", "info": "info"}


def pagerduty_event(alert, kind, routing_key: str) -> dict:
    """The Events API v2 document of one notice about ``alert``."""
    event = {
        "routing_key": routing_key,
        "event_action": EVENT_ACTIONS.get(kind, "trigger"),
        "dedup_key": alert.alert_id,
    }
    if event["event_action"] == "trigger":
        event["payload"] = {
            "summary": alert.headline[:1024],
            "source": f"model {alert.model_version}" if alert.model_version else "model monitoring",
            "severity": SEVERITIES.get(alert.severity, "warning"),
            "timestamp": alert.timestamp.isoformat(),
            "component": alert.component or None,
            "group": alert.model_version or None,
            "class": alert.metric_name or None,
            "custom_details": {
                "message": alert.message,
                "metric_value": alert.metric_value,
                "threshold": alert.threshold,
                "rule_id": alert.rule.rule_id if alert.rule_id else None,
                "occurrences": alert.occurrences,
            },
        }
        event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
        event["links"] = [{"href": alert_url(alert), "text": "The alert on the monitoring site"}]
    return event


class PagerDutyChannel(Channel):
    """Events API v2 at ``PAGERDUTY_EVENTS_URL``, routed by the rule's or the site's key."""

    name = ChannelName.PAGERDUTY
    lifecycle_kinds = frozenset({DeliveryKind.ACKNOWLEDGMENT, DeliveryKind.RECOVERY})

    def send(self, alert, kind=DeliveryKind.ALERT):
        action = EVENT_ACTIONS.get(kind, "trigger")
        if action == "trigger" and not alert.is_open:
            return  # a late retry of an incident already over: nobody needs paging
        self.post(alert, kind)
        if action == "trigger" and alert.acknowledged:
            # The acknowledgment went out before this (retried) trigger reached PagerDuty,
            # which ignored it then: say it again so the incident does not escalate.
            self.post(alert, DeliveryKind.ACKNOWLEDGMENT)

    def post(self, alert, kind):
        routing_key = (
            rule_condition(alert, "pagerduty_routing_key")
            or self.config.get("routing_key")
            or settings.PAGERDUTY_ROUTING_KEY
        )
        if not routing_key:
            raise not_configured(
                "PagerDuty is not configured: set the rule's conditions.pagerduty_routing_key "
                "or PAGERDUTY_ROUTING_KEY"
            )
        url = self.config.get("url") or settings.PAGERDUTY_EVENTS_URL
        try:
            answer = post_json(url, pagerduty_event(alert, kind, routing_key))
        except ChannelError as exc:
            # 400: PagerDuty refused the event itself (e.g. an unknown routing key);
            # sending it again cannot help. 429 and 5xx are worth a retry.
            if exc.status == 400:
                raise ChannelError(f"PagerDuty refused the event: {exc.message}",
                                   permanent=True, status=400) from exc
            raise
        try:
            status = json.loads(answer or b"{}").get("status")
        except (ValueError, AttributeError):
            status = None
        if status not in (None, "success"):
            raise ChannelError(f"PagerDuty answered status {status!r}")
