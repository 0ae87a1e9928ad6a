"""GET /healthz over real HTTP: 200 with a database, 503 JSON without one."""
import json
import urllib.error
import urllib.request

import pytest


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "database": "ok", "monitor": {"last_pass_at": None, "status": "never"},
    }


def test_healthz_answers_200_over_http(gunicorn_server, tmp_path):
    base = gunicorn_server({"DATABASE_URL": f"sqlite:///{tmp_path}/ok.db"})
    # Not even migrated: no monitor can have passed (still 200: the site is up).
    assert get_json(base + "/healthz") == (200, {
        "status": "ok", "database": "ok", "monitor": {"last_pass_at": None, "status": "never"},
    })


@pytest.mark.parametrize(
    "broken_url",
    [
        "postgres://postgres@127.0.0.1:9/nowhere",  # nothing listens on port 9
        "sqlite:////proc/no-such-dir/monitoring.db",  # cannot be created
    ],
)
def test_healthz_reports_unreachable_database_as_503(gunicorn_server, broken_url):
    base = gunicorn_server({"DATABASE_URL": broken_url})
    status, body = get_json(base + "/healthz")
    assert status == 503
    # The cause is logged, never shown to anonymous callers (it names hosts and ports).
    assert body == {"status": "error", "database": "unavailable"}
