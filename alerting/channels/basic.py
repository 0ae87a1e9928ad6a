"""The round-1 channels: a log line, the legacy file, e-mail and Slack."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from alerting.channels.base import (
    Channel,
    ChannelError,
    _timed_out,
    alert_headline,
    alert_subject,
    alert_text,
    not_configured,
    post_json,
)
from alerting.choices import ChannelName, DeliveryKind

logger = logging.getLogger("alerting.channels")


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
