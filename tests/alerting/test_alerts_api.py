"""The alerts API: list with filters, detail, acknowledge, resolve, statistics."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.choices import AlertStatus
from alerting.models import Alert

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts/"


@pytest.fixture
def reader(api_client_for):
    return api_client_for()


@pytest.fixture
def acknowledger(api_client_for):
    return api_client_for(perms=["alerting.change_alert"], username="ann")


def test_list_alerts_anonymous_is_401(anonymous_client):
    assert anonymous_client.get(URL).status_code == 401


def test_list_alerts_newest_first(reader, make_alert):
    old = make_alert(timestamp=timezone.now() - timedelta(hours=2))
    new = make_alert(timestamp=timezone.now() - timedelta(minutes=1))
    response = reader.get(URL)
    assert response.status_code == 200
    assert [a["alert_id"] for a in response.json()["results"]] == [new.alert_id, old.alert_id]
    assert response.json()["count"] == 2


def test_list_alerts_is_paginated(reader, make_alert):
    for _ in range(3):
        make_alert()
    body = reader.get(URL, {"page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "critical"}, {"crit"}),
        ({"acknowledged": "true"}, {"acked"}),
        ({"acknowledged": "false"}, {"crit", "drift", "old"}),
        ({"status": "acknowledged"}, {"acked"}),
        ({"model_version": "v2"}, {"drift"}),
        ({"component": "drift"}, {"drift"}),
    ],
)
def test_list_alerts_filters(reader, make_alert, params, expected):
    now = timezone.now()
    names = {
        make_alert(severity="critical").pk: "crit",
        make_alert(acknowledged=True, status=AlertStatus.ACKNOWLEDGED).pk: "acked",
        make_alert(component="drift", model_version="v2").pk: "drift",
        make_alert(timestamp=now - timedelta(days=3)).pk: "old",
    }
    body = reader.get(URL, params).json()
    got = {names[Alert.objects.get(alert_id=a["alert_id"]).pk] for a in body["results"]}
    assert got == expected


def test_list_alerts_since(reader, make_alert):
    now = timezone.now()
    make_alert(timestamp=now - timedelta(days=3))
    recent = make_alert(timestamp=now - timedelta(minutes=5))
    body = reader.get(URL, {"since": (now - timedelta(hours=1)).isoformat()}).json()
    assert [a["alert_id"] for a in body["results"]] == [recent.alert_id]


@pytest.mark.parametrize("params", [{"since": "yesterday-ish"}, {"severity": "panic"},
                                    {"acknowledged": "maybe"}])
def test_bad_filter_is_400(reader, params):
    response = reader.get(URL, params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_get_alert(reader, make_alert):
    alert = make_alert()
    body = reader.get(f"{URL}{alert.alert_id}/").json()
    assert body["alert_id"] == alert.alert_id
    assert body["title"] == "PERFORMANCE: accuracy Alert"
    assert body["status"] == "open"
    assert body["deliveries"] == []


def test_get_unknown_alert_is_404(reader):
    response = reader.get(f"{URL}alert_nope/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_acknowledge_alert(acknowledger, make_alert):
    alert = make_alert()
    response = acknowledger.post(f"{URL}{alert.alert_id}/acknowledge/", {"note": "on it"},
                                 format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["acknowledged"] is True
    assert body["acknowledged_by"] == "ann"
    assert body["acknowledgment_note"] == "on it"
    assert body["status"] == "acknowledged"
    assert body["already_acknowledged"] is False


def test_acknowledge_twice_keeps_the_first_and_says_already(acknowledger, api_client_for,
                                                           make_alert):
    alert = make_alert()
    acknowledger.post(f"{URL}{alert.alert_id}/acknowledge/")
    bob = api_client_for(perms=["alerting.change_alert"], username="bob")
    body = bob.post(f"{URL}{alert.alert_id}/acknowledge/", {"note": "me"}, format="json").json()
    assert body["already_acknowledged"] is True
    assert body["acknowledged_by"] == "ann"


def test_acknowledge_without_permission_is_403(reader, make_alert):
    alert = make_alert()
    assert reader.post(f"{URL}{alert.alert_id}/acknowledge/").status_code == 403
    assert not Alert.objects.get(pk=alert.pk).acknowledged


def test_acknowledge_anonymous_is_401(anonymous_client, make_alert):
    alert = make_alert()
    assert anonymous_client.post(f"{URL}{alert.alert_id}/acknowledge/").status_code == 401


def test_acknowledge_unknown_alert_is_404(acknowledger):
    assert acknowledger.post(f"{URL}alert_nope/acknowledge/").status_code == 404


def test_acknowledge_with_a_bad_note_is_400(acknowledger, make_alert):
    alert = make_alert()
    response = acknowledger.post(f"{URL}{alert.alert_id}/acknowledge/", {"note": ["x"]},
                                 format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    assert not Alert.objects.get(pk=alert.pk).acknowledged


def test_resolve_alert_with_a_note(acknowledger, make_alert):
    alert = make_alert()
    response = acknowledger.post(f"{URL}{alert.alert_id}/resolve/", {"note": "retrained"},
                                 format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolved_by"] == "ann"
    assert body["resolution_note"] == "retrained"
    assert body["already_resolved"] is False
    again = acknowledger.post(f"{URL}{alert.alert_id}/resolve/").json()
    assert again["already_resolved"] is True


def test_resolve_without_permission_is_403(reader, make_alert):
    alert = make_alert()
    assert reader.post(f"{URL}{alert.alert_id}/resolve/").status_code == 403


def test_statistics(reader, make_alert):
    make_alert(severity="critical", component="performance")
    make_alert(severity="info", component="drift", model_version="v2")
    make_alert(severity="info", component="drift", acknowledged=True,
               status=AlertStatus.ACKNOWLEDGED)
    body = reader.get(f"{URL}statistics/").json()
    assert body["total_alerts"] == 3
    assert body["unacknowledged"] == 2
    assert body["by_severity"] == {"critical": 1, "warning": 0, "info": 2}
    assert body["by_component"] == {"drift": 2, "performance": 1}
    assert body["by_status"] == {"open": 2, "acknowledged": 1, "resolved": 0}
    filtered = reader.get(f"{URL}statistics/", {"model_version": "v2"}).json()
    assert filtered["total_alerts"] == 1


def test_alerts_are_read_only(acknowledger, make_alert):
    alert = make_alert()
    assert acknowledger.delete(f"{URL}{alert.alert_id}/").status_code == 405
    assert acknowledger.post(URL, {}, format="json").status_code == 405
