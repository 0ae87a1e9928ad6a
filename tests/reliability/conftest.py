"""Real servers on real databases for the fault tests.

Each test gets its own migrated database (a copy of one migrated per session: a file copy
for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL) that subprocesses — gunicorn,
manage.py — can open, with three users and fixed API tokens already in it.
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg2
import pytest
from django.db import connection

from tests.conftest import ROOT, free_port, subprocess_env

# Fixed tokens of the users the template holds (40 characters, like DRF's keys).
SUPERUSER_TOKEN = "su" + "0" * 38
INGEST_TOKEN = "in" + "0" * 38
READER_TOKEN = "rd" + "0" * 38

SEED_USERS = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
User = get_user_model()
root = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
ingest = User.objects.create_user("ingest", password="pw-for-tests-only")
ingest.user_permissions.add(
    Permission.objects.get(content_type__app_label="predictions", codename="add_prediction"))
reader = User.objects.create_user("reader", password="pw-for-tests-only")
Token.objects.create(user=root, key={SUPERUSER_TOKEN!r})
Token.objects.create(user=ingest, key={INGEST_TOKEN!r})
Token.objects.create(user=reader, key={READER_TOKEN!r})
"""

# Settings of a production deployment behind a TLS proxy, reached over plain HTTP here.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "127.0.0.1,localhost,monitoring.example.com",
    "SECURE_SSL_REDIRECT": "false",
    "API_WRITE_THROTTLE": "",
}


def manage(database_url: str, *args: str, env: dict | None = None, timeout: float = 300):
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**subprocess_env(), "DATABASE_URL": database_url, **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _suite_on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))


def _pg_server_url(database: str) -> str:
    """A URL to `database` on the server (and with the credentials) the suite uses."""
    s = connection.settings_dict
    credentials = quote(s.get("USER") or "postgres", safe="")
    if s.get("PASSWORD"):
        credentials += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{database}"


def _pg_admin(url: str):
    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    return conn


@dataclass
class SiteDatabase:
    """A migrated database subprocesses can open."""

    url: str
    vendor: str
    path: Path | None = None

    def query(self, sql: str, params=()):
        """One query with the raw driver; returns all rows."""
        if self.vendor == "sqlite":
            import sqlite3

            conn = sqlite3.connect(str(self.path), timeout=20)
            try:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
            finally:
                conn.close()
        conn = psycopg2.connect(self.url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


@pytest.fixture(scope="session")
def _site_template(tmp_path_factory):
    """One migrated database with the seed users, copied for each test."""
    if _suite_on_postgres():
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        name = f"{connection.settings_dict['NAME']}_reltpl{worker}"
        if not name.startswith("test_"):
            name = "test_" + name
        url = _pg_server_url(name)
        admin = _pg_admin(url)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        manage(url, "migrate", "--noinput", "-v", "0")
        manage(url, "shell", "-c", SEED_USERS)
        yield SiteDatabase(url=url, vendor="postgresql")
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    else:
        path = tmp_path_factory.mktemp("site-template") / "site.sqlite3"
        url = f"sqlite:///{path}"
        manage(url, "migrate", "--noinput", "-v", "0")
        manage(url, "shell", "-c", SEED_USERS)
        # Fold the WAL into the main file so a plain file copy is complete.
        import sqlite3

        conn = sqlite3.connect(str(path))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        yield SiteDatabase(url=url, vendor="sqlite", path=path)


@pytest.fixture
def site_db(_site_template, tmp_path):
    """A fresh copy of the migrated template for this test."""
    if _site_template.vendor == "sqlite":
        path = tmp_path / "db" / "site.sqlite3"
        path.parent.mkdir()
        shutil.copyfile(_site_template.path, path)
        yield SiteDatabase(url=f"sqlite:///{path}", vendor="sqlite", path=path)
        return
    template = _site_template.url.rsplit("/", 1)[1]
    name = f"{template[:40]}_{secrets.token_hex(4)}"
    url = _site_template.url.rsplit("/", 1)[0] + "/" + name
    admin = _pg_admin(url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield SiteDatabase(url=url, vendor="postgresql")
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def all_headers(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)


def request(base: str, method: str, path: str, *, token: str | None = None, body=None,
            headers: dict | None = None, timeout: float = 60) -> Response:
    """One HTTP request, no redirects followed; `body` may be bytes or JSON-able."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Token {token}"
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=sent)
        answer = conn.getresponse()
        return Response(answer.status, answer.getheaders(), answer.read())
    finally:
        conn.close()


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    def workers(self) -> list[int]:
        """PIDs of the gunicorn workers (children of the master)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def serve(tmp_path):
    """serve(database_url, env=…, workers=1) -> Server: gunicorn in production settings."""
    started: list[Server] = []

    def start(database_url: str, env: dict | None = None, workers: int = 1,
              timeout: int = 60) -> Server:
        port = free_port()
        full_env = {
            **subprocess_env(), **PRODUCTION_ENV, "DATABASE_URL": database_url, **(env or {})
        }
        log_path = tmp_path / f"gunicorn-{port}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "monitoring_site.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                 "--timeout", str(timeout), "--graceful-timeout", "5"],
                cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", process, log_path, full_env)
        started.append(server)
        wait_until_answering(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def wait_until_answering(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request(server.base, "GET", "/nothing-here", timeout=2)
            return
        except OSError:
            if server.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{server.log()}") from None
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{server.log()}")
