"""SPEC §10 through the monitor pass with a controlled clock: pending, recovery, cooldown
against flapping, one incident per rule and version, reminders, no data as a signal."""
from datetime import UTC, datetime, timedelta

import pytest

from alerting.choices import AlertStatus, DeliveryKind, RuleStateName
from alerting.lifecycle import acknowledge_alert, resolve_alert
from alerting.models import Alert, Delivery, RuleState
from alerting.monitor import run_monitor_pass
from predictions.choices import Stage
from predictions.models import ModelVersion

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# accuracy of one hour's window: (correct, wrong)
BAD, GOOD, BETWEEN = (1, 3), (4, 0), (41, 9)  # 0.25, 1.0, 0.82


@pytest.fixture
def monitor_at(labelled_predictions):
    """monitor_at(hour, (correct, wrong)) → the pass at T0 + hour over that hour's labels."""

    def run(hour, labels=None, version="v1"):
        now = T0 + timedelta(hours=hour)
        if labels is not None:
            labelled_predictions(version, *labels, minutes_ago=30, now=now)
        return run_monitor_pass(window_minutes=60, now=now)

    return run


def fired_hours(results):
    return [hour for hour, result in enumerate(results) if result.alerts_fired]


def test_pending_three_fires_on_the_third_bad_evaluation_and_not_before(make_rule, monitor_at):
    make_rule(threshold=0.7, pending_evaluations=3)
    results = [monitor_at(hour, BAD) for hour in range(4)]
    assert fired_hours(results) == [2]
    state = RuleState.objects.get()
    assert state.state == RuleStateName.FIRING
    assert state.consecutive == 4
    assert Alert.objects.get().occurrences == 2  # fired at the third, seen again at the fourth


def test_pending_shows_in_the_rule_state_before_firing(make_rule, monitor_at):
    make_rule(threshold=0.7, pending_evaluations=3)
    monitor_at(0, BAD)
    monitor_at(1, BAD)
    state = RuleState.objects.get()
    assert (state.state, state.consecutive, state.since) == (RuleStateName.PENDING, 2, T0)
    assert state.last_evaluated_at == T0 + timedelta(hours=1)
    assert not Alert.objects.exists()


def test_a_good_value_in_between_resets_pending(make_rule, monitor_at):
    make_rule(threshold=0.7, pending_evaluations=3)
    results = [monitor_at(h, labels) for h, labels in
               enumerate([BAD, BAD, GOOD, BAD, BAD, BAD])]
    assert fired_hours(results) == [5]


def test_recovery_threshold_keeps_the_alert_open_between_the_thresholds(make_rule, monitor_at):
    make_rule(threshold=0.8, recovery_threshold=0.85, channels=["console"])
    monitor_at(0, BAD)
    alert = Alert.objects.get()
    for hour in (1, 2):
        result = monitor_at(hour, BETWEEN)  # 0.82: not < 0.80, not yet >= 0.85
        assert result.alerts_resolved == []
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.occurrences == 1  # the condition did not hold: not an occurrence
    result = monitor_at(3, GOOD)
    assert [a.pk for a in result.alerts_resolved] == [alert.pk]
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_at == T0 + timedelta(hours=3)
    assert Delivery.objects.filter(alert=alert, kind=DeliveryKind.RECOVERY).count() == 1


def test_without_recovery_threshold_it_resolves_when_the_condition_stops(make_rule, monitor_at):
    make_rule(threshold=0.8)
    monitor_at(0, BAD)
    assert monitor_at(1, BETWEEN).alerts_resolved


def test_a_flapping_value_with_cooldown_gives_one_incident(make_rule, monitor_at):
    make_rule(threshold=0.7, cooldown_minutes=6 * 60)
    for hour, labels in enumerate([BAD, GOOD] * 3):
        monitor_at(hour, labels)
    assert Alert.objects.count() == 1
    # Past the cooldown since the resolution (hour 1), the next bad value is a new incident.
    monitor_at(7, BAD)
    assert Alert.objects.count() == 2


def test_one_unresolved_incident_is_updated_not_repeated(make_rule, monitor_at):
    make_rule(threshold=0.7, cooldown_minutes=0)
    for hour in range(5):
        monitor_at(hour, BAD)
    alert = Alert.objects.get()
    assert alert.occurrences == 5
    assert alert.last_value == 0.25
    assert alert.last_seen_at == T0 + timedelta(hours=4)
    assert alert.summary == "[v1] accuracy 0.2500 < 0.7000 over 1 h (4 labelled)"


