"""The webhook channel: the alert as a JSON POST, signed when a secret is configured.

The signature lets a receiver check that the POST comes from this site and was not
replayed: header ``X-Monitoring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` keyed with the rule's ``conditions.webhook_secret``, else
``MONITORING_WEBHOOK_SECRET``. The README shows the receiver's side.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings

from alerting.channels.base import (
    Channel,
    alert_payload,
    not_configured,
    post_body,
    rule_condition,
)
from alerting.choices import ChannelName, DeliveryKind

SIGNATURE_HEADER = "X-Monitoring-Signature"


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value signing ``body`` at ``timestamp`` (default now)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookChannel(Channel):
    """A JSON POST of the alert to the rule's ``conditions.webhook_url``, signed."""

    name = ChannelName.WEBHOOK

    def send(self, alert, kind=DeliveryKind.ALERT):
        url = rule_condition(alert, "webhook_url") or self.config.get("url")
        if not url:
            raise not_configured("no webhook_url in the rule's conditions")
        body = json.dumps(alert_payload(alert, kind)).encode()
        secret = (
            rule_condition(alert, "webhook_secret")
            or self.config.get("secret")
            or settings.MONITORING_WEBHOOK_SECRET
        )
        headers = {SIGNATURE_HEADER: signature(secret, body)} if secret else {}
        post_body(url, body, headers)
