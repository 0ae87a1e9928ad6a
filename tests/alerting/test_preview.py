"""POST alert-rules/preview/ equals the engine: the history replayed through the monitor
with a controlled clock — each hour's predictions written, then a pass at the hour
boundary, as a live site would see them — opens and ends the same incidents as the
preview of the stored history says."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerting.models import Alert, AlertRule
from alerting.monitor import run_monitor_pass
from predictions.models import Prediction
from tests.alerting.test_alert_rules_api import RULE_PERMS, URL

pytestmark = pytest.mark.django_db

# Right answers out of 10 per hour, oldest first (the last 20 hours): bad stretches,
# flapping, a stretch between the two thresholds, recoveries.
RIGHT_PER_HOUR = [9, 9, 5, 5, 5, 9, 9, 5, 9, 5, 9, 5, 5, 5, 7, 7, 9, 9, 5, 5]


def write_hour(end, hours_back, version="v1"):
    """The predictions of the hour [end − hours_back h, + 1 h) of the history."""
    index = len(RIGHT_PER_HOUR) - hours_back
    if not 0 <= index < len(RIGHT_PER_HOUR):
        return
    hour_start = end - timedelta(hours=hours_back)
    for i in range(10):
        # One by one: each write keeps the hourly aggregates the series reads.
        Prediction.objects.create(
            prediction_id=f"{version}-{index}-{i}", model_version=version,
            timestamp=hour_start + timedelta(minutes=5 * i + 1), predicted_outcome=1,
            confidence=0.8, actual_outcome=1 if i < RIGHT_PER_HOUR[index] else 0,
        )


RULE = {
    "rule_id": "replayed", "metric_name": "accuracy", "comparison": "<", "threshold": 0.6,
    "recovery_threshold": 0.8, "pending_evaluations": 2, "cooldown_minutes": 120,
    "window_minutes": 120, "severity": "warning", "channels": [], "conditions": {},
}


def as_spans(incidents):
    return [(parse_datetime(i["start"]), i["end"] and parse_datetime(i["end"]))
            for i in incidents]


@pytest.mark.parametrize("overrides", [
    {}, {"pending_evaluations": 1, "recovery_threshold": None, "cooldown_minutes": 0},
    {"window_minutes": 60, "cooldown_minutes": 180},
], ids=["pending+recovery+cooldown", "plain", "one-hour window, long cooldown"])
def test_preview_yields_the_incidents_the_engine_opens(api_client_for, overrides):
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    body = {**RULE, **overrides}
    rule = AlertRule.objects.create(**body)
    for hours_back in range(23, -1, -1):  # the engine, a pass at each hour boundary
        write_hour(end, hours_back + 1)
        run_monitor_pass(window_minutes=60, now=end - timedelta(hours=hours_back))
    engine = [(a.timestamp, a.resolved_at) for a in Alert.objects.filter(rule=rule)
              .order_by("timestamp")]
    assert engine, "the history should open at least one incident"
    rule.delete()

    client = api_client_for(perms=RULE_PERMS)
    answer = client.post(f"{URL}preview/", {**body, "days": 1}, format="json")
    assert answer.status_code == 200, answer.json()
    if timezone.now().replace(minute=0, second=0, microsecond=0) != end:
        pytest.skip("the hour turned during the test")
    assert not AlertRule.objects.exists()  # a preview stores nothing
    (preview,) = answer.json()
    assert preview["model_version"] == "v1"
    assert len(preview["series"]) == 24
    assert as_spans(preview["incidents"]) == engine
    peaks = [i["peak_value"] for i in preview["incidents"]]
    assert all(p is not None and p < body["threshold"] for p in peaks)


def test_preview_of_a_rule_for_one_version_without_history(api_client_for):
    client = api_client_for(perms=RULE_PERMS)
    answer = client.post(f"{URL}preview/", {**RULE, "model_version": "v7", "days": 2},
                         format="json")
    assert answer.status_code == 200
    (preview,) = answer.json()
    assert preview["incidents"] == []
    assert len(preview["series"]) == 48
    assert {point["value"] for point in preview["series"]} == {None}


def test_a_preview_without_a_version_replays_the_busiest_versions_up_to_the_cap(
    api_client_for, settings
):
    settings.MONITORING_PREVIEW_MAX_VERSIONS = 2
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    for version, hours in (("quiet", 1), ("busy", 3), ("busier", 5)):
        for hours_back in range(1, hours + 1):
            write_hour(end, hours_back, version)
    client = api_client_for(perms=RULE_PERMS)
    answer = client.post(f"{URL}preview/", {**RULE, "days": 1}, format="json")
    assert answer.status_code == 200, answer.content
    assert [p["model_version"] for p in answer.json()] == ["busier", "busy"]
    settings.MONITORING_PREVIEW_MAX_VERSIONS = 25
    answer = client.post(f"{URL}preview/", {**RULE, "days": 1}, format="json")
    assert [p["model_version"] for p in answer.json()] == ["busier", "busy", "quiet"]
