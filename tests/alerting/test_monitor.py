"""The monitor pass and its commands: snapshots → rules → alerts → deliveries."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerting.choices import AlertStatus
from alerting.models import Alert
from alerting.monitor import run_monitor_pass, snapshot_metric_value
from predictions.models import HealthSnapshot

pytestmark = pytest.mark.django_db


def test_pass_snapshots_every_active_version_and_fires_their_alerts(
    make_rule, labelled_predictions
):
    now = timezone.now()
    labelled_predictions("v1", correct=1, wrong=3, now=now)
    labelled_predictions("v2", correct=4, now=now)
    make_rule(metric_name="accuracy", comparison="<", threshold=0.7)
    result = run_monitor_pass(window_minutes=60, now=now)
    assert sorted(s.model_version for s in result.snapshots) == ["v1", "v2"]
    assert [a.model_version for a in result.alerts_fired] == ["v1"]
    assert result.alerts_fired[0].message == "accuracy is 0.2500 (< 0.7000)"


def test_pass_for_one_version_only(make_rule, labelled_predictions):
    now = timezone.now()
    labelled_predictions("v1", correct=1, wrong=3, now=now)
    labelled_predictions("v2", wrong=4, now=now)
    make_rule()
    result = run_monitor_pass(model_version="v2", now=now)
    assert [s.model_version for s in result.snapshots] == ["v2"]
    assert [a.model_version for a in result.alerts_fired] == ["v2"]


def test_rules_watch_label_free_metrics_too(make_rule, labelled_predictions):
    now = timezone.now()
    labelled_predictions("v1", correct=2, now=now)
    make_rule(metric_name="num_predictions", comparison="<", threshold=5, component="traffic")
    make_rule(metric_name="avg_confidence", comparison=">=", threshold=0.8)
    make_rule(metric_name="label_coverage", comparison=">", threshold=0.99)
    fired = run_monitor_pass(now=now).alerts_fired
    assert sorted(a.metric_name for a in fired) == [
        "avg_confidence", "label_coverage", "num_predictions",
    ]
    assert any(a.title == "TRAFFIC: num_predictions Alert" for a in fired)


def test_min_samples_uses_the_snapshots_labelled_count(make_rule, labelled_predictions):
    now = timezone.now()
    labelled_predictions("v1", wrong=3, now=now)
    make_rule(conditions={"min_samples": 30})
    assert run_monitor_pass(now=now).alerts_fired == []
    labelled_predictions("v1", wrong=30, now=now + timedelta(minutes=5))
    assert len(run_monitor_pass(now=now + timedelta(minutes=5)).alerts_fired) == 1


def test_degradation_rule_fires_on_an_accuracy_drop(make_rule, labelled_predictions, settings):
    # Ten labels a window: enough to judge here. The baseline is the version's
    # reference window (its first days), as SPEC §9 says.
    settings.MONITORING_DEGRADATION_MIN_SAMPLES = 10
    start = timezone.now() - timedelta(hours=3)
    make_rule(metric_name="degradation_detected", comparison="==", threshold=1.0,
              component="degradation")
    labelled_predictions("v1", correct=9, wrong=1, now=start)
    assert run_monitor_pass(window_minutes=30, now=start).alerts_fired == []
    labelled_predictions("v1", correct=5, wrong=5, now=start + timedelta(hours=1))
    fired = run_monitor_pass(window_minutes=30, now=start + timedelta(hours=1)).alerts_fired
    assert [a.title for a in fired] == ["DEGRADATION: degradation_detected Alert"]
    assert fired[0].message == "degradation_detected is 1.0000 (== 1.0000)"


def test_pass_auto_resolves_when_the_metric_recovers(make_rule, labelled_predictions):
    start = timezone.now() - timedelta(hours=3)
    make_rule(cooldown_minutes=0)
    labelled_predictions("v1", wrong=4, now=start)
    [alert] = run_monitor_pass(window_minutes=30, now=start).alerts_fired
    labelled_predictions("v1", correct=4, now=start + timedelta(hours=1))
    result = run_monitor_pass(window_minutes=30, now=start + timedelta(hours=1))
    assert result.alerts_fired == []
    assert [a.pk for a in result.alerts_resolved] == [alert.pk]
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.RESOLVED


def test_disabled_and_other_version_rules_are_not_evaluated(make_rule, labelled_predictions):
    now = timezone.now()
    labelled_predictions("v1", wrong=4, now=now)
    make_rule(enabled=False)
    make_rule(model_version="v9")
    assert run_monitor_pass(now=now).alerts_fired == []


def test_second_monitor_in_the_same_slot_does_nothing(make_rule, labelled_predictions):
    now = timezone.now()
    labelled_predictions("v1", wrong=4, now=now)
    make_rule(cooldown_minutes=0)
    first = run_monitor_pass(now=now, monitor_slot=100)
    second = run_monitor_pass(now=now + timedelta(seconds=1), monitor_slot=100)
    assert len(first.snapshots) == 1 and len(first.alerts_fired) == 1
    assert second.snapshots == [] and second.alerts_fired == []
    assert HealthSnapshot.objects.count() == 1 and Alert.objects.count() == 1


def test_snapshot_metric_value_reads_columns_and_metrics():
    snapshot = HealthSnapshot(
        model_version="v1", accuracy=0.8, degradation_detected=True,
        metrics={"avg_confidence": 0.7, "drift_score": None},
    )
    assert snapshot_metric_value(snapshot, "accuracy") == 0.8
    assert snapshot_metric_value(snapshot, "degradation_detected") == 1.0
    assert snapshot_metric_value(snapshot, "avg_confidence") == 0.7
    assert snapshot_metric_value(snapshot, "drift_score") is None
    assert snapshot_metric_value(snapshot, "latency_p95_ms") is None


def test_compute_snapshots_command(make_rule, labelled_predictions):
    labelled_predictions("v1", wrong=4)
    labelled_predictions("v2", correct=4)
    make_rule()
    out = StringIO()
    call_command("compute_snapshots", "--window-minutes", "60", stdout=out)
    assert HealthSnapshot.objects.count() == 2
    assert Alert.objects.count() == 1
    assert "2 snapshot(s), 1 alert(s) fired" in out.getvalue()


def test_compute_snapshots_command_for_one_version(labelled_predictions):
    labelled_predictions("v1", wrong=4)
    labelled_predictions("v2", correct=4)
    call_command("compute_snapshots", "--model-version", "v2", stdout=StringIO())
    assert list(HealthSnapshot.objects.values_list("model_version", flat=True)) == ["v2"]


def test_compute_snapshots_refuses_a_bad_window(db):
    with pytest.raises(CommandError, match="window"):
        call_command("compute_snapshots", "--window-minutes", "0")


def test_run_monitor_once(make_rule, labelled_predictions):
    labelled_predictions("v1", wrong=4)
    make_rule()
    out = StringIO()
    call_command("run_monitor", "--once", "--interval", "60", stdout=out)
    assert HealthSnapshot.objects.get().monitor_slot is not None
    assert Alert.objects.count() == 1
    assert "1 snapshot(s), 1 alert(s) fired" in out.getvalue()


def test_run_monitor_refuses_a_bad_interval(db):
    with pytest.raises(CommandError, match="interval"):
        call_command("run_monitor", "--interval", "0", "--once")
