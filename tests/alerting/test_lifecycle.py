"""Acknowledging and resolving alerts: one conditional update each, first one wins."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from alerting.choices import AlertStatus
from alerting.lifecycle import (
    acknowledge_alert,
    acknowledge_alerts,
    acting_person,
    alert_statistics,
    resolve_alert,
    resolve_alerts,
)
from alerting.models import Alert

pytestmark = pytest.mark.django_db


def test_acknowledge_records_who_when_and_the_note(make_alert):
    alert = make_alert()
    now = timezone.now()
    outcome = acknowledge_alert(alert.alert_id, by="ann", note="looking into it", now=now)
    assert outcome.changed and not outcome.already
    assert outcome.message == f"Alert {alert.alert_id} acknowledged."
    alert.refresh_from_db()
    assert alert.acknowledged
    assert alert.acknowledged_by == "ann"
    assert alert.acknowledged_at == now
    assert alert.acknowledgment_note == "looking into it"
    assert alert.status == AlertStatus.ACKNOWLEDGED


def test_acknowledging_twice_keeps_the_first_acknowledger(make_alert):
    alert = make_alert()
    acknowledge_alert(alert.alert_id, by="ann", note="mine")
    outcome = acknowledge_alert(alert.alert_id, by="bob", note="no, mine")
    assert outcome.already and not outcome.changed
    assert outcome.alert.acknowledged_by == "ann"
    assert outcome.message.startswith(
        f"Alert {alert.alert_id} was already acknowledged by ann at "
    )
    assert outcome.alert.acknowledgment_note == "mine"


def test_acknowledging_an_unknown_alert_says_so(db):
    outcome = acknowledge_alert("alert_nope", by="ann")
    assert outcome.alert is None
    assert not outcome.changed and not outcome.already
    assert outcome.message == "No alert alert_nope."


def test_acknowledging_leaves_other_alerts_alone(make_alert):
    alert, other = make_alert(), make_alert()
    acknowledge_alert(alert.alert_id, by="ann")
    other.refresh_from_db()
    assert not other.acknowledged and other.status == AlertStatus.OPEN


def test_acknowledging_a_resolved_alert_keeps_it_resolved(make_alert):
    alert = make_alert(status=AlertStatus.RESOLVED)
    acknowledge_alert(alert.alert_id, by="ann")
    alert.refresh_from_db()
    assert alert.acknowledged and alert.status == AlertStatus.RESOLVED


def test_bulk_acknowledge_counts_only_the_ones_it_changed(make_alert):
    first, _second, third = make_alert(), make_alert(), make_alert()
    acknowledge_alert(first.alert_id, by="ann")
    outcome = acknowledge_alerts(Alert.objects.all(), by="admin")
    assert (outcome.changed, outcome.skipped) == (2, 1)
    assert outcome.message == "2 alerts acknowledged. 1 already acknowledged."
    assert Alert.objects.get(pk=first.pk).acknowledged_by == "ann"
    assert Alert.objects.get(pk=third.pk).acknowledged_by == "admin"


def test_resolve_records_the_note_and_keeps_the_first_resolution(make_alert):
    alert = make_alert()
    outcome = resolve_alert(alert.alert_id, by="ann", note="retrained")
    assert outcome.changed and not outcome.already
    again = resolve_alert(alert.alert_id, by="bob", note="me too")
    assert again.already and not again.changed
    assert f"Alert {alert.alert_id} was already resolved by ann at " in again.message
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == "ann"
    assert alert.resolution_note == "retrained"
    assert alert.resolved_at is not None


def test_resolving_an_unknown_alert_says_so(db):
    assert resolve_alert("alert_nope", by="ann").alert is None


def test_bulk_resolve(make_alert):
    make_alert(), make_alert()
    make_alert(status=AlertStatus.RESOLVED, resolved_by="system")
    outcome = resolve_alerts(Alert.objects.all(), by="admin", note="bulk")
    assert (outcome.changed, outcome.skipped) == (2, 1)
    assert outcome.message == "2 alerts resolved. 1 already resolved."
    assert Alert.objects.filter(resolved_by="system").count() == 1


def test_statistics_count_by_severity_component_and_status(make_alert):
    make_alert(severity="critical", component="performance")
    make_alert(severity="warning", component="drift")
    acknowledged = make_alert(severity="warning", component="drift",
                              timestamp=timezone.now() - timedelta(days=1))
    acknowledge_alert(acknowledged.alert_id, by="ann")
    stats = alert_statistics()
    assert stats == {
        "total_alerts": 3,
        "unacknowledged": 2,
        "by_severity": {"critical": 1, "warning": 2, "info": 0},
        "by_component": {"drift": 2, "performance": 1},
        "by_status": {"open": 2, "acknowledged": 1, "resolved": 0},
    }


def test_one_alert_resolved_says_alert_not_alerts(make_alert):
    make_alert()
    assert resolve_alerts(Alert.objects.all(), by="admin").message == "1 alert resolved."


def test_acting_person_is_the_username_of_someone_allowed_to_change_alerts(make_user):
    assert acting_person(make_user("ann", perms=["alerting.change_alert"])) == "ann"
    with pytest.raises(PermissionDenied):
        acting_person(make_user("viewer", perms=["alerting.view_alert"]))


def test_unresolved_is_open_and_acknowledged_alerts(make_alert):
    opened, acknowledged, resolved = make_alert(), make_alert(), make_alert()
    acknowledge_alert(acknowledged.alert_id, by="ann")
    resolve_alert(resolved.alert_id, by="ann")
    assert set(Alert.objects.unresolved()) == {opened, acknowledged}
