"""monitoring_client against a real gunicorn of this site, restarted while clients log.

8 threads log 5,000 predictions each through one Client; between the first and the last
part the server is stopped and a new one started on the same port. Every prediction must
be stored exactly once, none dropped, the stats must agree, one invalid item must reach
on_error without holding the others back, and log_prediction must stay fast while the
site is down (the caller never waits for the network).
"""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from monitoring_client import Client

from tests.alerting.conftest import database_url_for_subprocess, manage, shell
from tests.conftest import ROOT, free_port, subprocess_env
from tests.reliability.conftest import PRODUCTION_ENV

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = "cl" + "0" * 38
SEED = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user("model-service", password="pw-for-tests-only")
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="predictions", codename__in=["add_prediction", "change_prediction"]))
Token.objects.create(user=user, key={TOKEN!r})
"""
THREADS = 8
# Per thread: logged while the site is up, while it is down, after its restart.
BEFORE, DOWN, AFTER = 2_000, 1_000, 2_000


class Site:
    """gunicorn on a fixed port, so it can be stopped and started again on that port."""

    def __init__(self, database_url, log_dir):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**subprocess_env(), **PRODUCTION_ENV, "DATABASE_URL": database_url,
                    "LOG_LEVEL": "WARNING"}
        self.log_dir = log_dir
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log_path = self.log_dir / f"gunicorn-{self.starts}.log"
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "monitoring_site.wsgi",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                 "--timeout", "60", "--graceful-timeout", "5"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def site_database(tmp_path, request):
    """(url, count_rows): the test database on PostgreSQL, a migrated file on SQLite."""
    url = database_url_for_subprocess(tmp_path)
    if url is None:
        path = tmp_path / "site.sqlite3"
        url = f"sqlite:///{path}"
        manage(url, "migrate", "--noinput", "-v", "0")

        def count_rows(sql):
            conn = sqlite3.connect(str(path), timeout=20)
            try:
                return conn.execute(sql).fetchone()[0]
            finally:
                conn.close()
    else:
        request.getfixturevalue("transactional_db")
        from django.db import connection

        def count_rows(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchone()[0]

    shell(url, SEED)
    return url, count_rows


@pytest.fixture
def live_site(site_database, tmp_path):
    site = Site(site_database[0], tmp_path)
    site.start()
    yield site
    site.stop()


def test_every_prediction_stored_once_across_a_server_restart(live_site, site_database):
    _, count_rows = site_database
    refused = []
    client = Client(live_site.base, TOKEN, on_error=lambda items, response: refused.append(
        (items, response)))
    phase_done = threading.Barrier(THREADS + 1)
    go_on = threading.Barrier(THREADS + 1)
    down_latencies: list[list[float]] = [[] for _ in range(THREADS)]

    def produce(t):
        def log(start, stop, timings=None):
            for i in range(start, stop):
                started = time.perf_counter()
                client.log_prediction(f"live-{t}-{i}", "v1", i % 2, 0.5 + (i % 50) / 100,
                                      features={"x": i}, latency_ms=3.0)
                if timings is not None:
                    timings.append(time.perf_counter() - started)

        log(0, BEFORE)
        phase_done.wait()
        go_on.wait()  # the server is stopped now
        log(BEFORE, BEFORE + DOWN, down_latencies[t])
        phase_done.wait()
        go_on.wait()  # a new server listens on the same port
        log(BEFORE + DOWN, BEFORE + DOWN + AFTER)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    client.log_prediction("live-bad", "v1", 1, 2.0)  # confidence out of range: a 400

    phase_done.wait()
    live_site.stop()
    go_on.wait()
    phase_done.wait()
    # Stay down until the client has seen the outage and retried at least once.
    deadline = time.monotonic() + 20
    while client.stats["retried"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.stats["retried"] > 0, "the client never noticed the outage"
    live_site.start()
    go_on.wait()
    for thread in threads:
        thread.join()
    assert client.close(timeout=120) is True

    expected = THREADS * (BEFORE + DOWN + AFTER)
    stored = count_rows("SELECT count(*) FROM predictions_prediction "
                        "WHERE prediction_id LIKE 'live-%'")
    distinct = count_rows("SELECT count(DISTINCT prediction_id) FROM predictions_prediction "
                          "WHERE prediction_id LIKE 'live-%'")
    assert stored == distinct == expected
    stats = client.stats
    assert stats["sent"] == expected
    assert stats["dropped"] == 0
    assert stats["failed"] == 1

    ((items, response),) = refused
    assert [item["prediction_id"] for item in items] == ["live-bad"]
    assert response.status == 400
    (fields,) = response.body["errors"].values()
    assert list(fields) == ["confidence"]

    # The caller's request path never waited for the dead server.
    samples = sorted(s for timings in down_latencies for s in timings)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"log_prediction while the site was down: {len(samples)} calls, "
          f"p50 {samples[len(samples) // 2] * 1e6:.1f} µs, p99 {p99 * 1e6:.1f} µs; "
          f"stats {stats}")
    assert p99 < 0.001
