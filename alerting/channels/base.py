"""What every channel shares: the error they raise, the texts and documents of an alert,
an HTTP POST with the channel timeout, and the ``Channel`` base class.

``send(alert, kind)`` either returns (delivered) or raises ``ChannelError`` with a message
a person can act on; the delivery loop (alerting.deliveries) records it and retries with
backoff, unless the error is ``permanent`` (the channel is not configured: no token, no
URL, no recipients), which no retry can cure.
Network calls use ``MONITORING_CHANNEL_TIMEOUT_SECONDS``, so a hanging server cannot
stall the monitor. ``config`` (the legacy ``channel_config``) overrides the settings.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from alerting.choices import DeliveryKind

logger = logging.getLogger("alerting.channels")


class ChannelError(Exception):
    """A delivery failed; the message says why (shown as the delivery's last error).

    ``permanent``: trying again cannot help until someone changes the configuration, so
    the delivery is given up at once instead of being retried.
    """

    def __init__(self, message: str, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status  # the HTTP status the server answered, if it answered


def not_configured(message: str) -> ChannelError:
    """The error of a channel that lacks its configuration (never worth a retry)."""
    return ChannelError(message, permanent=True)


def alert_subject(alert, kind=DeliveryKind.ALERT) -> str:
    """The legacy title, marked for recoveries and reminders (log lines, the file)."""
    if kind == DeliveryKind.RECOVERY:
        return f"RESOLVED: {alert.title}"
    if kind == DeliveryKind.REMINDER:
        return f"REMINDER: {alert.title}"
    return alert.title


def alert_headline(alert, kind=DeliveryKind.ALERT) -> str:
    """The summary (``[v3] accuracy 0.6747 < 0.8000 over 24 h …``), marked like the subject:
    what e-mail subjects and Slack lead with."""
    headline = alert.summary or alert.title
    if kind == DeliveryKind.RECOVERY:
        return f"RESOLVED: {headline}"
    if kind == DeliveryKind.REMINDER:
        return f"REMINDER: {headline}"
    return headline


def worst_segments_text(alert) -> str:
    """``Worst segments: country=NL accuracy 0.1200 (40 labelled); …`` or ""."""
    segments = alert.worst_segments if isinstance(alert.worst_segments, list) else []
    if not segments:
        return ""
    return "Worst segments: " + "; ".join(
        f"{s['key']}={s['value']} accuracy {s['accuracy']:.4f} ({s['num_with_outcome']} labelled)"
        for s in segments
    )


def alert_text(alert, kind=DeliveryKind.ALERT) -> str:
    if kind == DeliveryKind.ALERT and worst_segments_text(alert):
        return f"{alert.message}\n  {worst_segments_text(alert)}"
    if kind == DeliveryKind.RECOVERY:
        return f"{alert.message} — recovered (resolved by {alert.resolved_by or 'system'})"
    if kind == DeliveryKind.REMINDER:
        return (f"{alert.message} — still unacknowledged, seen {alert.occurrences} time(s) "
                f"since {alert.timestamp:%Y-%m-%d %H:%M} UTC")
    return alert.message


def alert_payload(alert, kind=DeliveryKind.ALERT) -> dict:
    """The JSON document the webhook channel posts."""
    return {
        "kind": str(kind),
        "alert_id": alert.alert_id,
        "timestamp": alert.timestamp.isoformat(),
        "severity": alert.severity,
        "title": alert.title,
        "message": alert.message,
        "summary": alert.summary,
        "occurrences": alert.occurrences,
        "silenced": alert.silenced,
        "metric_name": alert.metric_name,
        "metric_value": alert.metric_value,
        "threshold": alert.threshold,
        "component": alert.component,
        "model_version": alert.model_version,
        "rule_id": alert.rule.rule_id if alert.rule_id else None,
        "status": alert.status,
        "acknowledged": alert.acknowledged,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "worst_segments": alert.worst_segments or [],
    }


def alert_url(alert) -> str:
    """The alert's page as an absolute URL (``MONITORING_SITE_URL`` + its path)."""
    path = reverse("alert-detail", args=[alert.alert_id])
    return settings.MONITORING_SITE_URL.rstrip("/") + path


def rule_condition(alert, key: str):
    """``alert.rule.conditions[key]``, or None (no rule, no such condition)."""
    if alert.rule_id and isinstance(alert.rule.conditions, dict):
        return alert.rule.conditions.get(key)
    return None


def post_json(url: str, document, headers: dict | None = None) -> bytes:
    """POST ``document`` as JSON with the channel timeout; ChannelError on any failure."""
    return post_body(url, json.dumps(document).encode(), headers)


def post_body(url: str, body: bytes, headers: dict | None = None) -> bytes:
    """POST a JSON ``body`` (bytes as given: a signature covers them) with the timeout."""
    if not url.lower().startswith(("http://", "https://")):
        raise not_configured(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(  # noqa: S310 (http(s) checked above)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    timeout = settings.MONITORING_CHANNEL_TIMEOUT_SECONDS
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        raise ChannelError(
            f"{url} answered HTTP {exc.code} {exc.reason}", status=exc.code
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if _timed_out(exc) or isinstance(reason, TimeoutError):
            raise ChannelError(f"{url} did not answer within {timeout} s") from exc
        raise ChannelError(f"{url} unreachable: {reason}") from exc


def _timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` or what it was raised from is a timeout (smtplib re-raises them)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, TimeoutError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class Channel:
    """A way to tell people about an alert. Subclasses implement ``send``."""

    name = ""
    # The kinds of notice a person's acknowledgment or resolution sends to this channel
    # (alerting.lifecycle), for channels that keep their own copy of the incident.
    lifecycle_kinds: frozenset = frozenset()
    # Whether firing alerts are posted again at every monitor pass (a channel that
    # forgets an alert nobody re-posts: Alertmanager).
    reposts_firing = False

    def __init__(self, config: dict | None = None):
        self.config = config or {}

    def send(self, alert, kind=DeliveryKind.ALERT) -> None:
        raise NotImplementedError

    def send_many(self, alerts) -> None:
        """Post several firing alerts again (channels with ``reposts_firing``)."""
        for alert in alerts:
            self.send(alert, DeliveryKind.ALERT)
