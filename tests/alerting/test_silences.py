"""Silences (SPEC §10): matched alerts are stored and marked, nothing is sent but the
recovery notice; expired silences stop silencing. The API refuses bad input by field."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerting.choices import DeliveryKind
from alerting.models import Alert, Delivery, Silence
from alerting.rules import evaluate
from alerting.silences import SilenceRequest, create_silence, expire_silence

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def kinds(alert):
    return sorted(Delivery.objects.filter(alert=alert).values_list("kind", "reminder_number"))


@pytest.fixture
def rule(make_rule):
    return make_rule(threshold=0.7, severity="critical", component="performance",
                     channels=["console"], repeat_interval_minutes=30)


@pytest.mark.parametrize("matchers", [
    lambda rule: {"rule_id": rule.rule_id},
    lambda rule: {"model_version": "v1"},
    lambda rule: {"severity": "critical"},
    lambda rule: {"component": "performance", "ends_at": T0 + timedelta(hours=3)},
], ids=["by rule", "by version", "by severity", "until a time"])
def test_a_matching_silence_marks_the_alert_and_sends_only_the_recovery(rule, matchers):
    values = {"duration_minutes": 180, **matchers(rule)}
    if "ends_at" in values:
        values.pop("duration_minutes")
    create_silence(SilenceRequest(reason="deploy", starts_at=T0, **values), by="ann", now=T0)

    fired = evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=1), deliver=False)
    assert fired.fired and not fired.notified
    alert = Alert.objects.get()
    assert alert.silenced
    assert kinds(alert) == []
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=40), deliver=False)  # reminder due
    assert kinds(alert) == []
    evaluate(rule, 0.9, "v1", now=T0 + timedelta(minutes=50), deliver=False)
    assert kinds(alert) == [(DeliveryKind.RECOVERY, 0)]


@pytest.mark.parametrize("matchers", [
    {"model_version": "v2"}, {"severity": "info"}, {"component": "latency"},
])
def test_a_silence_that_does_not_match_silences_nothing(rule, matchers):
    create_silence(SilenceRequest(reason="other", duration_minutes=60, **matchers), now=T0)
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=1), deliver=False)
    alert = Alert.objects.get()
    assert not alert.silenced
    assert kinds(alert) == [(DeliveryKind.ALERT, 0)]


def test_a_silence_that_has_ended_silences_nothing(rule):
    create_silence(SilenceRequest(reason="x", duration_minutes=10, starts_at=T0), now=T0)
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=11), deliver=False)
    assert not Alert.objects.get().silenced


def test_an_expired_silence_stops_silencing(rule):
    silence = create_silence(SilenceRequest(reason="x", duration_minutes=600), now=T0)
    assert expire_silence(silence.pk, by="ann", now=T0 + timedelta(minutes=1)).changed
    assert not expire_silence(silence.pk, by="bob", now=T0 + timedelta(minutes=2)).changed
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=3), deliver=False)
    alert = Alert.objects.get()
    assert not alert.silenced
    assert kinds(alert) == [(DeliveryKind.ALERT, 0)]


def test_expiring_a_silence_lets_the_reminders_of_its_alerts_go_out(rule):
    silence = create_silence(SilenceRequest(reason="x", rule_id=rule.rule_id,
                                            duration_minutes=600), now=T0)
    evaluate(rule, 0.5, "v1", now=T0, deliver=False)
    alert = Alert.objects.get()
    assert alert.silenced
    expire_silence(silence.pk, now=T0 + timedelta(minutes=5))
    alert.refresh_from_db()
    assert not alert.silenced
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=31), deliver=False)
    assert kinds(alert) == [(DeliveryKind.REMINDER, 1)]


def test_a_silence_until_an_alert_resolves(rule):
    evaluate(rule, 0.5, "v1", now=T0, deliver=False)
    alert = Alert.objects.get()
    assert kinds(alert) == [(DeliveryKind.ALERT, 0)]
    silence = create_silence(SilenceRequest(reason="on it", alert_id=alert.alert_id), now=T0)
    alert.refresh_from_db()
    assert alert.silenced

    evaluate(rule, 0.5, "v1", now=T0 + timedelta(minutes=45), deliver=False)  # reminder due
    assert kinds(alert) == [(DeliveryKind.ALERT, 0)]
    evaluate(rule, 0.9, "v1", now=T0 + timedelta(minutes=50), deliver=False)
    assert kinds(alert) == [(DeliveryKind.ALERT, 0), (DeliveryKind.RECOVERY, 0)]

    # The alert resolved, so its silence is over: the next incident notifies.
    from alerting.silences import silence_status

    assert silence_status(Silence.objects.get(pk=silence.pk)) == "expired"
    evaluate(rule, 0.5, "v1", now=T0 + timedelta(hours=3), deliver=False)
    new = Alert.objects.unresolved().get()
    assert not new.silenced and kinds(new) == [(DeliveryKind.ALERT, 0)]


# --- API ------------------------------------------------------------------------------

SILENCE_PERMS = ["alerting.add_silence", "alerting.change_silence"]


def test_create_and_list_silences_over_the_api(api_client_for, rule):
    client = api_client_for(perms=SILENCE_PERMS)
    answer = client.post("/api/v1/silences/", {
        "rule_id": rule.rule_id, "duration_minutes": 60, "reason": "maintenance",
    }, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["rule_id"] == rule.rule_id
    assert body["status"] == "active"
    assert body["created_by"] == client.user.username
    listed = client.get("/api/v1/silences/").json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]

    expired = client.post(f"/api/v1/silences/{body['id']}/expire/")
    assert expired.status_code == 200
    assert expired.json()["status"] == "expired"
    assert client.post("/api/v1/silences/999999/expire/").status_code == 404


def test_silence_for_an_alert_over_the_api(api_client_for, make_alert, rule):
    alert = make_alert(rule=rule)
    client = api_client_for(perms=SILENCE_PERMS)
    answer = client.post("/api/v1/silences/", {"alert_id": alert.alert_id, "reason": "mine"},
                         format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["alert_id"] == alert.alert_id
    alert.refresh_from_db()
    assert alert.silenced


@pytest.mark.parametrize("body, field, status", [
    ({"reason": "no end"}, "ends_at", 400),
    ({"reason": "backwards", "starts_at": "2026-03-02T12:00:00Z",
      "ends_at": "2026-03-02T11:00:00Z"}, "ends_at", 400),
    ({"duration_minutes": 60}, "reason", 400),
    ({"reason": "x", "duration_minutes": 0}, "duration_minutes", 400),
    ({"reason": "x", "duration_minutes": 5, "ends_at": "2030-01-01T00:00:00Z"},
     "duration_minutes", 400),
    # Well formed, naming what does not exist: a conflict with the stored rows.
    ({"reason": "x", "duration_minutes": 5, "rule_id": "nope"}, "rule_id", 409),
    ({"reason": "x", "alert_id": "nope"}, "alert_id", 409),
    ({"reason": "x", "duration_minutes": 5, "severity": "loud"}, "severity", 400),
])
def test_bad_silences_are_refused_naming_the_field(api_client_for, body, field, status):
    client = api_client_for(perms=SILENCE_PERMS)
    answer = client.post("/api/v1/silences/", body, format="json")
    assert answer.status_code == status
    assert field in answer.json(), answer.json()
    assert not Silence.objects.exists()


def test_silences_need_their_model_permissions(api_client_for, make_user):
    reader = api_client_for(perms=[])
    assert reader.get("/api/v1/silences/").status_code == 200
    answer = reader.post("/api/v1/silences/", {"reason": "x", "duration_minutes": 5},
                         format="json")
    assert answer.status_code == 403
    silence = create_silence(SilenceRequest(reason="x", duration_minutes=5),
                             now=timezone.now())
    adder = api_client_for(perms=["alerting.add_silence"])
    assert adder.post(f"/api/v1/silences/{silence.pk}/expire/").status_code == 403
