"""Where alerts are sent: one small class per channel, found by name in ``CHANNELS``.

``base`` holds what they share (``ChannelError``, the alert's texts, an HTTP POST with
the channel timeout); one module per family: ``basic`` (console, file, email, Slack),
``webhook`` (signed JSON POSTs), ``alertmanager`` and ``pagerduty``.
"""
from alerting.channels.alertmanager import AlertmanagerChannel
from alerting.channels.base import (
    Channel,
    ChannelError,
    alert_headline,
    alert_payload,
    alert_subject,
    alert_text,
    alert_url,
    not_configured,
    post_body,
    post_json,
)
from alerting.channels.basic import ConsoleChannel, EmailChannel, FileChannel, SlackChannel
from alerting.channels.pagerduty import PagerDutyChannel
from alerting.channels.webhook import SIGNATURE_HEADER, WebhookChannel, signature
from alerting.choices import ChannelName

CHANNELS: dict[str, type[Channel]] = {
    ChannelName.CONSOLE: ConsoleChannel,
    ChannelName.FILE: FileChannel,
    ChannelName.EMAIL: EmailChannel,
    ChannelName.SLACK: SlackChannel,
    ChannelName.WEBHOOK: WebhookChannel,
    ChannelName.ALERTMANAGER: AlertmanagerChannel,
    ChannelName.PAGERDUTY: PagerDutyChannel,
}


def get_channel(name: str, config: dict | None = None) -> Channel:
    """The channel called ``name``, configured from settings and ``config[name]``."""
    try:
        channel_class = CHANNELS[name]
    except KeyError:
        raise not_configured(f"unknown channel {name!r}") from None
    return channel_class((config or {}).get(name) or {})


def lifecycle_channels(kind) -> list[str]:
    """The channels a person's acknowledgment or resolution (``kind``) is sent to."""
    return [name for name, channel in CHANNELS.items() if kind in channel.lifecycle_kinds]


__all__ = [
    "CHANNELS",
    "SIGNATURE_HEADER",
    "AlertmanagerChannel",
    "Channel",
    "ChannelError",
    "ConsoleChannel",
    "EmailChannel",
    "FileChannel",
    "PagerDutyChannel",
    "SlackChannel",
    "WebhookChannel",
    "alert_headline",
    "alert_payload",
    "alert_subject",
    "alert_text",
    "alert_url",
    "get_channel",
    "lifecycle_channels",
    "not_configured",
    "post_body",
    "post_json",
    "signature",
]
