"""Debian's real Prometheus and Alertmanager against this site (SPEC §11).

Each binary is started once per module on a loopback port with a generated config:
Prometheus scrapes the live server's /metrics every second (one job with the token, one
with a wrong one), and Alertmanager receives the ``alertmanager`` channel's posts and
forwards its notifications to a local HTTP server. Without a binary the tests skip,
unless MONITORING_REQUIRE_INTEGRATIONS is set (CI): then they fail.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from alerting import lifecycle
from alerting.deliveries import repost_firing
from alerting.rules import evaluate
from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROMETHEUS = Path("/usr/bin/prometheus")
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
TOKEN = "prometheus-scrape-token-0123456789"


def require_binary(path: Path) -> None:
    if path.exists():
        return
    reason = f"{path} is not installed (apt-get install -y prometheus prometheus-alertmanager)"
    if os.environ.get("MONITORING_REQUIRE_INTEGRATIONS"):
        pytest.fail(reason + " but MONITORING_REQUIRE_INTEGRATIONS is set")
    pytest.skip(reason)


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def poll(check, timeout=30.0, interval=0.2, what="the condition"):
    """check() until it returns something truthy; that value. Fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


class Process:
    """A server binary started with its arguments, waited for on ``ready_url``."""

    def __init__(self, argv, ready_url, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(ready_url, timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{argv[0]} did not start:\n{log_path.read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- Prometheus ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(live_server, tmp_path_factory):
    """Prometheus scraping the live server: job ``site`` with the token, ``intruder``
    with a wrong one. Returns its base URL."""
    require_binary(PROMETHEUS)
    folder = tmp_path_factory.mktemp("prometheus")
    target = urllib.parse.urlsplit(live_server.url).netloc
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": name, "metrics_path": "/metrics",
             "authorization": {"type": "Bearer", "credentials": credentials},
             "static_configs": [{"targets": [target]}]}
            for name, credentials in (("site", TOKEN), ("intruder", "not-the-token"))
        ],
    }
    config_path = folder / "prometheus.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process(
        [str(PROMETHEUS), f"--config.file={config_path}",
         f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        f"{base}/-/ready", folder / "prometheus.log",
    )
    yield base
    server.stop()


@pytest.fixture
def scrapable(settings):
    settings.MONITORING_METRICS_TOKEN = TOKEN


def query(prometheus_url: str, promql: str) -> list:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = get_json(url)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_reads_the_versions_accuracy_as_the_api_gives_it(
    prometheus, scrapable, labelled_predictions, api_client_for
):
    labelled_predictions("v1", correct=7, wrong=3)
    labelled_predictions("v2", correct=1, wrong=3)
    client = api_client_for(perms=["predictions.add_healthsnapshot"])
    computed = client.post("/api/v1/health-snapshots/compute/",
                           {"window_minutes": 60}, format="json")
    assert computed.status_code == 201, computed.content
    api = client.get("/api/v1/metrics/accuracy/", {"model_version": "v1", "window_minutes": 60})
    assert api.status_code == 200, api.content
    api_accuracy = api.json()["accuracy"]
    assert api_accuracy == pytest.approx(0.7)

    promql = 'monitoring_model_metric{job="site",model_version="v1",metric="accuracy"}'
    [series] = poll(lambda: query(prometheus, promql), what="Prometheus to scrape accuracy")
    assert float(series["value"][1]) == api_accuracy
    [total] = poll(lambda: query(prometheus, 'monitoring_predictions_total{model_version="v2"}'),
                   what="the prediction total")
    assert float(total["value"][1]) == 4


def test_prometheus_is_refused_with_a_wrong_token(prometheus, scrapable):
    def intruder_target():
        # Scrapes made before this test set the token saw a 404: wait for one after.
        targets = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
        found = [t for t in targets if t["labels"]["job"] == "intruder"
                 and "401" in t["lastError"]]
        return found[0] if found else None

    target = poll(intruder_target, what="the intruder job's scrape to be refused")
    assert target["health"] == "down"
    assert target["lastError"] == "server returned HTTP status 401 Unauthorized"
    assert query(prometheus, 'monitoring_alerts_open{job="intruder"}') == []


