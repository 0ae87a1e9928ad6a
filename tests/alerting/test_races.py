"""Races on PostgreSQL: many threads at once (tests.races) leave exactly one winner."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.choices import AlertStatus, DeliveryKind, DeliveryStatus
from alerting.deliveries import deliver
from alerting.lifecycle import acknowledge_alert
from alerting.models import Alert, AlertRule, Delivery, RuleCooldown
from alerting.monitor import run_monitor_pass
from alerting.rules import evaluate_rule
from predictions.models import HealthSnapshot
from tests.races import race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 10


def test_racing_evaluations_of_one_rule_and_version_fire_one_alert(make_rule):
    rule = make_rule(rule_id="low-accuracy", cooldown_minutes=60)
    now = timezone.now()

    def evaluate(i):
        fresh_rule = AlertRule.objects.get(pk=rule.pk)  # each worker loads its own copy
        return evaluate_rule(fresh_rule, 0.5, "v1", now=now + timedelta(milliseconds=i))

    fired = [alert for alert in race(evaluate, range(THREADS)) if alert is not None]
    assert len(fired) == 1
    assert Alert.objects.count() == 1
    assert RuleCooldown.objects.count() == 1
    assert Delivery.objects.count() == len(rule.channels)


def test_racing_evaluations_with_no_cooldown_row_yet_still_fire_once(make_rule):
    rule = make_rule(rule_id="low-accuracy", cooldown_minutes=60, channels=["console"])
    assert not RuleCooldown.objects.exists()
    results = race(
        lambda i: evaluate_rule(AlertRule.objects.get(pk=rule.pk), 0.1, "v1"), range(THREADS)
    )
    assert sum(alert is not None for alert in results) == 1
    assert Delivery.objects.count() == 1


def test_racing_evaluations_of_two_versions_fire_one_alert_each(make_rule):
    rule = make_rule(rule_id="low-accuracy", cooldown_minutes=60)

    def evaluate(i):
        return evaluate_rule(AlertRule.objects.get(pk=rule.pk), 0.5, f"v{i % 2}")

    race(evaluate, range(THREADS))
    assert sorted(Alert.objects.values_list("model_version", flat=True)) == ["v0", "v1"]


def test_racing_acknowledgments_leave_exactly_one_acknowledger(make_alert):
    alert = make_alert()
    outcomes = race(
        lambda i: acknowledge_alert(alert.alert_id, by=f"user{i}", note=f"n{i}"), range(THREADS)
    )
    winners = [i for i, outcome in enumerate(outcomes) if outcome.changed]
    assert len(winners) == 1
    assert sum(outcome.already for outcome in outcomes) == THREADS - 1
    alert.refresh_from_db()
    assert alert.acknowledged_by == f"user{winners[0]}"
    assert alert.acknowledgment_note == f"n{winners[0]}"
    assert alert.status == AlertStatus.ACKNOWLEDGED
    # Everyone who lost was told who won.
    assert {o.alert.acknowledged_by for o in outcomes} == {f"user{winners[0]}"}


def test_racing_recoveries_resolve_once_with_one_notice(make_rule):
    rule = make_rule(rule_id="low-accuracy", cooldown_minutes=60, channels=["console"])
    alert = evaluate_rule(rule, 0.5, "v1")
    race(lambda i: evaluate_rule(AlertRule.objects.get(pk=rule.pk), 0.95, "v1"), range(THREADS))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert Delivery.objects.filter(kind=DeliveryKind.RECOVERY).count() == 1


def test_racing_workers_send_a_delivery_once(make_rule, tmp_path, settings):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    # Queued, not sent after commit: the workers below race for it.
    alert = evaluate_rule(make_rule(channels=["file"]), 0.5, "v1", deliver=False)
    delivery_id = Delivery.objects.get(alert=alert).pk
    copies = [Delivery.objects.select_related("alert__rule").get(pk=delivery_id)
              for _ in range(THREADS)]
    results = race(lambda i: deliver(copies[i]), range(THREADS))
    assert results.count(True) == 1
    assert (tmp_path / "alert_log.txt").read_text().count("PERFORMANCE: accuracy Alert") == 1
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_racing_monitor_passes_for_one_slot_store_one_snapshot(make_rule, make_prediction):
    now = timezone.now()
    for i in range(4):
        make_prediction(model_version="v1", timestamp=now - timedelta(minutes=1),
                        actual_outcome=0 if i else 1)
    make_rule(rule_id="low-accuracy", cooldown_minutes=0)
    results = race(lambda i: run_monitor_pass(now=now, monitor_slot=12345), range(THREADS))
    assert sum(len(r.snapshots) for r in results) == 1
    assert HealthSnapshot.objects.count() == 1
    assert Alert.objects.count() == 1


# --- SPEC §10: one incident, occurrences, one reminder per interval ---------------------

RACERS = 16
EVALUATE = ["alerting.add_alert"]


def _racers(rule_pk, now, api_clients):
    """Half monitor passes (each its own slot: every one evaluates), half API evaluations."""

    def run(i):
        if i % 2:
            return len(run_monitor_pass(now=now, window_minutes=60).snapshots)
        answer = api_clients[i].post(
            "/api/v1/alert-rules/racing/evaluate/",
            {"metric_value": 0.25, "model_version": "v1", "num_with_outcome": 4}, format="json",
        )
        assert answer.status_code in (200, 201), answer.content
        return 1

    return run


@pytest.fixture
def racing_setup(make_rule, make_prediction, api_client_for):
    now = timezone.now()
    for i in range(4):  # accuracy 0.25 over the last hour
        make_prediction(model_version="v1", timestamp=now - timedelta(minutes=2),
                        actual_outcome=1 if i == 0 else 0)
    rule = make_rule(rule_id="racing", cooldown_minutes=0, channels=["console"],
                     repeat_interval_minutes=30)
    clients = [api_client_for(perms=EVALUATE) for _ in range(RACERS)]
    return rule, clients


def test_racing_passes_and_api_evaluations_open_one_incident(racing_setup):
    rule, clients = racing_setup
    evaluations = sum(race(_racers(rule.pk, None, clients), range(RACERS)))
    assert evaluations == RACERS  # every one saw the condition
    alert = Alert.objects.get()
    assert alert.occurrences == RACERS
    assert RuleCooldown.objects.get().state == "firing"
    assert Delivery.objects.filter(kind=DeliveryKind.ALERT).count() == 1


def test_racing_passes_and_api_evaluations_send_one_reminder_per_interval(racing_setup):
    rule, clients = racing_setup
    # The incident opened 31 min ago: a reminder is due, once.
    from alerting.rules import evaluate

    evaluate(rule, 0.25, "v1", now=timezone.now() - timedelta(minutes=31), deliver=False)
    race(_racers(rule.pk, None, clients), range(RACERS))
    alert = Alert.objects.get()
    assert alert.occurrences == 1 + RACERS
    assert alert.reminders_sent == 1
    assert list(Delivery.objects.filter(kind=DeliveryKind.REMINDER)
                .values_list("reminder_number", flat=True)) == [1]
    # Another round inside the same interval: no second reminder.
    race(_racers(rule.pk, None, clients), range(RACERS))
    alert.refresh_from_db()
    assert alert.occurrences == 1 + 2 * RACERS
    assert alert.reminders_sent == 1


def test_the_database_refuses_a_second_unresolved_alert_of_a_rule_and_version(make_rule):
    from django.db import IntegrityError, transaction

    rule = make_rule(rule_id="guarded")
    Alert.objects.create(severity="warning", title="t", message="m", rule=rule,
                         model_version="v1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(severity="warning", title="t", message="m", rule=rule,
                             model_version="v1")
