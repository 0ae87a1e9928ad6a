"""Drift in the monitor loop: snapshots carry drift metrics, drift rules fire once."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerting.models import Alert, AlertRule
from alerting.monitor import run_monitor_pass
from predictions.models import DriftReport, HealthSnapshot
from predictions.registry import register_version
from tests.mlops.conftest import numeric_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(add_predictions, rng):
    """'drifty' (its feature moved by one standard deviation) and 'steady' (unchanged)."""
    now = timezone.now()
    ref_start, ref_end = now - timedelta(days=10), now - timedelta(days=3)
    for version, shift in (("drifty", 1.0), ("steady", 0.0)):
        register_version({"version": version, "model_name": version,
                          "reference_start": ref_start, "reference_end": ref_end})
        add_predictions(version, numeric_rows(rng, 300), ref_start, ref_end)
        add_predictions(version, numeric_rows(rng, 240, shift=shift),
                        now - timedelta(minutes=59), now - timedelta(seconds=1))
    return now


@pytest.fixture
def drift_rule():
    return AlertRule.objects.create(
        rule_id="feature-drift", metric_name="feature_drift_ratio",
        comparison=">=", threshold=0.5, severity="warning", component="drift",
        cooldown_minutes=60, channels=[],
    )


def test_monitor_raises_one_drift_alert_then_stays_quiet_in_cooldown(two_versions, drift_rule):
    now = two_versions
    result = run_monitor_pass(window_minutes=60, now=now)
    assert {s.model_version for s in result.snapshots} == {"drifty", "steady"}
    alert = Alert.objects.get()
    assert (alert.model_version, alert.component) == ("drifty", "drift")
    assert alert.title == "DRIFT: feature_drift_ratio Alert"
    assert alert.metric_value == 1.0
    snapshot = HealthSnapshot.objects.get(model_version="drifty")
    assert snapshot.metrics["dataset_drift_detected"] == 1.0
    assert snapshot.metrics["num_drifted_features"] == 1
    report = DriftReport.objects.get(pk=snapshot.metrics["drift_report_id"])
    assert report.current_end == now
    steady = HealthSnapshot.objects.get(model_version="steady")
    assert steady.metrics["feature_drift_ratio"] == 0.0

    later = run_monitor_pass(window_minutes=60, now=now + timedelta(minutes=5))
    assert later.alerts_fired == []
    assert Alert.objects.count() == 1
    assert DriftReport.objects.count() == 4


def test_run_monitor_command_fires_the_drift_rule(two_versions, drift_rule):
    call_command("compute_snapshots", "--window-minutes", "60")
    assert list(Alert.objects.values_list("model_version", "component")) == [("drifty", "drift")]


def test_no_report_and_no_drift_metric_with_too_few_rows(add_predictions, rng, drift_rule):
    now = timezone.now()
    register_version({"version": "thin", "model_name": "thin",
                      "reference_start": now - timedelta(days=9),
                      "reference_end": now - timedelta(days=2)})
    add_predictions("thin", numeric_rows(rng, 300), now - timedelta(days=9),
                    now - timedelta(days=2))
    add_predictions("thin", numeric_rows(rng, 50, shift=3.0), now - timedelta(minutes=30), now)
    run_monitor_pass(window_minutes=60, now=now)
    snapshot = HealthSnapshot.objects.get(model_version="thin")
    assert "feature_drift_ratio" not in snapshot.metrics
    assert DriftReport.objects.count() == 0
    assert Alert.objects.count() == 0


def test_no_drift_while_the_window_is_inside_the_reference(add_predictions, rng, drift_rule):
    now = timezone.now()
    # Unregistered, first seen two days ago: its reference is its first 7 days.
    add_predictions("young", numeric_rows(rng, 300), now - timedelta(days=2), now)
    run_monitor_pass(window_minutes=60, now=now)
    assert DriftReport.objects.count() == 0


def test_run_monitor_once_fires_then_the_alert_resolves_when_drift_ends(
    two_versions, drift_rule, add_predictions, rng
):
    call_command("run_monitor", "--once", "--window-minutes", "60")
    alert = Alert.objects.get()
    assert (alert.model_version, alert.status) == ("drifty", "open")
    # An hour later the current window holds undrifted predictions only.
    later = two_versions + timedelta(hours=2)
    add_predictions("drifty", numeric_rows(rng, 200), later - timedelta(minutes=50),
                    later - timedelta(minutes=1))
    run_monitor_pass(model_version="drifty", window_minutes=60, now=later)
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by) == ("resolved", "system")
    assert Alert.objects.count() == 1
