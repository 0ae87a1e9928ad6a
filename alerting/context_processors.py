"""Template context of every page: the monitor's heartbeat line (base.html)."""
from django.utils.functional import SimpleLazyObject

from alerting.heartbeat import monitor_health


def monitor_heartbeat(request):
    """``monitor_health`` for the page, read only if the page shows it (one small query)."""
    return {"monitor_health": SimpleLazyObject(monitor_health)}
