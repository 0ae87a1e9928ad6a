"""Production settings: `check --deploy` is clean, headers and cookies are secure, writes throttle.

Checked over a real gunicorn with DEBUG off, as deployed behind a TLS proxy (the proxy
sets X-Forwarded-Proto).
"""
import re
import secrets
import subprocess
import sys
from urllib.parse import urlencode

from tests.conftest import ROOT, subprocess_env
from tests.reliability.conftest import INGEST_TOKEN, READER_TOKEN, request

HOST = "monitoring.example.com"
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}


def test_check_deploy_gives_no_warning(tmp_path):
    env = {
        **subprocess_env(),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
    }
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        env.pop(name, None)  # the production defaults, not a developer's overrides
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def _cookie(response, name):
    for value in response.all_headers("Set-Cookie"):
        if value.startswith(f"{name}="):
            return value
    raise AssertionError(f"no {name} cookie in {response.all_headers('Set-Cookie')}")


def _attributes(cookie):
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


def test_security_headers_and_secure_cookies_in_production(site_db, serve):
    server = serve(site_db.url, env={"SECURE_SSL_REDIRECT": "true",
                                     "MONITORING_METRICS_TOKEN": "scrape-secret"})

    # Plain HTTP is sent to HTTPS.
    plain = request(server.base, "GET", "/accounts/login/", headers={"Host": HOST})
    assert plain.status == 301
    assert plain.header("Location") == f"https://{HOST}/accounts/login/"

    # …except the health probe and the scrape, which come over plain HTTP inside the network.
    probe = request(server.base, "GET", "/healthz", headers={"Host": HOST})
    assert probe.status == 200
    scrape = request(server.base, "GET", "/metrics",
                     headers={"Host": HOST, "Authorization": "Bearer scrape-secret"})
    assert scrape.status == 200, scrape.body

    page = request(server.base, "GET", "/accounts/login/", headers=HTTPS)
    assert page.status == 200
    assert page.header("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert page.header("X-Content-Type-Options") == "nosniff"
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("Referrer-Policy") == "same-origin"
    assert page.header("Cross-Origin-Opener-Policy") == "same-origin"
    csrf_cookie = _cookie(page, "csrftoken")
    assert "secure" in _attributes(csrf_cookie)

    # Logging in sets a session cookie that is Secure and HttpOnly.
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    form = urlencode({
        "csrfmiddlewaretoken": token.decode(), "username": "reader",
        "password": "pw-for-tests-only", "next": "/",
    }).encode()
    logged_in = request(server.base, "POST", "/accounts/login/", body=form, headers={
        **HTTPS,
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": csrf_cookie.split(";")[0],
        "Origin": f"https://{HOST}",
        "Referer": f"https://{HOST}/accounts/login/",
    })
    assert logged_in.status == 302, logged_in.body[:500]
    session = _cookie(logged_in, "sessionid")
    assert {"secure", "httponly"} <= _attributes(session)

    # The API's answers carry the same headers.
    api = request(server.base, "GET", "/api/v1/alerts/", headers=HTTPS)
    assert api.status == 401
    assert api.header("Content-Type").startswith("application/json")
    assert api.header("X-Content-Type-Options") == "nosniff"
    assert api.header("Strict-Transport-Security")


def _prediction(n):
    return {"prediction_id": f"throttle-{n}", "model_version": "v1",
            "predicted_outcome": 1, "confidence": 0.7}


def test_token_writes_are_throttled_when_configured(site_db, serve):
    server = serve(site_db.url, env={"API_WRITE_THROTTLE": "3/min"})
    statuses = [
        request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                body=_prediction(n)).status
        for n in range(3)
    ]
    assert statuses == [201, 201, 201]
    refused = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                      body=_prediction(3))
    assert refused.status == 429
    assert "detail" in refused.json()
    assert int(refused.header("Retry-After")) > 0
    assert site_db.query(
        "SELECT count(*) FROM predictions_prediction WHERE prediction_id = %s", ("throttle-3",)
    ) == [(0,)]
    # Reads are not throttled.
    for _ in range(5):
        assert request(server.base, "GET", "/api/v1/predictions/", token=READER_TOKEN).status == 200


def test_writes_are_not_throttled_by_default(site_db, serve):
    server = serve(site_db.url)  # API_WRITE_THROTTLE empty
    statuses = {
        request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                body=_prediction(n)).status
        for n in range(8)
    }
    assert statuses == {201}


def test_throttle_counts_across_workers_with_a_shared_cache(site_db, serve, tmp_path):
    server = serve(site_db.url, workers=2, env={
        "API_WRITE_THROTTLE": "3/min", "CACHE_URL": f"filecache://{tmp_path}/cache"})
    statuses = [
        request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                body=_prediction(n)).status
        for n in range(8)
    ]
    assert statuses.count(201) == 3, statuses
    assert statuses.count(429) == 5, statuses
