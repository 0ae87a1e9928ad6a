"""The Alertmanager channel against a local HTTP server: what it posts and when.

(tests/alerting/test_prometheus_alertmanager_live.py runs the real Alertmanager.)
"""
import json

import pytest
from django.utils import timezone

from alerting import lifecycle
from alerting.channels import ChannelError, get_channel
from alerting.choices import DeliveryKind
from alerting.monitor import run_monitor_pass
from alerting.rules import evaluate

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_alertmanager(http_server, settings):
    server = http_server(answer={})
    settings.ALERTMANAGER_URL = server.url + "/"
    settings.MONITORING_SITE_URL = "https://monitoring.example.com/"
    return server


def posts(server):
    return [(r["path"], json.loads(r["body"])) for r in server.requests]


def test_a_firing_incident_is_posted_with_the_spec_labels(
    fake_alertmanager, make_rule, django_capture_on_commit_callbacks
):
    rule = make_rule(rule_id="low-accuracy", severity="critical", channels=["alertmanager"])
    with django_capture_on_commit_callbacks(execute=True):
        alert = evaluate(rule, 0.5, "v3", now=timezone.now()).alert
    [(path, [document])] = posts(fake_alertmanager)
    assert path == "/api/v2/alerts"
    assert document == {
        "labels": {"alertname": "low-accuracy", "model_version": "v3",
                   "severity": "critical", "component": "performance"},
        "annotations": {"summary": alert.summary, "description": alert.message},
        "startsAt": alert.timestamp.isoformat(),
        "generatorURL": f"https://monitoring.example.com/alerts/{alert.alert_id}/",
    }


def test_each_monitor_pass_posts_the_firing_incident_again_until_it_resolves(
    fake_alertmanager, make_rule, labelled_predictions, django_capture_on_commit_callbacks
):
    rule = make_rule(rule_id="low-accuracy", channels=["alertmanager"])
    labelled_predictions("v1", correct=1, wrong=3)
    start = timezone.now()
    run_monitor_pass(window_minutes=60, now=start)  # fires and sends
    run_monitor_pass(window_minutes=60, now=start + timezone.timedelta(minutes=1))
    run_monitor_pass(window_minutes=60, now=start + timezone.timedelta(minutes=2))
    documents = [batch for _, batch in posts(fake_alertmanager)]
    # The first post, then one re-post at the end of each pass (the first one included).
    assert len(documents) == 4
    assert all(len(batch) == 1 and "endsAt" not in batch[0] for batch in documents)
    assert {batch[0]["labels"]["alertname"] for batch in documents} == {"low-accuracy"}

    alert = rule.alerts.get()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = lifecycle.resolve_alert(alert.alert_id, by="rita")  # a person resolves it
    assert outcome.changed
    _, [last] = posts(fake_alertmanager)[-1]
    assert last["endsAt"] == outcome.alert.resolved_at.isoformat()
    before = len(fake_alertmanager.requests)
    rule.enabled = False  # so that the next pass does not open a new incident
    rule.save()
    run_monitor_pass(window_minutes=60, now=start + timezone.timedelta(minutes=3))
    assert len(fake_alertmanager.requests) == before  # resolved: not posted again


def test_acknowledging_does_not_post_to_alertmanager(
    fake_alertmanager, make_rule, django_capture_on_commit_callbacks
):
    rule = make_rule(channels=["alertmanager"])
    with django_capture_on_commit_callbacks(execute=True):
        alert = evaluate(rule, 0.5, "v3", now=timezone.now()).alert
        lifecycle.acknowledge_alert(alert.alert_id, by="rita")
    assert len(fake_alertmanager.requests) == 1


def test_unset_url_is_a_permanent_error(make_alert, settings):
    settings.ALERTMANAGER_URL = ""
    with pytest.raises(ChannelError, match="ALERTMANAGER_URL") as caught:
        get_channel("alertmanager").send(make_alert(), DeliveryKind.ALERT)
    assert caught.value.permanent


def test_an_alert_without_a_rule_is_named_after_its_metric(fake_alertmanager, make_alert):
    get_channel("alertmanager").send(make_alert(model_version="", component=""))
    [(_, [document])] = posts(fake_alertmanager)
    assert document["labels"] == {"alertname": "accuracy", "severity": "warning"}


def test_a_late_post_of_a_resolved_alert_carries_its_end(fake_alertmanager, make_alert):
    alert = make_alert()
    outcome = lifecycle.resolve_alert(alert.alert_id, by="rita")
    get_channel("alertmanager").send(outcome.alert, DeliveryKind.ALERT)  # a retried first post
    [(_, [document])] = posts(fake_alertmanager)
    assert document["endsAt"] == outcome.alert.resolved_at.isoformat()
