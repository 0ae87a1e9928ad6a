"""Helpers of the alerting tests: rules, alerts, local servers that receive notifications."""
import itertools
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from alerting.models import Alert, AlertRule
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)


@pytest.fixture
def make_rule(db):
    """make_rule(**overrides) -> a stored, validated AlertRule (accuracy < 0.7 by default)."""

    def make(**overrides):
        values = {
            "rule_id": f"rule-{next(_ids)}",
            "metric_name": "accuracy",
            "threshold": 0.7,
            "comparison": "<",
            "severity": "warning",
            "component": "performance",
            "cooldown_minutes": 60,
            "channels": [],
            "conditions": {},
        }
        values.update(overrides)
        rule = AlertRule(**values)
        rule.full_clean()
        rule.save()
        return rule

    return make


@pytest.fixture
def make_alert(db):
    """make_alert(**overrides) -> a stored open Alert."""

    def make(**overrides):
        values = {
            "severity": "warning",
            "title": "PERFORMANCE: accuracy Alert",
            "message": "accuracy is 0.6500 (< 0.7000)",
            "metric_name": "accuracy",
            "metric_value": 0.65,
            "threshold": 0.7,
            "component": "performance",
            "model_version": "v1",
            "timestamp": timezone.now() - timedelta(minutes=next(_ids)),
        }
        values.update(overrides)
        return Alert.objects.create(**values)

    return make


@pytest.fixture
def labelled_predictions(make_prediction):
    """labelled_predictions(version, correct, wrong, minutes_ago=1) -> stored predictions."""

    def make(model_version="v1", correct=0, wrong=0, minutes_ago=1, now=None):
        now = now or timezone.now()
        made = []
        for i in range(correct + wrong):
            made.append(
                make_prediction(
                    model_version=model_version,
                    timestamp=now - timedelta(minutes=minutes_ago, seconds=i),
                    predicted_outcome=1,
                    confidence=0.8,
                    actual_outcome=1 if i < correct else 0,
                )
            )
        return made

    return make


class RecordingServer:
    """A local HTTP server that records every POST and answers a given JSON document."""

    def __init__(self, answer=None, status=200, delay=0.0, port=0):
        self.requests = []
        self.answer = answer if answer is not None else {"ok": True}
        self.status = status
        self.delay = delay
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if server.delay:
                    time.sleep(server.delay)
                document = json.dumps(server.answer).encode()
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(document)))
                    self.end_headers()
                    self.wfile.write(document)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    """http_server(answer=…, status=…, delay=…, port=…) -> a started RecordingServer."""
    servers = []

    def start(**kwargs):
        server = RecordingServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server():
    """A local aiosmtpd SMTP server; ``.messages`` holds what it received."""
    from aiosmtpd.controller import Controller

    class Recorder:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "content": envelope.content.decode("utf-8", "replace"),
                }
            )
            return "250 Message accepted for delivery"

    from tests.conftest import free_port

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


# --- Other processes on the same database -------------------------------------------------


def database_url_for_subprocess(tmp_path):
    """A DATABASE_URL another process can use to see this test's committed rows.

    PostgreSQL: the test database itself (use django_db(transaction=True)). SQLite: the
    test database is in memory, so None: the caller builds a file database instead.
    """
    if connection.vendor != "postgresql":
        return None
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def manage(database_url, *args, env=None, timeout=120, check=True):
    """Run ``manage.py *args`` in a new Python process against ``database_url``."""
    process_env = {**subprocess_env(), "DATABASE_URL": database_url, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=process_env, capture_output=True, text=True, timeout=timeout,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return completed


def start_manage(database_url, *args, env=None, log_path=None):
    """Start ``manage.py *args`` in the background; returns the Popen."""
    process_env = {**subprocess_env(), "DATABASE_URL": database_url, **(env or {})}
    out = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=process_env, stdout=out, stderr=subprocess.STDOUT, text=True,
    )


def shell(database_url, code, env=None):
    """Run Python ``code`` inside ``manage.py shell`` in a new process; its stdout."""
    return manage(database_url, "shell", "-c", code, env=env).stdout


@pytest.fixture
def other_process_db(tmp_path, request):
    """A database URL shared with subprocesses, migrated and empty.

    PostgreSQL: the test database (the test must use django_db(transaction=True)).
    SQLite: a fresh file database migrated by a subprocess.
    """
    url = database_url_for_subprocess(tmp_path)
    if url is not None:
        request.getfixturevalue("transactional_db")
        return url
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    manage(url, "migrate", "--noinput", "-v", "0")
    return url
