"""Rule evaluation (SPEC §5): comparisons, conditions, cooldown per (rule, version), text."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.choices import AlertStatus, DeliveryKind, DeliveryStatus
from alerting.models import Alert, AlertRule, Delivery, RuleCooldown
from alerting.rules import create_alert, evaluate_rule

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.mark.parametrize(
    ("comparison", "value", "fires"),
    [
        ("<", 0.69, True), ("<", 0.7, False), ("<", 0.71, False),
        ("<=", 0.69, True), ("<=", 0.7, True), ("<=", 0.71, False),
        (">", 0.71, True), (">", 0.7, False), (">", 0.69, False),
        (">=", 0.71, True), (">=", 0.7, True), (">=", 0.69, False),
        ("==", 0.7, True), ("==", 0.69, False),
        ("!=", 0.69, True), ("!=", 0.7, False),
    ],
)
def test_each_comparison(make_rule, comparison, value, fires):
    rule = make_rule(comparison=comparison, threshold=0.7)
    alert = evaluate_rule(rule, value, "v1", now=NOW)
    assert (alert is not None) is fires
    assert Alert.objects.count() == (1 if fires else 0)


@pytest.mark.parametrize(
    ("conditions", "value", "fires"),
    [
        ({"min_value": 0.5}, 0.6, True),
        ({"min_value": 0.5}, 0.5, True),
        ({"min_value": 0.5}, 0.4, False),
        ({"max_value": 0.65}, 0.6, True),
        ({"max_value": 0.65}, 0.65, True),
        ({"max_value": 0.65}, 0.66, False),
        ({"min_value": 0.2, "max_value": 0.3}, 0.25, True),
        ({"min_value": 0.2, "max_value": 0.3}, 0.6, False),
    ],
)
def test_min_and_max_value_conditions(make_rule, conditions, value, fires):
    rule = make_rule(conditions=conditions)
    assert (evaluate_rule(rule, value, "v1", now=NOW) is not None) is fires


@pytest.mark.parametrize(("labelled", "fires"), [(29, False), (30, True), (500, True)])
def test_min_samples_needs_enough_labelled_predictions(make_rule, labelled, fires):
    rule = make_rule(conditions={"min_samples": 30})
    alert = evaluate_rule(rule, 0.1, "v1", now=NOW, num_with_outcome=labelled)
    assert (alert is not None) is fires


def test_min_samples_not_checked_for_a_value_pushed_without_counts(make_rule):
    rule = make_rule(conditions={"min_samples": 30})
    assert evaluate_rule(rule, 0.1, "v1", now=NOW) is not None


def test_alert_has_the_legacy_title_and_message(make_rule):
    rule = make_rule(component="performance", severity="critical", threshold=0.7)
    alert = evaluate_rule(rule, 0.65, "v1.2", now=NOW)
    assert alert.title == "PERFORMANCE: accuracy Alert"
    assert alert.message == "accuracy is 0.6500 (< 0.7000)"
    assert alert.severity == "critical"
    assert alert.metric_name == "accuracy"
    assert alert.metric_value == 0.65
    assert alert.threshold == 0.7
    assert alert.component == "performance"
    assert alert.model_version == "v1.2"
    assert alert.rule == rule
    assert alert.status == AlertStatus.OPEN
    assert alert.alert_id.startswith("alert_")
    assert alert.timestamp == NOW


def test_rule_fires_once_then_stays_quiet_inside_its_cooldown(make_rule):
    rule = make_rule(cooldown_minutes=60)
    assert evaluate_rule(rule, 0.5, "v1", now=NOW) is not None
    assert evaluate_rule(rule, 0.4, "v1", now=NOW + timedelta(minutes=1)) is None
    assert evaluate_rule(rule, 0.3, "v1", now=NOW + timedelta(minutes=59)) is None
    assert Alert.objects.count() == 1


def test_a_condition_that_keeps_holding_is_one_incident_past_the_cooldown(make_rule):
    # SPEC §10: the cooldown counts from a resolution; an open incident is updated.
    rule = make_rule(cooldown_minutes=60)
    evaluate_rule(rule, 0.5, "v1", now=NOW)
    assert evaluate_rule(rule, 0.4, "v1", now=NOW + timedelta(minutes=61)) is None
    alert = Alert.objects.get()
    assert alert.occurrences == 2
    assert alert.last_value == 0.4
    assert alert.last_seen_at == NOW + timedelta(minutes=61)


def test_cooldown_is_kept_in_the_database_not_on_the_rule_object(make_rule):
    rule = make_rule(cooldown_minutes=60)
    evaluate_rule(rule, 0.5, "v1", now=NOW)
    fresh_copy = AlertRule.objects.get(pk=rule.pk)  # as another process would load it
    assert evaluate_rule(fresh_copy, 0.5, "v1", now=NOW + timedelta(minutes=5)) is None
    cooldown = RuleCooldown.objects.get(rule=rule, model_version="v1")
    assert cooldown.last_fired_at == NOW


def test_zero_cooldown_opens_a_new_incident_right_after_a_resolution(make_rule):
    rule = make_rule(cooldown_minutes=0)
    first = evaluate_rule(rule, 0.5, "v1", now=NOW)
    evaluate_rule(rule, 0.9, "v1", now=NOW + timedelta(seconds=1))
    second = evaluate_rule(rule, 0.5, "v1", now=NOW + timedelta(seconds=2))
    assert second is not None and second.pk != first.pk


def test_two_versions_each_get_their_own_alert(make_rule):
    rule = make_rule(cooldown_minutes=60)
    first = evaluate_rule(rule, 0.5, "v1", now=NOW)
    second = evaluate_rule(rule, 0.5, "v2", now=NOW)
    assert first is not None and second is not None
    assert sorted(Alert.objects.values_list("model_version", flat=True)) == ["v1", "v2"]
    assert RuleCooldown.objects.filter(rule=rule).count() == 2


def test_rule_scoped_to_a_version_ignores_the_others(make_rule):
    rule = make_rule(model_version="v2")
    assert evaluate_rule(rule, 0.5, "v1", now=NOW) is None
    assert evaluate_rule(rule, 0.5, "v2", now=NOW) is not None


def test_disabled_rule_never_fires(make_rule):
    rule = make_rule(enabled=False, cooldown_minutes=0)
    for minutes in range(3):
        assert evaluate_rule(rule, 0.0, "v1", now=NOW + timedelta(minutes=minutes)) is None
    assert not Alert.objects.exists()
    assert not RuleCooldown.objects.exists()


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), "0.5"])
def test_null_metric_never_fires(make_rule, value):
    rule = make_rule(comparison="!=", threshold=0.7)
    assert evaluate_rule(rule, value, "v1", now=NOW) is None
    assert not Alert.objects.exists()


def test_null_metric_does_not_resolve_an_open_alert(make_rule):
    rule = make_rule()
    alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
    evaluate_rule(rule, None, "v1", now=NOW + timedelta(minutes=5))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_last_triggered_shows_the_newest_firing(make_rule):
    rule = make_rule(cooldown_minutes=0)
    evaluate_rule(rule, 0.5, "v1", now=NOW)
    evaluate_rule(rule, 0.5, "v2", now=NOW + timedelta(minutes=3))
    rule.refresh_from_db()
    assert rule.last_triggered == NOW + timedelta(minutes=3)


def test_auto_resolve_when_the_condition_stops_holding_then_fire_again(make_rule):
    rule = make_rule(cooldown_minutes=10, channels=["console", "file"])
    alert = evaluate_rule(rule, 0.5, "v1", now=NOW)

    assert evaluate_rule(rule, 0.9, "v1", now=NOW + timedelta(minutes=5)) is None
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == "system"
    assert alert.resolved_at == NOW + timedelta(minutes=5)
    recovery = Delivery.objects.filter(alert=alert, kind=DeliveryKind.RECOVERY)
    assert sorted(recovery.values_list("channel", flat=True)) == ["console", "file"]

    # Inside the cooldown the condition returning does not page anyone yet …
    assert evaluate_rule(rule, 0.5, "v1", now=NOW + timedelta(minutes=6)) is None
    # … once the cooldown has passed since the resolution (at +5 min), a new alert opens.
    assert evaluate_rule(rule, 0.5, "v1", now=NOW + timedelta(minutes=14)) is None
    again = evaluate_rule(rule, 0.5, "v1", now=NOW + timedelta(minutes=15))
    assert again is not None and again.pk != alert.pk
    assert again.status == AlertStatus.OPEN


def test_auto_resolve_touches_only_that_rule_and_version(make_rule):
    rule = make_rule(cooldown_minutes=0)
    other_rule = make_rule(cooldown_minutes=0)
    v1_alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
    v2_alert = evaluate_rule(rule, 0.5, "v2", now=NOW)
    other_alert = evaluate_rule(other_rule, 0.5, "v1", now=NOW)
    evaluate_rule(rule, 0.9, "v1", now=NOW + timedelta(minutes=1))
    statuses = {a.pk: a.status for a in Alert.objects.all()}
    assert statuses == {
        v1_alert.pk: AlertStatus.RESOLVED,
        v2_alert.pk: AlertStatus.OPEN,
        other_alert.pk: AlertStatus.OPEN,
    }


def test_acknowledged_alert_also_resolves_itself(make_rule):
    from alerting.lifecycle import acknowledge_alert

    rule = make_rule()
    alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
    acknowledge_alert(alert.alert_id, by="ann")
    evaluate_rule(rule, 0.9, "v1", now=NOW + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.acknowledged_by == "ann"


def test_firing_queues_one_pending_delivery_per_channel(make_rule):
    rule = make_rule(channels=["console", "file", "email"])
    alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
    deliveries = Delivery.objects.filter(alert=alert)
    assert sorted(deliveries.values_list("channel", flat=True)) == ["console", "email", "file"]
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_delivery_happens_only_after_commit(make_rule, tmp_path, settings,
                                            django_capture_on_commit_callbacks):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    rule = make_rule(channels=["file"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
        assert not (tmp_path / "alert_log.txt").exists()
    assert len(callbacks) == 1
    callbacks[0]()
    assert Delivery.objects.get(alert=alert).status == DeliveryStatus.SENT
    assert "PERFORMANCE: accuracy Alert" in (tmp_path / "alert_log.txt").read_text()


def test_create_alert_stores_it_with_its_deliveries(db):
    alert = create_alert(
        "critical", "DRIFT: psi Alert", "psi is 0.3000 (> 0.2000)", "psi", 0.3, 0.2,
        "drift", "v3", channels=["console"],
    )
    assert Alert.objects.get(pk=alert.pk).title == "DRIFT: psi Alert"
    assert alert.rule is None
    assert list(alert.deliveries.values_list("channel", flat=True)) == ["console"]
