"""Where alerts are sent: one small class per channel, found by name in ``CHANNELS``.

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
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from alerting.choices import ChannelName, DeliveryKind

logger = logging.getLogger("alerting.channels")


class ChannelError(Exception):
    """A delivery failed; the message says why (shown as the delivery's last error).

    ``permanent``: trying again cannot help until someone changes the configuration, so
    the delivery is given up at once instead of being retried.
    """

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


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


def post_json(url: str, document: dict, headers: dict | None = None) -> bytes:
    """POST ``document`` as JSON with the channel timeout; ChannelError on any failure."""
    body = json.dumps(document).encode()
    request = urllib.request.Request(  # noqa: S310 (http(s) URLs checked by AlertRule.clean)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    if not url.lower().startswith(("http://", "https://")):
        raise not_configured(f"not an http(s) URL: {url!r}")
    timeout = settings.MONITORING_CHANNEL_TIMEOUT_SECONDS
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"{url} answered HTTP {exc.code} {exc.reason}") from exc
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

    def __init__(self, config: dict | None = None):
        self.config = config or {}

    def send(self, alert, kind=DeliveryKind.ALERT) -> None:
        raise NotImplementedError


class ConsoleChannel(Channel):
    """A log line ``[SEVERITY] title: message`` on the site's log."""

    name = ChannelName.CONSOLE

    def send(self, alert, kind=DeliveryKind.ALERT):
        level = logging.INFO if kind == DeliveryKind.RECOVERY else logging.WARNING
        logger.log(
            level,
            "[%s] %s: %s",
            alert.severity.upper(),
            alert_subject(alert, kind),
            alert_text(alert, kind),
        )


class FileChannel(Channel):
    """Appends to ``MONITORING_ALERT_LOG`` in the legacy alert_log.txt format."""

    name = ChannelName.FILE

    def send(self, alert, kind=DeliveryKind.ALERT):
        path = Path(self.config.get("path") or settings.MONITORING_ALERT_LOG)
        stamp = time.time() if kind == DeliveryKind.RECOVERY else alert.timestamp.timestamp()
        entry = (
            f"[{stamp}] [{alert.severity}] {alert_subject(alert, kind)}\n"
            f"  {alert_text(alert, kind)}\n\n"
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write(entry)
        except OSError as exc:
            raise ChannelError(f"cannot write {path}: {exc}") from exc


class EmailChannel(Channel):
    """Django's mail framework, to ``ALERT_EMAIL_RECIPIENTS``."""

    name = ChannelName.EMAIL

    def send(self, alert, kind=DeliveryKind.ALERT):
        recipients = self.config.get("recipients") or settings.ALERT_EMAIL_RECIPIENTS
        if isinstance(recipients, str):
            recipients = [r.strip() for r in recipients.split(",") if r.strip()]
        if not recipients:
            raise not_configured("no recipients: set ALERT_EMAIL_RECIPIENTS")
        body = (
            f"{alert_subject(alert, kind)}\n{alert_text(alert, kind)}\n\n"
            f"Severity: {alert.severity}\nComponent: {alert.component}\n"
            f"Model version: {alert.model_version or '-'}\n"
            f"Metric: {alert.metric_name} = {alert.metric_value} "
            f"(threshold {alert.threshold})\nAlert id: {alert.alert_id}\n"
        )
        sender = self.config.get("sender") or settings.DEFAULT_FROM_EMAIL
        subject = f"[{alert.severity.upper()}] {alert_headline(alert, kind)}"
        try:
            connection = get_connection(
                fail_silently=False, timeout=settings.MONITORING_CHANNEL_TIMEOUT_SECONDS
            )
        except TypeError:  # a backend without a timeout (console, locmem)
            connection = get_connection(fail_silently=False)
        try:
            EmailMessage(subject, body, sender, list(recipients), connection=connection).send()
        except Exception as exc:  # smtplib, socket and backend errors alike
            if _timed_out(exc):
                raise ChannelError(
                    "email not sent: the mail server did not answer within "
                    f"{settings.MONITORING_CHANNEL_TIMEOUT_SECONDS} s"
                ) from exc
            raise ChannelError(f"email not sent: {exc.__class__.__name__}: {exc}") from exc


class SlackChannel(Channel):
    """Slack: a bot token + channel (chat.postMessage), or an incoming webhook."""

    name = ChannelName.SLACK
    EMOJI = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}

    def send(self, alert, kind=DeliveryKind.ALERT):
        token = self.config.get("bot_token", settings.ALERT_SLACK_BOT_TOKEN)
        channel = self.config.get("channel", settings.ALERT_SLACK_CHANNEL)
        webhook_url = self.config.get("webhook_url", settings.SLACK_WEBHOOK_URL)
        icon = ":white_check_mark:" if kind == DeliveryKind.RECOVERY else self.EMOJI.get(
            alert.severity, ""
        )
        text = (
            f"{icon} *{alert_headline(alert, kind)}*\n{alert_subject(alert, kind)}: "
            f"{alert_text(alert, kind)}"
        ).strip()
        if token and channel:
            api_url = self.config.get("api_url", settings.SLACK_API_URL).rstrip("/")
            answer = post_json(
                f"{api_url}/chat.postMessage",
                {"channel": channel, "text": text},
                headers={"Authorization": f"Bearer {token}"},
            )
            try:
                decoded = json.loads(answer or b"{}")
            except ValueError as exc:
                raise ChannelError("Slack answered something that is not JSON") from exc
            if not isinstance(decoded, dict) or not decoded.get("ok"):
                error = decoded.get("error") if isinstance(decoded, dict) else None
                raise ChannelError(f"Slack refused the message: {error or 'unknown error'}")
        elif webhook_url:
            post_json(webhook_url, {"text": text})
        else:
            raise not_configured(
                "Slack is not configured: set ALERT_SLACK_BOT_TOKEN and ALERT_SLACK_CHANNEL, "
                "or SLACK_WEBHOOK_URL"
            )


class WebhookChannel(Channel):
    """A JSON POST of the alert to the rule's ``conditions.webhook_url``."""

    name = ChannelName.WEBHOOK

    def send(self, alert, kind=DeliveryKind.ALERT):
        url = None
        if alert.rule_id and isinstance(alert.rule.conditions, dict):
            url = alert.rule.conditions.get("webhook_url")
        url = url or self.config.get("url")
        if not url:
            raise not_configured("no webhook_url in the rule's conditions")
        post_json(url, alert_payload(alert, kind))


CHANNELS: dict[str, type[Channel]] = {
    ChannelName.CONSOLE: ConsoleChannel,
    ChannelName.FILE: FileChannel,
    ChannelName.EMAIL: EmailChannel,
    ChannelName.SLACK: SlackChannel,
    ChannelName.WEBHOOK: WebhookChannel,
}


def get_channel(name: str, config: dict | None = None) -> Channel:
    """The channel called ``name``, configured from settings and ``config[name]``."""
    try:
        channel_class = CHANNELS[name]
    except KeyError:
        raise not_configured(f"unknown channel {name!r}") from None
    return channel_class((config or {}).get(name) or {})
