"""The database goes away under a running server: 503 JSON, then recovery on its own.

PostgreSQL: a private cluster (initdb into a temporary folder, its own port), stopped and
started again during the test — the shared server is never touched. SQLite: the
database's folder is moved away and back.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import free_port
from tests.reliability.conftest import SEED_USERS, SUPERUSER_TOKEN, manage, request

# Reads and writes a model service and a dashboard make; each must answer 503 JSON.
API_CALLS = [
    ("GET", "/api/v1/predictions/", None),
    ("GET", "/api/v1/metrics/performance/?window_minutes=60", None),
    ("GET", "/api/v1/alerts/", None),
    ("POST", "/api/v1/predictions/",
     {"prediction_id": "outage-1", "model_version": "v1", "predicted_outcome": 1,
      "confidence": 0.9}),
]


def assert_unavailable(base):
    health = request(base, "GET", "/healthz", timeout=30)
    assert health.status == 503
    assert health.header("Content-Type").startswith("application/json")
    assert health.json()["status"] == "error"
    for method, path, body in API_CALLS:
        answer = request(base, method, path, token=SUPERUSER_TOKEN, body=body, timeout=30)
        assert answer.status == 503, (method, path, answer.status, answer.body[:300])
        assert answer.header("Content-Type").startswith("application/json"), answer.body[:300]
        assert "detail" in answer.json()


def assert_available(base):
    assert request(base, "GET", "/healthz").status == 200
    for method, path, body in API_CALLS:
        answer = request(base, method, path, token=SUPERUSER_TOKEN, body=body)
        assert answer.status < 300, (method, path, answer.status, answer.body[:300])


def wait_for_recovery(base, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request(base, "GET", "/healthz", timeout=30).status == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"the site did not recover within {timeout} s")


def test_sqlite_database_unreachable_then_back(site_db, serve):
    if site_db.vendor != "sqlite":
        pytest.skip("the SQLite variant runs in the SQLite suite")
    server = serve(site_db.url, workers=2)
    assert_available(server.base)
    folder = site_db.path.parent
    away = folder.with_name("db-away")
    folder.rename(away)
    try:
        assert_unavailable(server.base)
    finally:
        away.rename(folder)
    wait_for_recovery(server.base)
    assert_available(server.base)


# --- PostgreSQL: a private cluster ---------------------------------------------------------
def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries (initdb) not installed")
    return Path(found[-1]).parent


class PrivateCluster:
    def __init__(self):
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="outage-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/site"

    def _run(self, tool, *args):
        done = subprocess.run([*self.as_postgres, str(self.bin / tool), *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{tool}: {done.stdout}\n{done.stderr}"

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off", "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self):
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    cluster = PrivateCluster()
    try:
        cluster.start()
        conn = psycopg2.connect(f"postgres://postgres@127.0.0.1:{cluster.port}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE site")
        conn.close()
        manage(cluster.url, "migrate", "--noinput", "-v", "0")
        manage(cluster.url, "shell", "-c", SEED_USERS)
        yield cluster
    finally:
        cluster.destroy()


@pytest.mark.postgres_only
def test_postgresql_stopped_under_running_server_then_back(private_postgres, serve):
    server = serve(private_postgres.url, workers=2)
    assert_available(server.base)
    private_postgres.stop()
    try:
        # Twice: each worker keeps its own (now dead) connection; both must answer 503.
        assert_unavailable(server.base)
        assert_unavailable(server.base)
    finally:
        private_postgres.start()
    wait_for_recovery(server.base)
    for _ in range(4):  # every worker is back, not only the one that answered first
        assert_available(server.base)
