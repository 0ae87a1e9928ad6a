"""manage.py run_monitor: the long-running monitor loop (SPEC §5).

Each interval slot (floor(now / interval)) gets one pass: snapshots of the active
versions, rules, alerts. Between passes, due deliveries are retried. Several monitors may
run at once: the slot number makes the snapshot (and so the evaluation) happen once.
SIGTERM or SIGINT stops the loop after the item in hand.
"""
import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from alerting.deliveries import deliver_due
from alerting.monitor import run_monitor_pass

logger = logging.getLogger("alerting.monitor")

# Most seconds between two looks at the delivery queue (failed ones retried with backoff).
DELIVERY_POLL_SECONDS = 10.0


class Command(BaseCommand):
    help = "Compute snapshots, evaluate rules and deliver alerts every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=settings.MONITORING_MONITOR_INTERVAL_SECONDS,
            help="Seconds between passes (default MONITORING_MONITOR_INTERVAL_SECONDS, "
                 "%(default)s).",
        )
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--window-minutes",
            type=int,
            default=settings.MONITORING_DEFAULT_WINDOW_MINUTES,
            help="Window of predictions each snapshot measures (default %(default)s).",
        )

    def handle(self, *args, interval=60.0, once=False, window_minutes=60, **options):
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        if window_minutes < 1:
            raise CommandError("--window-minutes must be at least 1")
        self.stopping = threading.Event()
        previous_handlers = self._install_signal_handlers()
        try:
            self._loop(interval, once, window_minutes)
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        self.stdout.write(self.style.SUCCESS("monitor stopped"))

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._stop)
        return previous

    def _stop(self, signum, frame):
        # Only a flag: the pass or delivery in hand finishes, then the loop ends.
        self.stdout.write(f"signal {signal.Signals(signum).name}: stopping after this step")
        self.stopping.set()

    def _loop(self, interval, once, window_minutes):
        self.stdout.write(
            f"monitor running: interval {interval:g} s, window {window_minutes} min"
        )
        done_slot = None
        while not self.stopping.is_set():
            self._refresh_connection()
            now = timezone.now()
            slot = int(now.timestamp() // interval)
            try:
                if slot != done_slot:
                    self._pass(window_minutes, now, slot)
                    done_slot = slot
                else:
                    sent = deliver_due(now=now)
                    if sent:
                        self.stdout.write(f"{sent} delayed notification(s) sent")
            except DatabaseError as exc:
                # The database may be restarting: say so, and try again next turn.
                logger.warning("monitor pass failed, will retry: %s", exc)
                self.stderr.write(f"database error: {exc}")
                if once:
                    raise CommandError(f"database error: {exc}") from exc
            if once:
                break
            next_slot_at = (slot + 1) * interval
            wait = min(next_slot_at - time.time(), DELIVERY_POLL_SECONDS, interval)
            self.stopping.wait(max(wait, 0.05))
        self._refresh_connection()

    @staticmethod
    def _refresh_connection():
        # A loop that runs for days drops connections past their age or broken by a
        # database restart; never inside a caller's transaction (call_command in tests).
        if not connection.in_atomic_block:
            close_old_connections()

    def _pass(self, window_minutes, now, slot):
        result = run_monitor_pass(window_minutes=window_minutes, now=now, monitor_slot=slot)
        self.stdout.write(
            f"slot {slot}: {len(result.snapshots)} snapshot(s), "
            f"{len(result.alerts_fired)} alert(s) fired, {len(result.alerts_resolved)} "
            f"resolved, {result.deliveries_sent} notification(s) sent"
        )
