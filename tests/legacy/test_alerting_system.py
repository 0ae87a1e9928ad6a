"""alerting.system: the legacy AlertingSystem on the database (persisted cooldown, atomic
acknowledgment, in-process callbacks)."""
import logging
import warnings

import pytest

from alerting.models import Alert as AlertRow
from alerting.models import AlertRule as AlertRuleRow
from alerting.models import RuleCooldown
from alerting.system import Alert, AlertChannel, AlertingSystem, AlertRule, AlertSeverity
from tests.races import race

pytestmark = pytest.mark.django_db


def low_accuracy(**overrides):
    values = {
        "rule_id": "low_accuracy", "metric_name": "accuracy", "metric_type": "threshold",
        "threshold": 0.7, "comparison": "<", "severity": "warning", "component": "performance",
    }
    values.update(overrides)
    return AlertRule(**values)


def make_alert(system, severity="warning", component="performance", version="v1"):
    return system.create_alert(severity, "PERFORMANCE: accuracy Alert",
                               "accuracy is 0.6500 (< 0.7000)", "accuracy", 0.65, 0.7,
                               component, version)


def test_data_dir_is_ignored_with_a_deprecation_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match="ignored"):
        AlertingSystem(data_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AlertingSystem(channel_config={"file": {"path": str(tmp_path / "log.txt")}})


def test_enums_and_dataclasses_keep_the_legacy_shape():
    assert [s.value for s in AlertSeverity] == ["info", "warning", "critical"]
    assert {c.value for c in AlertChannel} == {"console", "email", "slack", "file", "webhook"}
    rule = low_accuracy()
    assert (rule.enabled, rule.cooldown_minutes, rule.channels, rule.conditions) == (
        True, 60, ["console"], {})
    assert rule.to_dict()["rule_id"] == "low_accuracy"


def test_create_alert_stores_and_returns_the_legacy_alert():
    system = AlertingSystem()
    alert = make_alert(system, severity=AlertSeverity.CRITICAL)
    assert isinstance(alert, Alert)
    assert alert.severity == "critical" and alert.acknowledged is False
    assert alert.acknowledged_at is None and alert.acknowledged_by is None
    assert isinstance(alert.timestamp, float)
    stored = AlertRow.objects.get(alert_id=alert.alert_id)
    assert stored.title == "PERFORMANCE: accuracy Alert" and stored.model_version == "v1"
    assert alert.to_dict()["metric_value"] == 0.65


def test_evaluate_rule_fires_with_the_legacy_text_and_stores_the_rule():
    alert = AlertingSystem().evaluate_rule(low_accuracy(), 0.65, "v1")
    assert alert.title == "PERFORMANCE: accuracy Alert"
    assert alert.message == "accuracy is 0.6500 (< 0.7000)"
    assert (alert.metric_value, alert.threshold, alert.model_version) == (0.65, 0.7, "v1")
    row = AlertRuleRow.objects.get(rule_id="low_accuracy")
    assert AlertRow.objects.get(alert_id=alert.alert_id).rule == row
    assert row.last_triggered is not None


def test_evaluate_rule_does_not_fire_when_the_condition_does_not_hold():
    system = AlertingSystem()
    assert system.evaluate_rule(low_accuracy(), 0.75, "v1") is None
    assert system.evaluate_rule(low_accuracy(enabled=False, rule_id="off"), 0.1, "v1") is None
    bounded = low_accuracy(rule_id="bounded", conditions={"min_value": 0.3})
    assert system.evaluate_rule(bounded, 0.2, "v1") is None
    assert system.evaluate_rule(bounded, 0.5, "v1") is not None
    assert AlertRow.objects.count() == 1


def test_cooldown_survives_a_new_alerting_system():
    assert AlertingSystem().evaluate_rule(low_accuracy(), 0.6, "v1") is not None
    # A restart (a new instance, another process): the cooldown is in the database.
    restarted = AlertingSystem()
    assert restarted.evaluate_rule(low_accuracy(), 0.5, "v1") is None
    assert restarted.evaluate_rule("low_accuracy", 0.5, "v1") is None
    # Per model version: another version has its own cooldown.
    assert restarted.evaluate_rule(low_accuracy(), 0.5, "v2") is not None
    assert RuleCooldown.objects.filter(rule__rule_id="low_accuracy").count() == 2
    assert AlertRow.objects.count() == 2


def test_evaluate_rule_returns_the_alert_only_when_a_notification_goes_out():
    # SPEC §10: a new incident notifies; the same incident seen again does not (no
    # reminder interval), and returns None while it stays one alert.
    system = AlertingSystem()
    rule = low_accuracy(cooldown_minutes=0)
    first = system.evaluate_rule(rule, 0.6, "v1")
    assert first is not None
    assert system.evaluate_rule(rule, 0.6, "v1") is None
    assert [a.alert_id for a in system.get_alerts()] == [first.alert_id]


def test_add_rule_stores_and_updates_a_rule_row():
    system = AlertingSystem()
    system.add_rule(low_accuracy(channels=[AlertChannel.CONSOLE, "file"]))
    row = AlertRuleRow.objects.get(rule_id="low_accuracy")
    assert (row.threshold, row.channels, row.enabled) == (0.7, ["console", "file"], True)
    system.add_rule(low_accuracy(threshold=0.6, severity=AlertSeverity.CRITICAL))
    row.refresh_from_db()
    assert (row.threshold, row.severity) == (0.6, "critical")
    assert AlertRuleRow.objects.count() == 1


def test_add_rule_refuses_an_invalid_rule():
    with pytest.raises(ValueError, match="comparison"):
        AlertingSystem().add_rule(low_accuracy(comparison="~"))
    assert not AlertRuleRow.objects.exists()


def test_get_alerts_newest_first_with_a_severity_filter():
    system = AlertingSystem()
    first = make_alert(system, severity="warning")
    second = make_alert(system, severity="critical")
    third = make_alert(system, severity="warning")
    assert [a.alert_id for a in system.get_alerts()] == [
        third.alert_id, second.alert_id, first.alert_id]
    assert [a.alert_id for a in system.get_alerts(limit=1)] == [third.alert_id]
    assert [a.alert_id for a in system.get_alerts(severity=AlertSeverity.WARNING)] == [
        third.alert_id, first.alert_id]
    assert [a.alert_id for a in system.get_alerts(severity="critical")] == [second.alert_id]


def test_acknowledge_alert_keeps_the_first_acknowledger():
    system = AlertingSystem()
    alert = make_alert(system)
    assert system.acknowledge_alert(alert.alert_id, acknowledged_by="ana") is True
    assert system.acknowledge_alert(alert.alert_id, acknowledged_by="bob") is True
    acknowledged = system.get_alerts()[0]
    assert acknowledged.acknowledged is True
    assert acknowledged.acknowledged_by == "ana"
    assert isinstance(acknowledged.acknowledged_at, float)
    assert AlertRow.objects.get().status == "acknowledged"


def test_acknowledge_unknown_alert_is_false():
    assert AlertingSystem().acknowledge_alert("alert_nope") is False


def test_alert_statistics_shape():
    system = AlertingSystem()
    make_alert(system, severity="critical", component="performance")
    make_alert(system, severity="warning", component="drift")
    acked = make_alert(system, severity="warning", component="drift")
    system.acknowledge_alert(acked.alert_id, "ana")
    assert system.get_alert_statistics() == {
        "total_alerts": 3,
        "unacknowledged": 2,
        "by_severity": {"critical": 1, "warning": 2, "info": 0},
        "by_component": {"drift": 2, "performance": 1},
    }


def test_every_callback_runs_and_a_raising_one_does_not_stop_the_others(caplog):
    system = AlertingSystem()
    seen = []

    def broken(alert):
        raise RuntimeError("callback bug")

    system.register_callback("console", lambda alert: seen.append(("first", alert.alert_id)))
    system.register_callback(AlertChannel.SLACK, broken)
    system.register_callback("email", lambda alert: seen.append(("last", alert.alert_id)))

    with caplog.at_level(logging.ERROR, logger="alerting.system"):
        created = make_alert(system)
        fired = system.evaluate_rule(low_accuracy(), 0.5, "v1")
        assert system.evaluate_rule(low_accuracy(), 0.5, "v1") is None  # cooldown: no alert

    assert seen == [("first", created.alert_id), ("last", created.alert_id),
                    ("first", fired.alert_id), ("last", fired.alert_id)]
    assert "callback bug" in caplog.text or "RuntimeError" in caplog.text
    # Callbacks belong to their instance (in-process, as in the legacy library).
    make_alert(AlertingSystem())
    assert len(seen) == 4


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledgments_leave_exactly_one_acknowledger():
    alert = make_alert(AlertingSystem())
    names = [f"user{i}" for i in range(6)]
    answers = dict(zip(names, race(
        lambda name: AlertingSystem().acknowledge_alert(alert.alert_id, name), names
    ), strict=True))

    assert all(answers[name] is True for name in names)
    stored = AlertRow.objects.get(alert_id=alert.alert_id)
    assert stored.acknowledged and stored.acknowledged_by in names
    first_at = stored.acknowledged_at
    AlertingSystem().acknowledge_alert(alert.alert_id, "late")
    stored.refresh_from_db()
    assert stored.acknowledged_at == first_at and stored.acknowledged_by != "late"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_racing_evaluations_in_separate_instances_fire_once():
    AlertingSystem().add_rule(low_accuracy())
    alerts = race(lambda i: AlertingSystem().evaluate_rule("low_accuracy", 0.5, "v1"), range(4))
    fired = [alert.alert_id for alert in alerts if alert is not None]
    assert len(fired) == 1
    assert AlertRow.objects.count() == 1
