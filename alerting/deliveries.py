"""Getting alerts to people without losing one: each notification is a Delivery row.

A delivery is claimed with a conditional update (the attempt counter it was read with),
so two monitors, or a monitor and the web request that fired the alert, never send the
same notification twice. The channel is called outside any transaction; the outcome of
each attempt (status, attempts, last error, next try with exponential backoff) is then
recorded on the row. ``run_monitor`` retries the failed ones with ``deliver_due``, except
a permanent failure (an unconfigured channel), which is given up at once:
``next_attempt_at`` None means no further attempt. Each failed attempt also adds one to
its channel's ``DeliveryFailures`` counter (``/metrics``), which never goes down.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerting.channels import CHANNELS, ChannelError, get_channel, lifecycle_channels
from alerting.choices import DeliveryKind, DeliveryStatus
from alerting.models import Alert, Delivery, DeliveryFailures

logger = logging.getLogger("alerting.deliveries")

# How long a claimed delivery is left to the process that claimed it before another
# monitor may take it over (the claimer died mid-send).
CLAIM_LEASE_SECONDS = 300


def queue_deliveries(
    alert, channels, kind=DeliveryKind.ALERT, now=None, reminder_number: int = 0
) -> list[Delivery]:
    """Create one pending Delivery per channel (idempotent per alert, channel, kind and
    reminder number)."""
    now = now or timezone.now()
    queued = []
    for channel in dict.fromkeys(channels or ()):
        delivery, _ = Delivery.objects.get_or_create(
            alert=alert,
            channel=str(channel),
            kind=kind,
            reminder_number=reminder_number,
            defaults={"next_attempt_at": now, "created_at": now},
        )
        queued.append(delivery)
    return queued


def queue_lifecycle_notices(alerts, kind, now=None) -> list[Delivery]:
    """Queue a person's acknowledgment or resolution (``kind``) of the ``alerts`` queryset
    for the channels that keep their own copy of the incident (PagerDuty, Alertmanager),
    where the alert itself was queued: a channel never heard of a silenced alert."""
    now = now or timezone.now()
    told = (
        Delivery.objects.filter(
            alert__in=alerts, kind=DeliveryKind.ALERT, channel__in=lifecycle_channels(kind)
        )
        .order_by()
        .values_list("alert_id", "channel")
        .distinct()
    )
    queued = []
    for alert_id, channel in told:
        delivery, _ = Delivery.objects.get_or_create(
            alert_id=alert_id, channel=channel, kind=kind, reminder_number=0,
            defaults={"next_attempt_at": now, "created_at": now},
        )
        queued.append(delivery)
    return queued


def deliver_after_commit(deliveries, channel_config: dict | None = None) -> None:
    """Send ``deliveries`` once the surrounding transaction has committed."""
    delivery_ids = [d.pk for d in deliveries]
    if not delivery_ids:
        return

    def send_them():
        for delivery in Delivery.objects.filter(pk__in=delivery_ids).select_related(
            "alert__rule"
        ):
            deliver(delivery, channel_config=channel_config)

    transaction.on_commit(send_them)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: base · 2^(attempts − 1)."""
    base = settings.MONITORING_DELIVERY_BACKOFF_SECONDS
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def _claim(delivery: Delivery, now) -> bool:
    """Take the delivery for one attempt; False when someone else took or sent it."""
    claimed = (
        Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
        .exclude(status=DeliveryStatus.SENT)
        .update(
            attempts=F("attempts") + 1,
            next_attempt_at=max(now, timezone.now()) + timedelta(seconds=CLAIM_LEASE_SECONDS),
        )
    )
    if claimed:
        delivery.attempts += 1
    return bool(claimed)


