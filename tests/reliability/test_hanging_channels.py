"""A Slack, webhook and SMTP server that accept connections and never answer.

They cannot stall the monitor loop beyond MONITORING_CHANNEL_TIMEOUT_SECONDS per channel,
nor ingestion at all; the deliveries are recorded as failed (to be retried), not lost.
These are behaviour bounds (a hang would exceed them by far), not performance thresholds.
"""
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT, subprocess_env
from tests.reliability.conftest import INGEST_TOKEN, SUPERUSER_TOKEN, request

TIMEOUT = 1.5  # MONITORING_CHANNEL_TIMEOUT_SECONDS for this test
CHANNELS = ["slack", "webhook", "email"]
SLACK_SECONDS = 6.0  # start-up noise on a busy machine (an unbounded wait would be far beyond)


class HangingServer:
    """Accepts every connection, reads nothing, answers nothing."""

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
            self.held.append(conn)

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging_server():
    server = HangingServer()
    yield server
    server.close()


def _monitor_once(database_url, env):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "run_monitor", "--once", "--window-minutes", "60"],
        cwd=ROOT, env={**subprocess_env(), **env, "DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - started


def _batch(prefix, n):
    return [{"prediction_id": f"{prefix}{i}", "model_version": "v1", "predicted_outcome": 1,
             "confidence": 0.9} for i in range(n)]


def test_hanging_channels_cannot_stall_monitor_or_ingestion(site_db, serve, hanging_server):
    hang = f"http://127.0.0.1:{hanging_server.port}"
    env = {
        "MONITORING_CHANNEL_TIMEOUT_SECONDS": str(TIMEOUT),
        "SLACK_WEBHOOK_URL": f"{hang}/slack",
        "ALERT_SLACK_BOT_TOKEN": "",
        "EMAIL_URL": f"smtp://127.0.0.1:{hanging_server.port}",
        "ALERT_EMAIL_RECIPIENTS": "oncall@example.com",
    }
    server = serve(site_db.url, env=env, workers=2)

    # What a monitor pass costs here with nothing to deliver (process start-up included).
    baseline = _monitor_once(site_db.url, env)

    rule = request(server.base, "POST", "/api/v1/alert-rules/", token=SUPERUSER_TOKEN, body={
        "rule_id": "always-fires", "metric_name": "num_predictions", "metric_type": "threshold",
        "threshold": 0, "comparison": ">", "severity": "critical", "component": "performance",
        "cooldown_minutes": 0, "channels": CHANNELS,
        "conditions": {"webhook_url": f"{hang}/hook"},
    })
    assert rule.status == 201, rule.body[:500]
    first = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                    body=_batch("before-", 50))
    assert first.status == 201, first.body[:300]

    # The monitor pass fires the rule and tries the three hanging channels while a model
    # service keeps ingesting.
    latencies = []
    monitor = {}

    def run_monitor():
        monitor["seconds"] = _monitor_once(site_db.url, env)

    thread = threading.Thread(target=run_monitor)
    thread.start()
    n = 0
    while thread.is_alive():
        started = time.monotonic()
        answer = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                         body=_batch(f"during{n}-", 20))
        latencies.append(time.monotonic() - started)
        assert answer.status == 201, answer.body[:300]
        n += 1
        time.sleep(0.1)
    thread.join()

    assert monitor["seconds"] <= baseline + len(CHANNELS) * TIMEOUT + SLACK_SECONDS, (
        monitor, baseline)
    assert max(latencies) < TIMEOUT, latencies  # ingestion never waited on a channel
    deliveries = site_db.query(
        "SELECT channel, status, attempts, last_error FROM alerting_delivery ORDER BY channel")
    assert sorted(d[0] for d in deliveries) == sorted(CHANNELS), deliveries
    for _channel, status, attempts, last_error in deliveries:
        assert status != "sent" and attempts >= 1 and last_error, deliveries

    # The web request that computes snapshots and delivers its own alerts is bounded too.
    started = time.monotonic()
    computed = request(server.base, "POST", "/api/v1/health-snapshots/compute/",
                       token=SUPERUSER_TOKEN, body={"model_version": "v1"}, timeout=120)
    elapsed = time.monotonic() - started
    assert computed.status == 201, computed.body[:500]
    assert elapsed <= len(CHANNELS) * TIMEOUT + SLACK_SECONDS, elapsed
