"""Shared test helpers: small factories, API clients with given permissions, servers."""
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from predictions.models import Prediction

ROOT = Path(__file__).resolve().parent.parent
_ids = itertools.count(1)


# Set in this process for Playwright's sake; never handed to the processes tests start.
TEST_ONLY_VARIABLES = ("DJANGO_ALLOW_ASYNC_UNSAFE",)


def subprocess_env() -> dict:
    """This process's environment, less what only the test process itself may use."""
    return {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgis", "pgsql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def store_predictions(rows, batch_size=None) -> list:
    """bulk_create Prediction rows the way the write paths store them: with their hourly
    aggregates and their numeric features packed (a bare bulk_create, like any write
    outside the services, skips both)."""
    from predictions import rollups
    from predictions.feature_pack import pack_instances

    rows = list(rows)
    pack_instances(rows)
    created = Prediction.objects.bulk_create(rows, batch_size=batch_size)
    rollups.add_predictions([row.prediction_id for row in created])
    return created


@pytest.fixture
def make_prediction(db):
    """make_prediction(**overrides) -> a stored Prediction with sensible defaults."""

    def make(**overrides):
        n = next(_ids)
        values = {
            "prediction_id": f"p{n:08d}",
            "model_version": "v1",
            "timestamp": timezone.now() - timedelta(minutes=1),
            "predicted_outcome": 1,
            "confidence": 0.8,
            "features": {"x": 1.0},
            "metadata": {},
        }
        values.update(overrides)
        return Prediction.objects.create(**values)

    return make


@pytest.fixture
def make_user(db):
    """make_user(username, perms=["app.codename", …], **fields) -> a User."""

    def make(username=None, perms=(), **fields):
        user = get_user_model().objects.create_user(
            username or f"user{next(_ids)}", password="pw-for-tests-only", **fields
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return get_user_model().objects.get(pk=user.pk)  # drop the permission cache

    return make


@pytest.fixture
def client_for(make_user):
    """client_for(username, perms=[…], **fields) -> a Django Client logged in as a new user."""

    def make(username=None, perms=(), **fields):
        client = Client()
        client.force_login(make_user(username, perms=perms, **fields))
        return client

    return make


@pytest.fixture
def api_client_for(make_user):
    """api_client_for(perms=[…]) -> an APIClient authenticated with that user's token."""

    def make(perms=(), user=None, **fields):
        user = user or make_user(perms=perms, **fields)
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.user = user
        return client

    return make


@pytest.fixture
def anonymous_client():
    return APIClient()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_server(tmp_path):
    """gunicorn_server(env) -> base URL of a real gunicorn serving this project.

    The server runs in its own process with the given environment added; it is stopped
    when the test ends.
    """
    processes = []

    def start(extra_env=None, workers=1):
        port = free_port()
        env = {**subprocess_env(), **(extra_env or {})}
        log = open(tmp_path / f"gunicorn-{port}.log", "w")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "monitoring_site.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        processes.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/nothing-here", timeout=1)
            except urllib.error.HTTPError:
                return base  # it answered
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((tmp_path / f"gunicorn-{port}.log").read_text()) from None
                time.sleep(0.1)
            else:
                return base
        raise RuntimeError("gunicorn did not start in 30 s")

    yield start
    for proc, log in processes:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def pytest_sessionstart(session):
    # .ci/run asks for PostgreSQL explicitly: never let a typo fall back to SQLite.
    if os.environ.get("MONITORING_REQUIRE_POSTGRES") and not os.environ.get(
        "DATABASE_URL", ""
    ).startswith("postgres"):
        pytest.exit("MONITORING_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL", 2)


# --- Browser tests -------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-sandbox",
    "--disable-gpu",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (skipped, loudly, when absent)."""
    if not CHROMIUM.exists():
        reason = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("MONITORING_REQUIRE_BROWSER"):
            pytest.fail(reason + " but MONITORING_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make around it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, tmp_path):
    """A fresh browser page on the live server; any request off 127.0.0.1 fails the test."""
    from urllib.parse import urlsplit

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    outside_requests = []

    def keep_local(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", keep_local)
    browser_page = context.new_page()
    browser_page.screenshot_dir = tmp_path
    yield browser_page
    context.close()
    assert outside_requests == [], f"requests left 127.0.0.1: {outside_requests}"


def log_in(page, username, password="pw-for-tests-only"):
    """Log in through the real login form."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
