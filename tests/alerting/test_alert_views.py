"""The alert pages: list, detail, and the Acknowledge/Resolve forms (SPEC §6)."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from alerting.choices import AlertStatus
from alerting.models import Alert, Delivery

pytestmark = pytest.mark.django_db

CHANGE = ["alerting.change_alert"]


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def snapshot_of_alerts():
    return list(Alert.objects.order_by("pk").values())


@pytest.mark.parametrize("path", ["/", "/alerts/", "/models/v1/"])
def test_pages_redirect_anonymous_users_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_alert_detail_redirects_anonymous_users_to_login(client, make_alert):
    alert = make_alert()
    response = client.get(f"/alerts/{alert.alert_id}/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_post_to_acknowledge_changes_nothing(client, make_alert):
    alert = make_alert()
    before = snapshot_of_alerts()
    response = client.post(f"/alerts/{alert.alert_id}/acknowledge/", {"note": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert snapshot_of_alerts() == before


def test_acknowledge_records_the_user_and_note(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    response = client_for(user).post(
        f"/alerts/{alert.alert_id}/acknowledge/", {"note": "on it", "next": "/alerts/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/alerts/"
    alert.refresh_from_db()
    assert alert.acknowledged and alert.acknowledged_by == "ann"
    assert alert.acknowledgment_note == "on it"
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert f"Alert {alert.alert_id} acknowledged." in response.content.decode()


def test_acknowledging_twice_keeps_the_first_and_says_so(make_user, make_alert):
    ann, bob = make_user("ann", perms=CHANGE), make_user("bob", perms=CHANGE)
    alert = make_alert()
    client_for(ann).post(f"/alerts/{alert.alert_id}/acknowledge/", {"note": "first"})
    response = client_for(bob).post(
        f"/alerts/{alert.alert_id}/acknowledge/", {"note": "second"}, follow=True
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == "ann" and alert.acknowledgment_note == "first"
    assert "already acknowledged by ann" in response.content.decode()


def test_user_without_change_permission_gets_403_and_nothing_changes(make_user, make_alert):
    user = make_user("viewer", perms=["alerting.view_alert"])
    alert = make_alert()
    before = snapshot_of_alerts()
    client = client_for(user)
    assert client.post(f"/alerts/{alert.alert_id}/acknowledge/", {"note": "x"}).status_code == 403
    assert client.post(f"/alerts/{alert.alert_id}/resolve/", {"note": "x"}).status_code == 403
    assert snapshot_of_alerts() == before


def test_user_without_permission_sees_no_forms(make_user, make_alert):
    make_alert()
    page = client_for(make_user("viewer")).get("/alerts/").content.decode()
    assert "Acknowledge</button>" not in page and "Resolve</button>" not in page


def test_get_on_action_urls_changes_nothing(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    before = snapshot_of_alerts()
    client = client_for(user)
    assert client.get(f"/alerts/{alert.alert_id}/acknowledge/?note=x").status_code == 405
    assert client.get(f"/alerts/{alert.alert_id}/resolve/").status_code == 405
    for path in ["/", "/alerts/", f"/alerts/{alert.alert_id}/", "/models/v1/",
                 "/alerts/?status=open&severity=warning"]:
        assert client.get(path).status_code == 200, path
    assert snapshot_of_alerts() == before


def test_post_without_csrf_token_is_refused(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(f"/alerts/{alert.alert_id}/acknowledge/", {"note": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert not alert.acknowledged


def test_resolve_records_the_user_and_note(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    response = client_for(user).post(
        f"/alerts/{alert.alert_id}/resolve/", {"note": "fixed the feed"}, follow=True
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == "ann" and alert.resolution_note == "fixed the feed"
    # Without "next" the user lands on the alert's page.
    assert response.redirect_chain[-1][0] == f"/alerts/{alert.alert_id}/"
    assert f"Alert {alert.alert_id} resolved." in response.content.decode()


def test_resolving_twice_says_already_resolved(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    client = client_for(user)
    client.post(f"/alerts/{alert.alert_id}/resolve/")
    response = client.post(f"/alerts/{alert.alert_id}/resolve/", follow=True)
    assert "already resolved by ann" in response.content.decode()


def test_unknown_alert_is_404(make_user):
    client = client_for(make_user("ann", perms=CHANGE))
    assert client.post("/alerts/nope/acknowledge/").status_code == 404
    assert client.post("/alerts/nope/resolve/").status_code == 404
    assert client.get("/alerts/nope/").status_code == 404


def test_next_pointing_off_site_is_ignored(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    response = client_for(user).post(
        f"/alerts/{alert.alert_id}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/alerts/{alert.alert_id}/"


def test_too_long_note_is_refused_with_a_message(make_user, make_alert):
    user = make_user("ann", perms=CHANGE)
    alert = make_alert()
    response = client_for(user).post(
        f"/alerts/{alert.alert_id}/acknowledge/", {"note": "x" * 2001}, follow=True
    )
    alert.refresh_from_db()
    assert not alert.acknowledged
    assert "was not acknowledged" in response.content.decode()


def test_list_filters_by_severity_status_version_and_component(make_user, make_alert):
    make_alert(severity="critical", model_version="v1", title="CRIT v1")
    make_alert(severity="warning", model_version="v2", component="drift", title="WARN v2")
    resolved = make_alert(severity="info", model_version="v1", title="INFO v1")
    Alert.objects.filter(pk=resolved.pk).update(status=AlertStatus.RESOLVED)
    client = client_for(make_user("ann"))

    def titles(query):
        response = client.get("/alerts/?" + query)
        assert response.status_code == 200
        return sorted(a.title for a in response.context["alerts"])

    assert titles("severity=critical") == ["CRIT v1"]
    assert titles("model_version=v1") == ["CRIT v1", "INFO v1"]
    assert titles("component=drift") == ["WARN v2"]
    assert titles("status=resolved") == ["INFO v1"]
    assert titles("status=unresolved") == ["CRIT v1", "WARN v2"]
    assert titles("severity=bogus") == ["CRIT v1", "INFO v1", "WARN v2"]


def test_list_is_paginated_and_keeps_filters(make_user, make_alert):
    for _ in range(30):
        make_alert(severity="warning")
    make_alert(severity="info")
    client = client_for(make_user("ann"))
    first = client.get("/alerts/?severity=warning")
    assert len(first.context["alerts"]) == 25
    assert "severity=warning&amp;page=2" in first.content.decode()
    second = client.get("/alerts/?severity=warning&page=2")
    assert len(second.context["alerts"]) == 5


def test_only_open_alerts_offer_acknowledge_and_only_unresolved_offer_resolve(
    make_user, make_alert
):
    open_alert = make_alert()
    acked = make_alert()
    Alert.objects.filter(pk=acked.pk).update(
        acknowledged=True, acknowledged_by="x", status=AlertStatus.ACKNOWLEDGED
    )
    resolved = make_alert()
    Alert.objects.filter(pk=resolved.pk).update(status=AlertStatus.RESOLVED)
    page = client_for(make_user("ann", perms=CHANGE)).get("/alerts/").content.decode()
    assert f"/alerts/{open_alert.alert_id}/acknowledge/" in page
    assert f"/alerts/{acked.alert_id}/acknowledge/" not in page
    assert f"/alerts/{acked.alert_id}/resolve/" in page
    assert f"/alerts/{resolved.alert_id}/resolve/" not in page


def test_detail_shows_history_and_deliveries(make_user, make_alert):
    alert = make_alert()
    Alert.objects.filter(pk=alert.pk).update(
        acknowledged=True, acknowledged_by="ann", acknowledgment_note="checking the feed",
        status=AlertStatus.ACKNOWLEDGED,
    )
    Delivery.objects.create(alert=alert, channel="slack", status="failed", attempts=3,
                            last_error="HTTP 500 from Slack")
    Delivery.objects.create(alert=alert, channel="console", status="sent", attempts=1)
    page = client_for(make_user("bob")).get(f"/alerts/{alert.alert_id}/").content.decode()
    assert "Acknowledged" in page and "ann" in page and "checking the feed" in page
    assert "HTTP 500 from Slack" in page and "slack" in page and "console" in page
    assert "Not resolved yet" in page


def test_the_alert_page_writes_times_as_every_page_does(make_user, make_alert):
    """One date format (issue 17): minutes, 24 h, UTC — no seconds on this page either."""
    alert = make_alert()
    client = Client()
    client.force_login(make_user())
    page = client.get(reverse("alert-detail", args=[alert.alert_id])).content.decode()
    shown = re.sub(r"<[^>]+>", " ", page)  # the text a person reads, not data-* attributes
    assert not re.search(r"\d\d:\d\d:\d\d", shown)
    assert f"{alert.timestamp:%Y-%m-%d %H:%M} UTC" in page
