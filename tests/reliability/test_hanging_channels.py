"""Slack, webhook, SMTP, Alertmanager and PagerDuty servers that accept connections and
never answer.

They cannot stall the monitor loop (each channel's MONITORING_CHANNEL_TIMEOUT_SECONDS fires,
as the deliveries' errors say), nor ingestion at all (batches are stored while the monitor
still waits on a channel); the deliveries are recorded as failed, to be retried, not lost.
Nothing here measures durations: timings belong to bench/.
"""
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT, subprocess_env
from tests.reliability.conftest import INGEST_TOKEN, SUPERUSER_TOKEN, request

# MONITORING_CHANNEL_TIMEOUT_SECONDS for this test: the window in which ingestion must be
# seen answering while the monitor waits on a channel, wide enough for a busy machine.
TIMEOUT = 5
CHANNELS = ["slack", "webhook", "email", "alertmanager", "pagerduty"]
# A monitor or request that hangs instead of timing out would run into these.
HANG_SECONDS = 180


class HangingServer:
    """Accepts every connection, answers nothing, and can tell who is still waiting."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.setblocking(False)
            self.held.append(conn)

    def waiting_clients(self) -> int:
        """Clients still connected, i.e. still waiting for an answer that never comes."""
        return sum(_still_connected(conn) for conn in list(self.held))

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def _still_connected(conn) -> bool:
    """Read what the client sent (never answered); False once it has hung up."""
    while True:
        try:
            if not conn.recv(65536):
                return False
        except BlockingIOError:
            return True
        except OSError:
            return False


@pytest.fixture
def hanging_server():
    server = HangingServer()
    yield server
    server.close()


def _monitor_once(database_url, env):
    done = subprocess.run(
        [sys.executable, "manage.py", "run_monitor", "--once", "--window-minutes", "60"],
        cwd=ROOT, env={**subprocess_env(), **env, "DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=HANG_SECONDS,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _batch(prefix, n):
    return [{"prediction_id": f"{prefix}{i}", "model_version": "v1", "predicted_outcome": 1,
             "confidence": 0.9} for i in range(n)]


def _timed_out(last_error):
    return "did not answer within" in last_error


def test_hanging_channels_cannot_stall_monitor_or_ingestion(site_db, serve, hanging_server):
    hang = f"http://127.0.0.1:{hanging_server.port}"
    env = {
        "MONITORING_CHANNEL_TIMEOUT_SECONDS": str(TIMEOUT),
        "SLACK_WEBHOOK_URL": f"{hang}/slack",
        "ALERT_SLACK_BOT_TOKEN": "",
        "EMAIL_URL": f"smtp://127.0.0.1:{hanging_server.port}",
        "ALERT_EMAIL_RECIPIENTS": "oncall@example.com",
        "ALERTMANAGER_URL": f"{hang}/alertmanager",
        "PAGERDUTY_EVENTS_URL": f"{hang}/pagerduty",
        "PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY",
    }
    server = serve(site_db.url, env=env, workers=2)

    rule = request(server.base, "POST", "/api/v1/alert-rules/", token=SUPERUSER_TOKEN, body={
        "rule_id": "always-fires", "metric_name": "num_predictions",
        "threshold": 0, "comparison": ">", "severity": "critical", "component": "performance",
        "cooldown_minutes": 0, "channels": CHANNELS,
        "conditions": {"webhook_url": f"{hang}/hook"},
    })
    assert rule.status == 201, rule.body[:500]
    first = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                    body=_batch("before-", 50))
    assert first.status == 201, first.body[:300]

    # The monitor pass fires the rule and tries the five hanging channels while a model
    # service keeps ingesting.
    monitor = threading.Thread(target=_monitor_once, args=(site_db.url, env))
    monitor.start()
    # How many channel connections the monitor held open (waiting) as each batch was stored.
    waiting_when_stored = []
    n = 0
    while monitor.is_alive():
        answer = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                         body=_batch(f"during{n}-", 20))
        assert answer.status == 201, answer.body[:300]
        waiting_when_stored.append(hanging_server.waiting_clients())
        n += 1
        time.sleep(0.1)
    monitor.join()

    # Ingestion was answered while the monitor still waited on a channel: it never waits
    # for one (nor for a lock the monitor holds while it waits).
    assert any(waiting_when_stored), waiting_when_stored
    # The monitor finished (no hang) because each channel's timeout fired.
    deliveries = site_db.query(
        "SELECT channel, status, attempts, last_error FROM alerting_delivery ORDER BY channel")
    assert sorted(d[0] for d in deliveries) == sorted(CHANNELS), deliveries
    for _channel, status, attempts, last_error in deliveries:
        assert status == "failed" and attempts >= 1 and _timed_out(last_error), deliveries
    assert hanging_server.waiting_clients() == 0  # every connection given up by the client

    # The web request that computes snapshots and delivers its own alerts is bounded too:
    # it answers, with its notifications recorded as timed out, to be retried. (The first
    # incident is resolved first: while it is open, the rule updates it, SPEC §10.)
    [(alert_id,)] = site_db.query("SELECT alert_id FROM alerting_alert")
    # Resolving tells Alertmanager and PagerDuty at once: bounded by their timeouts too.
    resolved = request(server.base, "POST", f"/api/v1/alerts/{alert_id}/resolve/",
                       token=SUPERUSER_TOKEN, body={"note": "seen"}, timeout=HANG_SECONDS)
    assert resolved.status == 200, resolved.body[:300]
    recoveries = site_db.query("SELECT channel, status, last_error FROM alerting_delivery "
                               "WHERE kind = 'recovery' ORDER BY channel")
    assert [r[0] for r in recoveries] == ["alertmanager", "pagerduty"], recoveries
    assert all(r[1] == "failed" and _timed_out(r[2]) for r in recoveries), recoveries
    computed = request(server.base, "POST", "/api/v1/health-snapshots/compute/",
                       token=SUPERUSER_TOKEN, body={"model_version": "v1"},
                       timeout=HANG_SECONDS)
    assert computed.status == 201, computed.body[:500]
    [fired] = json.loads(computed.body)["alerts_fired"]
    assert sorted(d["channel"] for d in fired["deliveries"]) == sorted(CHANNELS)
    for delivery in fired["deliveries"]:
        assert delivery["status"] == "failed" and _timed_out(delivery["last_error"]), fired
