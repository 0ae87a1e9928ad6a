"""GET /metrics (SPEC §11): its token guard, its families, and what a scrape reads."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from alerting.deliveries import deliver, queue_deliveries
from alerting.heartbeat import record_pass
from alerting.lifecycle import resolve_alert
from alerting.models import Delivery
from alerting.monitor import run_monitor_pass
from alerting.rules import evaluate
from predictions.models import HealthSnapshot

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests-0123456789"
FAMILIES = {
    "monitoring_model_metric": "gauge",
    "monitoring_predictions": "counter",
    "monitoring_alerts_open": "gauge",
    "monitoring_rule_state": "gauge",
    "monitoring_monitor_last_pass_timestamp_seconds": "gauge",
    "monitoring_deliveries_failed": "counter",
}


@pytest.fixture
def metrics_token(settings):
    settings.MONITORING_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return response


def samples(response) -> dict:
    """{(sample name, frozenset of labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def labels(**pairs):
    return frozenset(pairs.items())


def test_unset_token_is_a_404(client, settings):
    settings.MONITORING_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}",
    f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
])
def test_missing_or_wrong_token_is_a_401_that_leaks_nothing(
    client, metrics_token, make_rule, authorization
):
    make_rule(rule_id="secret-rule-name")
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.content.decode()
    assert "monitoring_" not in body and "secret-rule-name" not in body
    assert TOKEN not in body


def test_a_signed_in_superuser_without_the_token_gets_a_401(client, metrics_token, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    assert client.get("/metrics").status_code == 401


def test_only_get_and_head(client, metrics_token):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


def test_families_are_those_of_the_spec(client, metrics_token):
    response = scrape(client)
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert families == FAMILIES


def test_model_metrics_are_the_latest_snapshot_of_each_version(
    client, metrics_token, labelled_predictions
):
    labelled_predictions("v1", correct=3, wrong=1)
    labelled_predictions("v2", correct=1, wrong=1)
    run_monitor_pass(window_minutes=60)
    found = samples(scrape(client))
    for version, accuracy in (("v1", 0.75), ("v2", 0.5)):
        snapshot = HealthSnapshot.objects.filter(model_version=version).latest()
        assert snapshot.accuracy == pytest.approx(accuracy)
        key = ("monitoring_model_metric", labels(model_version=version, metric="accuracy"))
        assert found[key] == pytest.approx(snapshot.accuracy)
        assert found[("monitoring_model_metric",
                      labels(model_version=version, metric="num_predictions"))] == (
            snapshot.num_predictions)
    # A later snapshot replaces the figures (one series per version and metric).
    labelled_predictions("v1", correct=0, wrong=4)
    run_monitor_pass(window_minutes=60, now=timezone.now() + timezone.timedelta(seconds=1))
    found = samples(scrape(client))
    key = ("monitoring_model_metric", labels(model_version="v1", metric="accuracy"))
    assert found[key] == pytest.approx(3 / 8)


def test_predictions_total_counts_every_stored_prediction(
    client, metrics_token, labelled_predictions
):
    labelled_predictions("v1", correct=2, wrong=3)
    labelled_predictions("v1", correct=1, minutes_ago=180)
    labelled_predictions("v2", correct=4)
    found = samples(scrape(client))
    assert found[("monitoring_predictions_total", labels(model_version="v1"))] == 6
    assert found[("monitoring_predictions_total", labels(model_version="v2"))] == 4


def test_a_scrape_never_reads_the_predictions_table(client, metrics_token, labelled_predictions):
    labelled_predictions("v1", correct=3, wrong=1)
    run_monitor_pass(window_minutes=60)
    with CaptureQueriesContext(connection) as queries:
        scrape(client)
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "predictions_healthsnapshot" in tables  # the capture works
    assert '"predictions_prediction"' not in tables
    assert "predictions_prediction " not in tables


def test_alerts_open_and_rule_states(client, metrics_token, make_rule, make_alert):
    now = timezone.now()
    low = make_rule(rule_id="low-accuracy", severity="critical")
    evaluate(low, 0.5, "v1", now=now)  # fires: firing
    evaluate(low, 0.9, "v2", now=now)  # ok
    pending = make_rule(rule_id="slow-to-fire", pending_evaluations=3)
    evaluate(pending, 0.5, "v1", now=now)
    make_alert(severity="warning")
    resolved = make_alert(severity="warning")
    resolve_alert(resolved.alert_id, by="rita")
    disabled = make_rule(rule_id="switched-off")
    evaluate(disabled, 0.5, "v1", now=now)
    disabled.enabled = False
    disabled.save()

    found = samples(scrape(client))
    assert found[("monitoring_alerts_open", labels(severity="critical"))] == 1
    assert found[("monitoring_alerts_open", labels(severity="warning"))] == 2  # 1 + switched-off
    assert found[("monitoring_alerts_open", labels(severity="info"))] == 0
    states = {key: value for key, value in found.items() if key[0] == "monitoring_rule_state"}
    expected = {
        ("low-accuracy", "v1"): "firing",
        ("low-accuracy", "v2"): "ok",
        ("slow-to-fire", "v1"): "pending",
    }
    assert len(states) == 3 * len(expected)  # the disabled rule is left out
    for (rule_id, version), current in expected.items():
        for state in ("ok", "pending", "firing"):
            key = ("monitoring_rule_state",
                   labels(rule_id=rule_id, model_version=version, state=state))
            assert states[key] == (1 if state == current else 0)


def test_monitor_last_pass(client, metrics_token):
    key = ("monitoring_monitor_last_pass_timestamp_seconds", frozenset())
    assert samples(scrape(client))[key] == 0  # never ran
    moment = timezone.now().replace(microsecond=0)
    record_pass(moment)
    assert samples(scrape(client))[key] == moment.timestamp()


def test_failed_deliveries_count_every_failed_attempt_and_never_go_down(
    client, metrics_token, make_alert, http_server, settings
):
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    server = http_server(status=503)
    settings.ALERTMANAGER_URL = server.url
    alert = make_alert()
    [delivery] = queue_deliveries(alert, ["alertmanager"])
    assert deliver(delivery) is False
    delivery.refresh_from_db()
    assert deliver(delivery) is False
    key = ("monitoring_deliveries_failed_total", labels(channel="alertmanager"))
    found = samples(scrape(client))
    assert found[key] == 2
    assert found[("monitoring_deliveries_failed_total", labels(channel="slack"))] == 0
    server.status = 200
    delivery.refresh_from_db()
    assert deliver(delivery) is True
    assert Delivery.objects.get(pk=delivery.pk).status == "sent"
    assert samples(scrape(client))[key] == 2  # a retry that works takes nothing back


def test_scrapes_leave_the_global_registry_alone(client, metrics_token):
    before = set(REGISTRY._names_to_collectors)
    scrape(client)
    scrape(client)
    assert set(REGISTRY._names_to_collectors) == before
    assert not any(name.startswith("monitoring_") for name in before)
