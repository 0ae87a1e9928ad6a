"""The §10 rule fields over the API: validation by field, states, statistics, preview input."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.lifecycle import acknowledge_alert, resolve_alert
from alerting.models import AlertRule
from alerting.rules import evaluate
from tests.alerting.test_alert_rules_api import RULE_PERMS, URL, good_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(api_client_for):
    return api_client_for(perms=RULE_PERMS)


def test_create_rule_with_the_new_fields(editor):
    body = good_rule(pending_evaluations=3, recovery_threshold=0.75,
                     repeat_interval_minutes=30, window_minutes=1440)
    response = editor.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    rule = AlertRule.objects.get()
    assert (rule.pending_evaluations, rule.recovery_threshold, rule.repeat_interval_minutes,
            rule.window_minutes) == (3, 0.75, 30, 1440)


@pytest.mark.parametrize("overrides, field", [
    ({"comparison": "<", "threshold": 0.7, "recovery_threshold": 0.6}, "recovery_threshold"),
    ({"comparison": ">", "threshold": 0.2, "recovery_threshold": 0.3}, "recovery_threshold"),
    ({"comparison": "==", "threshold": 1, "recovery_threshold": 1}, "recovery_threshold"),
    ({"pending_evaluations": 0}, "pending_evaluations"),
    ({"repeat_interval_minutes": 0}, "repeat_interval_minutes"),
    ({"window_minutes": 0}, "window_minutes"),
    ({"window_minutes": 10**12}, "window_minutes"),
])
def test_invalid_new_fields_are_400_naming_the_field(editor, overrides, field):
    response = editor.post(URL, good_rule(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not AlertRule.objects.exists()


def test_recovery_threshold_equal_to_the_threshold_is_allowed(editor):
    response = editor.post(URL, good_rule(threshold=0.7, recovery_threshold=0.7), format="json")
    assert response.status_code == 201


def test_rule_detail_lists_its_states(editor, make_rule):
    rule = make_rule(rule_id="low-accuracy", threshold=0.7, pending_evaluations=2)
    now = timezone.now()
    evaluate(rule, 0.5, "v1", now=now)
    evaluate(rule, 0.9, "v2", now=now)
    states = editor.get(f"{URL}low-accuracy/").json()["states"]
    assert [(s["model_version"], s["state"], s["consecutive"]) for s in states] == [
        ("v1", "pending", 1), ("v2", "ok", 0)]


def test_rule_statistics(editor, make_rule):
    rule = make_rule(rule_id="noisy", threshold=0.7, cooldown_minutes=0)
    now = timezone.now()
    for days_ago, ack_after, resolve_after in [(40, 1, 2), (10, 60, 120), (2, 30, None),
                                                (1, None, 600)]:
        start = now - timedelta(days=days_ago)
        fired = evaluate(rule, 0.5, "v1", now=start).alert
        if ack_after is not None:
            acknowledge_alert(fired.alert_id, by="ann", now=start + timedelta(seconds=ack_after))
        resolve_after = resolve_after or 5
        resolve_alert(fired.alert_id, by="ann", now=start + timedelta(seconds=resolve_after))
    body = editor.get(f"{URL}noisy/statistics/").json()
    assert body["incidents_30d"] == 3
    assert body["incidents_7d"] == 2
    assert body["acknowledged_pct"] == pytest.approx(66.67)
    assert body["median_time_to_ack_s"] == 45.0
    assert body["median_time_to_resolve_s"] == 120.0
    assert body["silenced_30d"] == 0
    assert body["notifications_30d"] == 0


def test_statistics_of_a_quiet_rule(editor, make_rule):
    make_rule(rule_id="quiet")
    body = editor.get(f"{URL}quiet/statistics/").json()
    assert body["incidents_30d"] == 0
    assert body["acknowledged_pct"] is None and body["median_time_to_ack_s"] is None


@pytest.mark.parametrize("overrides, field", [
    ({"recovery_threshold": 0.5}, "recovery_threshold"),
    ({"metric_name": "nonsense"}, "metric_name"),
    ({"days": 0}, "days"),
    ({"days": 91}, "days"),
    ({"days": "many"}, "days"),
])
def test_preview_of_an_invalid_rule_is_400_naming_the_field(editor, overrides, field):
    response = editor.post(f"{URL}preview/", good_rule(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not AlertRule.objects.exists()


def test_preview_needs_a_signed_in_user(anonymous_client):
    assert anonymous_client.post(f"{URL}preview/", good_rule(), format="json").status_code == 401
