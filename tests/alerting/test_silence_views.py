"""The §10 pages: silencing from the alert page, the silences page, the heartbeat line on
every page, /healthz's monitor status, unresolved alerts first and the noisiest rules."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerting.heartbeat import record_pass
from alerting.lifecycle import resolve_alert
from alerting.models import AgentAction, Silence
from alerting.silences import SilenceRequest, create_silence
from predictions.models import DriftReport

pytestmark = pytest.mark.django_db

SILENCE = ["alerting.add_silence", "alerting.change_silence", "alerting.view_alert"]


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("duration, minutes", [("1h", 60), ("4h", 240), ("24h", 1440)])
def test_silence_an_alert_for_a_while_from_its_page(make_user, make_rule, make_alert,
                                                     duration, minutes):
    rule = make_rule()
    alert = make_alert(rule=rule, model_version="v3")
    client = client_for(make_user(perms=SILENCE))
    before = timezone.now()
    response = client.post(f"/alerts/{alert.alert_id}/silence/", {"duration": duration})
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert (silence.rule, silence.model_version, silence.alert) == (rule, "v3", None)
    assert before + timedelta(minutes=minutes) <= silence.ends_at
    assert silence.ends_at <= timezone.now() + timedelta(minutes=minutes)
    alert.refresh_from_db()
    assert alert.silenced
    page = client.get(f"/alerts/{alert.alert_id}/").content.decode()
    assert 'id="silenced-badge"' in page


def test_silence_an_alert_until_it_resolves_from_its_page(make_user, make_alert):
    alert = make_alert()
    client = client_for(make_user(perms=SILENCE))
    client.post(f"/alerts/{alert.alert_id}/silence/", {"duration": "resolved"})
    silence = Silence.objects.get()
    assert silence.alert == alert and silence.ends_at is None


def test_silencing_needs_the_permission_and_a_post(make_user, make_alert):
    alert = make_alert()
    client = client_for(make_user(perms=["alerting.view_alert"]))
    assert client.post(f"/alerts/{alert.alert_id}/silence/", {"duration": "1h"}).status_code == 403
    assert "Silence 1 h" not in client.get(f"/alerts/{alert.alert_id}/").content.decode()
    allowed = client_for(make_user(perms=SILENCE))
    assert allowed.get(f"/alerts/{alert.alert_id}/silence/").status_code == 405
    assert allowed.post(f"/alerts/{alert.alert_id}/silence/", {"duration": "9y"}).status_code == 302
    assert not Silence.objects.exists()


def test_silences_page_lists_and_expires(make_user, make_alert):
    create_silence(SilenceRequest(reason="deploy window", duration_minutes=60))
    old = create_silence(SilenceRequest(reason="long gone", duration_minutes=5,
                                        starts_at=timezone.now() - timedelta(hours=2)))
    client = client_for(make_user(perms=SILENCE))
    page = client.get("/silences/").content.decode()
    assert page.index("deploy window") < page.index("Ended or expired") < page.index("long gone")
    active = Silence.objects.get(reason="deploy window")
    response = client.post(f"/silences/{active.pk}/expire/")
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.expired_at is not None
    assert old.expired_at is None
    reader = client_for(make_user(perms=["alerting.view_alert"]))
    assert reader.post(f"/silences/{old.pk}/expire/").status_code == 403


def test_alert_page_links_to_the_version_its_drift_report_and_actions(make_user, make_alert):
    alert = make_alert(model_version="v3", summary="[v3] accuracy 0.6500 < 0.7000 over 1 h")
    now = timezone.now()
    report = DriftReport.objects.create(
        model_version="v3", reference_start=now - timedelta(days=2),
        reference_end=now - timedelta(days=1), reference_rows=10, current_start=now,
        current_end=now, current_rows=10,
    )
    AgentAction.objects.create(action_type="retrain_model", alert=alert, description="retrain")
    page = client_for(make_user(perms=SILENCE)).get(f"/alerts/{alert.alert_id}/")
    text = page.content.decode()
    assert "[v3] accuracy 0.6500 &lt; 0.7000 over 1 h" in text
    assert 'href="/models/v3/"' in text
    assert f'href="/drift/{report.pk}/"' in text
    assert "retrain" in text


def test_alert_list_shows_unresolved_alerts_first_and_the_noisiest_rules(
    make_user, make_rule, make_alert
):
    rule = make_rule(name="Very noisy")
    resolved_newest = make_alert(title="NEWEST RESOLVED", rule=rule, model_version="a",
                                 timestamp=timezone.now())
    resolve_alert(resolved_newest.alert_id, by="ann")
    make_alert(title="OLDER OPEN", timestamp=timezone.now() - timedelta(days=1))
    page = client_for(make_user(perms=SILENCE)).get("/alerts/").content.decode()
    assert page.index("OLDER OPEN") < page.index("NEWEST RESOLVED")
    assert page.index("Noisiest rules") < page.index("Very noisy")


def test_every_page_shows_the_monitor_heartbeat(make_user, settings):
    settings.MONITORING_MONITOR_INTERVAL_SECONDS = 60
    client = client_for(make_user(perms=SILENCE))
    assert "no pass has ever run" in client.get("/silences/").content.decode()
    record_pass(timezone.now() - timedelta(seconds=400))
    assert "monitor: late" in client.get("/alerts/").content.decode()
    record_pass(timezone.now() - timedelta(seconds=5))
    page = client.get("/").content.decode()
    assert "monitor: last pass" in page and "late" not in page.split("monitor-heartbeat")[1][:60]


def test_healthz_reports_the_monitor(client, settings):
    settings.MONITORING_MONITOR_INTERVAL_SECONDS = 60
    body = client.get("/healthz").json()
    assert body["monitor"] == {"last_pass_at": None, "status": "never"}
    record_pass(timezone.now() - timedelta(minutes=10))
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["monitor"]["status"] == "late"
    record_pass()
    assert client.get("/healthz").json()["monitor"]["status"] == "ok"
