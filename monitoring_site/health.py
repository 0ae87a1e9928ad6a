"""GET /healthz: is the site up, can it reach its database, and is the monitor passing.

The monitor's status (ok, late, never) is reported but never makes the answer fail: a
load balancer should not take the site down because the monitor stopped.
"""
import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from alerting.choices import MonitorStatus
from alerting.heartbeat import monitor_health

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure to reach the database is "down"
        # The cause goes to the log, not to anonymous callers (it names hosts and ports).
        logger.warning("healthz: database unavailable", exc_info=True)
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    try:
        monitor = monitor_health().as_json()
    except DatabaseError:  # not migrated yet: no monitor can have passed
        logger.warning("healthz: cannot read the monitor heartbeat", exc_info=True)
        monitor = {"last_pass_at": None, "status": MonitorStatus.NEVER}
    return JsonResponse({"status": "ok", "database": "ok", "monitor": monitor})
