"""The monitor's heartbeat (SPEC §10): each pass leaves its time; pages and /healthz read it.

A monitor that has not passed for more than ``LATE_AFTER_INTERVALS`` intervals is late;
one that never passed says so, so that nobody believes a silent site is a healthy one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerting.choices import MonitorStatus
from alerting.models import MonitorHeartbeat

MONITOR = "monitor"
LATE_AFTER_INTERVALS = 3


def record_pass(now=None, name: str = MONITOR) -> None:
    """Note that a monitor pass ran at ``now`` (one row, updated in place)."""
    now = now or timezone.now()
    if MonitorHeartbeat.objects.filter(name=name).update(last_pass_at=now, passes=F("passes") + 1):
        return
    try:
        with transaction.atomic():
            MonitorHeartbeat.objects.create(name=name, last_pass_at=now, passes=1)
    except IntegrityError:  # another monitor created it meanwhile
        MonitorHeartbeat.objects.filter(name=name).update(
            last_pass_at=now, passes=F("passes") + 1
        )


@dataclass(frozen=True)
class MonitorHealth:
    status: str
    last_pass_at: datetime | None
    seconds_ago: int | None
    interval_seconds: float

    def as_json(self) -> dict:
        return {
            "last_pass_at": self.last_pass_at.isoformat() if self.last_pass_at else None,
            "status": self.status,
        }


def monitor_health(now=None, name: str = MONITOR) -> MonitorHealth:
    """ok, late (no pass for more than 3 intervals) or never."""
    now = now or timezone.now()
    interval = float(settings.MONITORING_MONITOR_INTERVAL_SECONDS)
    last = MonitorHeartbeat.objects.filter(name=name).values_list("last_pass_at", flat=True).first()
    if last is None:
        return MonitorHealth(MonitorStatus.NEVER, None, None, interval)
    seconds_ago = max(int((now - last).total_seconds()), 0)
    late = seconds_ago > LATE_AFTER_INTERVALS * interval
    status = MonitorStatus.LATE if late else MonitorStatus.OK
    return MonitorHealth(status, last, seconds_ago, interval)