def deliver(delivery: Delivery, now=None, channel_config: dict | None = None) -> bool:
    """Try to send one delivery now; record the attempt. True when it was sent.

    Never call this inside a transaction: the channel may wait for a slow server.
    """
    now = now or timezone.now()
    if delivery.status == DeliveryStatus.SENT or not _claim(delivery, now):
        return False
    permanent = False
    try:
        get_channel(delivery.channel, channel_config).send(delivery.alert, delivery.kind)
    except ChannelError as exc:
        error, permanent = exc.message, exc.permanent
    except Exception as exc:  # a channel bug must not lose the alert either
        logger.exception("channel %s crashed", delivery.channel)
        error = f"{exc.__class__.__name__}: {exc}"
    else:
        error = None

    if error is None:
        values = {"status": DeliveryStatus.SENT, "sent_at": timezone.now(), "last_error": "",
                  "next_attempt_at": None}
    else:
        values = {"status": DeliveryStatus.FAILED, "last_error": error[:2000],
                  "next_attempt_at": None}
        if permanent:
            logger.error(
                "delivery of %s to %s cannot succeed until the channel is configured, "
                "giving up: %s", delivery.alert.alert_id, delivery.channel, error,
            )
        elif delivery.attempts < settings.MONITORING_DELIVERY_MAX_ATTEMPTS:
            values["next_attempt_at"] = now + backoff(delivery.attempts)
            logger.warning(
                "delivery of %s to %s failed (attempt %d, retry at %s): %s",
                delivery.alert.alert_id, delivery.channel, delivery.attempts,
                values["next_attempt_at"].isoformat(), error,
            )
        else:
            logger.error(
                "delivery of %s to %s failed %d times, giving up: %s",
                delivery.alert.alert_id, delivery.channel, delivery.attempts, error,
            )
    Delivery.objects.filter(pk=delivery.pk).update(**values)
    if error is not None:
        count_failure(delivery.channel)
    for field, value in values.items():
        setattr(delivery, field, value)
    return error is None


def count_failure(channel: str) -> None:
    """Add one failed attempt to ``channel``'s counter (one row per channel)."""
    if DeliveryFailures.objects.filter(channel=channel).update(failed=F("failed") + 1):
        return
    try:
        with transaction.atomic():
            DeliveryFailures.objects.create(channel=channel, failed=1)
    except IntegrityError:  # another process created it meanwhile
        DeliveryFailures.objects.filter(channel=channel).update(failed=F("failed") + 1)


def deliveries_due(now=None):
    """Deliveries waiting to be sent or retried, oldest due first (never the given-up ones)."""
    now = now or timezone.now()
    return (
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            attempts__lt=settings.MONITORING_DELIVERY_MAX_ATTEMPTS,
            next_attempt_at__lte=now,
        )
        .select_related("alert__rule")
        .order_by("next_attempt_at", "id")
    )


def deliver_due(now=None, limit: int = 100, channel_config: dict | None = None) -> int:
    """Send (or retry) up to ``limit`` due deliveries; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for delivery in list(deliveries_due(now)[:limit]):
        if deliver(delivery, now=now, channel_config=channel_config):
            sent += 1
    return sent


def repost_firing(channel_config: dict | None = None) -> int:
    """Post every firing alert again to the channels that forget alerts nobody re-posts
    (Alertmanager resolves one it has not heard of for ``resolve_timeout``).

    Only alerts whose first notice reached the channel: the others are retried by
    ``deliver_due``. A failure is logged; the next pass posts them again anyway.
    Returns how many alerts were re-posted.
    """
    reposted = 0
    for name, channel_class in CHANNELS.items():
        if not channel_class.reposts_firing:
            continue
        firing = list(
            Alert.objects.unresolved()
            .filter(silenced=False, deliveries__channel=name,
                    deliveries__kind=DeliveryKind.ALERT, deliveries__status=DeliveryStatus.SENT)
            .select_related("rule")
            .distinct()
        )
        if not firing:
            continue
        try:
            get_channel(name, channel_config).send_many(firing)
        except ChannelError as exc:
            logger.warning("re-posting %d firing alert(s) to %s failed: %s",
                           len(firing), name, exc.message)
        else:
            reposted += len(firing)
    return reposted