def test_a_person_resolving_ends_the_incident_and_cooldown_counts_from_then(
    make_rule, monitor_at
):
    make_rule(threshold=0.7, cooldown_minutes=90)
    monitor_at(0, BAD)
    first = Alert.objects.get()
    resolve_alert(first.alert_id, by="ann", now=T0 + timedelta(minutes=30))
    monitor_at(1, BAD)  # 30 min after the resolution: inside the cooldown
    assert Alert.objects.count() == 1
    monitor_at(2, BAD)  # 90 min after: a new incident
    assert Alert.objects.count() == 2
    assert Alert.objects.unresolved().get().pk != first.pk


def test_reminders_every_interval_until_acknowledged(make_rule, monitor_at):
    make_rule(threshold=0.7, repeat_interval_minutes=120, channels=["console"])
    for hour in range(5):  # fired at 0; reminders due at 2 and 4
        monitor_at(hour, BAD)
    alert = Alert.objects.get()
    reminders = Delivery.objects.filter(alert=alert, kind=DeliveryKind.REMINDER)
    assert sorted(reminders.values_list("reminder_number", flat=True)) == [1, 2]
    assert alert.reminders_sent == 2
    assert alert.last_reminded_at == T0 + timedelta(hours=4)

    acknowledge_alert(alert.alert_id, by="ann", now=T0 + timedelta(hours=4, minutes=30))
    for hour in range(5, 10):
        monitor_at(hour, BAD)
    alert.refresh_from_db()
    assert alert.reminders_sent == 2
    assert reminders.count() == 2
    assert alert.occurrences == 10


def test_no_reminders_without_an_interval(make_rule, monitor_at):
    make_rule(threshold=0.7, channels=["console"])
    for hour in range(4):
        monitor_at(hour, BAD)
    assert not Delivery.objects.filter(kind=DeliveryKind.REMINDER).exists()


def test_rule_window_minutes_evaluates_on_its_own_window(make_rule, monitor_at):
    # Labels of the last 3 h: one bad hour among good ones is not enough for the rule.
    make_rule(threshold=0.7, window_minutes=180)
    monitor_at(0, GOOD)
    monitor_at(1, GOOD)
    result = monitor_at(2, BAD)  # over 3 h: 9 of 12 right = 0.75
    assert result.alerts_fired == []
    result = monitor_at(3, BAD)  # over 3 h: 5 of 12 = 0.4167
    assert len(result.alerts_fired) == 1
    assert result.alerts_fired[0].summary.endswith("over 3 h (12 labelled)")


def test_a_production_version_without_predictions_fires_once_and_resolves_with_data(
    make_rule, monitor_at
):
    ModelVersion.objects.create(version="v9", model_name="churn", stage=Stage.PRODUCTION)
    ModelVersion.objects.create(version="v8", model_name="churn", stage=Stage.ARCHIVED)
    make_rule(metric_name="num_predictions", comparison="<", threshold=1, channels=["console"])

    first = monitor_at(0)
    assert [s.model_version for s in first.snapshots] == ["v9"]
    assert first.snapshots[0].num_predictions == 0
    assert first.snapshots[0].accuracy is None
    assert [a.model_version for a in first.alerts_fired] == ["v9"]
    assert first.alerts_fired[0].summary.startswith("[v9] num_predictions 0.0000 < 1.0000")

    second = monitor_at(1)
    assert second.alerts_fired == []
    assert Alert.objects.get().occurrences == 2

    third = monitor_at(2, GOOD, version="v9")
    assert [a.model_version for a in third.alerts_resolved] == ["v9"]
    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Delivery.objects.filter(kind=DeliveryKind.RECOVERY).count() == 1


def test_the_monitor_pass_leaves_a_heartbeat(db):
    from alerting.models import MonitorHeartbeat

    run_monitor_pass(now=T0)
    run_monitor_pass(now=T0 + timedelta(minutes=1))
    beat = MonitorHeartbeat.objects.get()
    assert (beat.last_pass_at, beat.passes) == (T0 + timedelta(minutes=1), 2)
