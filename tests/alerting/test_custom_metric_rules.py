"""Rules on metrics services push (SPEC §9): custom:<name> with conditions.aggregate."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.models import Alert
from alerting.monitor import run_monitor_pass
from predictions.custom_metrics import record_custom_metrics
from tests.alerting.test_alert_rules_api import RULE_PERMS, URL, good_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(api_client_for):
    return api_client_for(perms=RULE_PERMS)


def test_a_rule_on_the_max_of_a_pushed_metric_fires_once(editor, make_prediction):
    response = editor.post(URL, good_rule(
        rule_id="slow-api", metric_name="custom:api_latency", comparison=">", threshold=100.0,
        component="performance", channels=["console"], cooldown_minutes=0,
        conditions={"aggregate": "max"}), format="json")
    assert response.status_code == 201, response.json()
    now = timezone.now()
    make_prediction(model_version="v1", timestamp=now - timedelta(minutes=5))
    # The average (≈ 40) stays under 100; the maximum does not.
    record_custom_metrics([
        {"metric_name": "api_latency", "model_version": "v1", "value": value,
         "timestamp": (now - timedelta(minutes=m)).isoformat()}
        for m, value in ((10, 20.0), (8, 250.0), (6, 15.0), (4, 25.0), (2, 30.0))
    ])
    first = run_monitor_pass(window_minutes=60, now=now)
    assert [a.metric_value for a in first.alerts_fired] == [250.0]
    second = run_monitor_pass(window_minutes=60, now=now + timedelta(minutes=1))
    assert second.alerts_fired == []
    (incident,) = Alert.objects.filter(rule__rule_id="slow-api")
    assert incident.occurrences == 2 and incident.resolved_at is None


def test_the_average_is_the_default_aggregate(editor, make_prediction):
    editor.post(URL, good_rule(rule_id="avg-api", metric_name="custom:api_latency",
                               comparison=">", threshold=100.0, conditions={}), format="json")
    now = timezone.now()
    make_prediction(model_version="v1", timestamp=now - timedelta(minutes=5))
    record_custom_metrics([{"metric_name": "api_latency", "model_version": "v1", "value": 250.0,
                            "timestamp": (now - timedelta(minutes=3)).isoformat()},
                           {"metric_name": "api_latency", "model_version": "v1", "value": 10.0,
                            "timestamp": (now - timedelta(minutes=2)).isoformat()}])
    assert run_monitor_pass(window_minutes=60, now=now).alerts_fired[0].metric_value == 130.0


@pytest.mark.parametrize("fields,named", [
    ({"metric_name": "custom:has space"}, "metric_name"),
    ({"metric_name": "acuracy"}, "metric_name"),
    ({"metric_name": "accuracy", "conditions": {"aggregate": "max"}}, "conditions"),
    ({"metric_name": "custom:q", "conditions": {"aggregate": "median"}}, "conditions"),
])
def test_a_bad_custom_rule_is_a_400_naming_the_field(editor, fields, named):
    response = editor.post(URL, good_rule(**fields), format="json")
    assert response.status_code == 400
    assert named in response.json()
