"""The PagerDuty channel against a local Events API v2 server (SPEC §11).

One alert is one PagerDuty incident: trigger, acknowledge and resolve carry one
dedup_key, and the acknowledge and resolve follow the site's lifecycle, whichever face
(API, page, admin action, monitor) took the step.
"""
import pytest
from django.utils import timezone

from alerting import lifecycle
from alerting.choices import DeliveryKind, DeliveryStatus
from alerting.models import Alert, Delivery
from alerting.rules import evaluate

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefabcdef"
ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": "x"}


@pytest.fixture
def pagerduty(http_server, settings):
    server = http_server(answer=ACCEPTED, status=202)
    settings.PAGERDUTY_EVENTS_URL = server.url + "/v2/enqueue"
    settings.PAGERDUTY_ROUTING_KEY = ""
    settings.MONITORING_SITE_URL = "https://monitoring.example.com"
    return server


@pytest.fixture
def paging_rule(make_rule):
    return make_rule(rule_id="low-accuracy", severity="critical", channels=["pagerduty"],
                     conditions={"pagerduty_routing_key": ROUTING_KEY})


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """sent(callable, *args) -> its result, with the deliveries it queued sent."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def events(server):
    return server.json_bodies()


def test_trigger_acknowledge_resolve_with_one_dedup_key(
    pagerduty, paging_rule, sent, api_client_for
):
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    person = api_client_for(perms=["alerting.change_alert"])
    response = sent(person.post, f"/api/v1/alerts/{alert.alert_id}/acknowledge/", {},
                    format="json")
    assert response.status_code == 200
    sent(evaluate, paging_rule, 0.9, "v1", now=timezone.now())  # recovers: resolved by system

    assert [e["event_action"] for e in events(pagerduty)] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events(pagerduty)} == {alert.alert_id}
    assert {e["routing_key"] for e in events(pagerduty)} == {ROUTING_KEY}
    assert {r["path"] for r in pagerduty.requests} == {"/v2/enqueue"}
    trigger = events(pagerduty)[0]
    assert trigger["payload"]["summary"] == alert.summary
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "model v1"
    assert trigger["payload"]["custom_details"]["rule_id"] == "low-accuracy"
    assert trigger["links"][0]["href"] == (
        f"https://monitoring.example.com/alerts/{alert.alert_id}/"
    )
    assert "payload" not in events(pagerduty)[1]
    kinds = dict(Delivery.objects.filter(alert=alert).values_list("kind", "status"))
    assert kinds == {DeliveryKind.ALERT: DeliveryStatus.SENT,
                     DeliveryKind.ACKNOWLEDGMENT: DeliveryStatus.SENT,
                     DeliveryKind.RECOVERY: DeliveryStatus.SENT}


def test_a_person_resolving_on_the_page_resolves_the_pagerduty_incident(
    pagerduty, paging_rule, sent, make_user, client
):
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    client.force_login(make_user(perms=["alerting.change_alert"]))
    response = sent(client.post, f"/alerts/{alert.alert_id}/resolve/", {"note": "retrained"})
    assert response.status_code in (200, 302)
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
    assert [(e["event_action"], e["dedup_key"]) for e in events(pagerduty)] == [
        ("trigger", alert.alert_id), ("resolve", alert.alert_id)]


def test_acknowledging_twice_sends_one_acknowledge(pagerduty, paging_rule, sent):
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    first = sent(lifecycle.acknowledge_alert, alert.alert_id, by="rita")
    second = sent(lifecycle.acknowledge_alert, alert.alert_id, by="sam")
    assert first.changed and not second.changed
    assert [e["event_action"] for e in events(pagerduty)] == ["trigger", "acknowledge"]


def test_the_admin_bulk_action_acknowledges_only_what_it_changed(
    pagerduty, make_rule, sent
):
    alerts = []
    for version in ("v1", "v2", "v3"):
        rule = make_rule(channels=["pagerduty"],
                         conditions={"pagerduty_routing_key": ROUTING_KEY})
        alerts.append(sent(evaluate, rule, 0.5, version, now=timezone.now()).alert)
    sent(lifecycle.acknowledge_alert, alerts[0].alert_id, by="rita")
    outcome = sent(lifecycle.acknowledge_alerts, Alert.objects.all(), by="admin")
    assert (outcome.changed, outcome.skipped) == (2, 1)
    acknowledged = [e["dedup_key"] for e in events(pagerduty)
                    if e["event_action"] == "acknowledge"]
    assert sorted(acknowledged) == sorted(a.alert_id for a in alerts)  # one each
    outcome = sent(lifecycle.resolve_alerts, Alert.objects.all(), by="admin")
    resolved = [e["dedup_key"] for e in events(pagerduty) if e["event_action"] == "resolve"]
    assert sorted(resolved) == sorted(a.alert_id for a in alerts)


def test_reminders_trigger_the_same_incident_again(pagerduty, make_rule, sent):
    rule = make_rule(channels=["pagerduty"], repeat_interval_minutes=10,
                     conditions={"pagerduty_routing_key": ROUTING_KEY})
    start = timezone.now()
    alert = sent(evaluate, rule, 0.5, "v1", now=start).alert
    sent(evaluate, rule, 0.5, "v1", now=start + timezone.timedelta(minutes=11))
    assert [(e["event_action"], e["dedup_key"]) for e in events(pagerduty)] == [
        ("trigger", alert.alert_id), ("trigger", alert.alert_id)]


def test_channels_that_do_not_follow_the_lifecycle_hear_nothing_of_an_acknowledgment(
    pagerduty, make_rule, http_server, sent
):
    hook = http_server()
    rule = make_rule(channels=["pagerduty", "webhook"],
                     conditions={"pagerduty_routing_key": ROUTING_KEY, "webhook_url": hook.url})
    alert = sent(evaluate, rule, 0.5, "v1", now=timezone.now()).alert
    sent(lifecycle.acknowledge_alert, alert.alert_id, by="rita")
    assert [d["kind"] for d in hook.json_bodies()] == ["alert"]
    assert [e["event_action"] for e in events(pagerduty)] == ["trigger", "acknowledge"]


def test_a_silenced_alert_never_reaches_pagerduty(pagerduty, paging_rule, sent):
    from alerting.models import Silence

    Silence.objects.create(rule=paging_rule, reason="maintenance",
                           ends_at=timezone.now() + timezone.timedelta(hours=1))
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    assert alert.silenced
    sent(lifecycle.acknowledge_alert, alert.alert_id, by="rita")
    assert events(pagerduty) == []


def test_the_site_routing_key_is_used_without_a_rule_key(pagerduty, make_rule, settings, sent):
    settings.PAGERDUTY_ROUTING_KEY = "SITEWIDEKEY"
    rule = make_rule(channels=["pagerduty"])
    sent(evaluate, rule, 0.5, "v1", now=timezone.now())
    assert events(pagerduty)[0]["routing_key"] == "SITEWIDEKEY"


def test_a_refused_event_is_given_up_and_a_server_error_retried(
    pagerduty, paging_rule, sent
):
    pagerduty.status, pagerduty.answer = 400, {"status": "invalid event", "message": "bad key"}
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None  # a 400 cannot get better by itself
    assert "PagerDuty refused the event" in delivery.last_error

    pagerduty.status = 503
    other = sent(evaluate, paging_rule, 0.5, "v2", now=timezone.now()).alert
    delivery = Delivery.objects.get(alert=other)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is not None  # retried with backoff
    assert "HTTP 503" in delivery.last_error


def test_without_a_routing_key_the_delivery_is_given_up_naming_the_setting(
    pagerduty, paging_rule, sent, settings
):
    paging_rule.conditions = {}
    settings.PAGERDUTY_ROUTING_KEY = "temporarily-set-to-save-the-rule"
    paging_rule.full_clean()
    paging_rule.save()
    settings.PAGERDUTY_ROUTING_KEY = ""
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert "PAGERDUTY_ROUTING_KEY" in delivery.last_error
    assert events(pagerduty) == []


def test_a_trigger_retried_after_the_acknowledgment_is_acknowledged_again(
    pagerduty, paging_rule, sent, settings
):
    from alerting.deliveries import deliver_due

    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    pagerduty.status = 503
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    pagerduty.status = 202
    sent(lifecycle.acknowledge_alert, alert.alert_id, by="rita")  # PagerDuty has no incident yet
    assert deliver_due(now=timezone.now() + timezone.timedelta(seconds=1)) == 1
    assert [e["event_action"] for e in events(pagerduty)] == [
        "trigger", "acknowledge", "trigger", "acknowledge"]
    assert {e["dedup_key"] for e in events(pagerduty)} == {alert.alert_id}


def test_a_trigger_retried_after_the_resolution_is_not_sent(
    pagerduty, paging_rule, sent, settings
):
    from alerting.deliveries import deliver_due

    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    pagerduty.status = 503
    alert = sent(evaluate, paging_rule, 0.5, "v1", now=timezone.now()).alert
    sent(lifecycle.resolve_alert, alert.alert_id, by="rita")  # no resolve: never triggered
    pagerduty.status = 202
    before = len(pagerduty.requests)
    deliver_due(now=timezone.now() + timezone.timedelta(seconds=1))
    # The resolve (failed at first too) is retried; the trigger is not sent at all.
    assert [e["event_action"] for e in events(pagerduty)[before:]] == ["resolve"]
    assert Delivery.objects.get(alert=alert, kind=DeliveryKind.ALERT).status == "sent"