def test_metrics_over_http_401_without_or_with_a_wrong_token_404_unset(live_server, settings):
    def status(headers):
        request = urllib.request.Request(live_server.url + "/metrics", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    settings.MONITORING_METRICS_TOKEN = TOKEN
    assert status({})[0] == 401
    code, body = status({"Authorization": "Bearer wrong"})
    assert code == 401 and b"monitoring_" not in body
    code, body = status({"Authorization": f"Bearer {TOKEN}"})
    assert code == 200 and b"# TYPE monitoring_alerts_open gauge" in body
    settings.MONITORING_METRICS_TOKEN = ""
    assert status({"Authorization": f"Bearer {TOKEN}"})[0] == 404


# --- Alertmanager -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver():
    """Where Alertmanager sends its notifications (a local HTTP server)."""
    from tests.alerting.conftest import RecordingServer

    server = RecordingServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def alertmanager(receiver, tmp_path_factory):
    """Alertmanager on a loopback port, routing everything to ``receiver`` at once."""
    require_binary(ALERTMANAGER)
    folder = tmp_path_factory.mktemp("alertmanager")
    config = {
        "route": {"receiver": "hook", "group_by": ["alertname", "model_version"],
                  "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "hook", "webhook_configs": [
            {"url": receiver.url + "/alertmanager", "send_resolved": True}]}],
    }
    config_path = folder / "alertmanager.yml"
    config_path.write_text(json.dumps(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process(
        [str(ALERTMANAGER), f"--config.file={config_path}",
         f"--storage.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", "--log.level=warn"],
        f"{base}/-/ready", folder / "alertmanager.log",
    )
    yield base
    server.stop()


def moment(text: str):
    """An Alertmanager time (RFC 3339, up to nanoseconds) as a datetime."""
    import re
    from datetime import datetime

    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def listed(alertmanager_url: str, rule_id: str) -> list:
    alerts = get_json(f"{alertmanager_url}/api/v2/alerts")
    return [a for a in alerts if a["labels"].get("alertname") == rule_id]


def notified(receiver, rule_id: str, status: str) -> list:
    return [
        alert for document in receiver.json_bodies() for alert in document.get("alerts", [])
        if alert["labels"].get("alertname") == rule_id and alert["status"] == status
    ]


def test_alertmanager_lists_a_firing_incident_then_sees_it_resolved(
    alertmanager, receiver, make_rule, settings
):
    settings.ALERTMANAGER_URL = alertmanager
    settings.MONITORING_SITE_URL = "https://monitoring.example.com"
    rule = make_rule(rule_id="low-accuracy-live", severity="critical", component="performance",
                     channels=["alertmanager"])
    alert = evaluate(rule, 0.55, "v7", now=timezone.now()).alert  # sent after commit

    [posted] = poll(lambda: listed(alertmanager, "low-accuracy-live"), what="the firing alert")
    assert posted["labels"] == {"alertname": "low-accuracy-live", "model_version": "v7",
                                "severity": "critical", "component": "performance"}
    assert posted["annotations"] == {"summary": alert.summary, "description": alert.message}
    assert posted["generatorURL"] == (
        f"https://monitoring.example.com/alerts/{alert.alert_id}/"
    )
    assert posted["status"]["state"] == "active"
    poll(lambda: notified(receiver, "low-accuracy-live", "firing"), what="the firing notice")

    # Each monitor pass posts it again, so Alertmanager does not let it time out.
    first_update = posted["updatedAt"]
    time.sleep(0.05)
    assert repost_firing() == 1
    [reposted] = listed(alertmanager, "low-accuracy-live")
    assert moment(reposted["updatedAt"]) > moment(first_update)

    outcome = lifecycle.resolve_alert(alert.alert_id, by="rita", note="retrained")
    assert outcome.changed
    poll(lambda: not listed(alertmanager, "low-accuracy-live"), what="the alert to end")
    [resolved] = poll(lambda: notified(receiver, "low-accuracy-live", "resolved"),
                      what="Alertmanager's resolved notice")
    assert resolved["labels"]["model_version"] == "v7"
    assert abs((moment(resolved["endsAt"]) - outcome.alert.resolved_at).total_seconds()) < 0.001
    assert repost_firing() == 0  # resolved alerts are not posted again


def test_a_missing_binary_fails_when_integrations_are_required(monkeypatch):
    missing = Path("/nonexistent/prometheus")
    monkeypatch.setenv("MONITORING_REQUIRE_INTEGRATIONS", "1")
    with pytest.raises(pytest.fail.Exception, match="MONITORING_REQUIRE_INTEGRATIONS"):
        require_binary(missing)
    monkeypatch.delenv("MONITORING_REQUIRE_INTEGRATIONS")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_binary(missing)
