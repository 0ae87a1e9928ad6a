"""POST health-snapshots/compute/: snapshots, rules evaluated, alerts fired.

The route lives in predictions' API; alerting evaluates the rules through the
predictions.signals hook, and the monitor pass evaluates directly, never through it.
"""
import pytest

from alerting import receivers
from alerting.models import Alert
from alerting.monitor import run_monitor_pass
from predictions.models import HealthSnapshot
from predictions.signals import drift_report_computed, snapshots_computed

pytestmark = pytest.mark.django_db

URL = "/api/v1/health-snapshots/compute/"


@pytest.fixture
def computer(api_client_for):
    return api_client_for(perms=["predictions.add_healthsnapshot"])


def test_compute_for_every_active_version(computer, make_rule, labelled_predictions):
    labelled_predictions("v1", wrong=4)
    labelled_predictions("v2", correct=4)
    make_rule()
    response = computer.post(URL, {}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert sorted(s["model_version"] for s in body["snapshots"]) == ["v1", "v2"]
    assert [a["model_version"] for a in body["alerts_fired"]] == ["v1"]
    assert body["alerts_fired"][0]["title"] == "PERFORMANCE: accuracy Alert"
    assert body["alerts_resolved"] == []
    assert HealthSnapshot.objects.count() == 2
    snapshot = next(s for s in body["snapshots"] if s["model_version"] == "v1")
    assert snapshot["accuracy"] == 0.0
    assert snapshot["num_with_outcome"] == 4
    assert "calibration_bins" in snapshot["metrics"]


def test_compute_for_one_version_and_window(computer, labelled_predictions):
    labelled_predictions("v1", correct=2)
    labelled_predictions("v2", correct=2)
    body = computer.post(URL, {"model_version": "v2", "window_minutes": 15},
                         format="json").json()
    assert [(s["model_version"], s["window_minutes"]) for s in body["snapshots"]] == [("v2", 15)]


def test_compute_sends_the_fired_alerts(computer, make_rule, labelled_predictions, tmp_path,
                                        settings, django_capture_on_commit_callbacks):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    labelled_predictions("v1", wrong=4)
    make_rule(channels=["file"])
    with django_capture_on_commit_callbacks(execute=True):
        body = computer.post(URL, {}, format="json").json()
    assert "PERFORMANCE: accuracy Alert" in (tmp_path / "alert_log.txt").read_text()
    assert body["alerts_fired"][0]["deliveries"][0]["channel"] == "file"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"window_minutes": 0}, "window_minutes"),
        ({"window_minutes": "an hour"}, "window_minutes"),
        ({"model_version": ""}, "model_version"),
        ({"model_version": "v" * 65}, "model_version"),
    ],
)
def test_compute_bad_input_is_400_and_stores_nothing(computer, labelled_predictions,
                                                     document, field):
    labelled_predictions("v1", wrong=4)
    response = computer.post(URL, document, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not HealthSnapshot.objects.exists()


def test_compute_needs_permission(api_client_for, labelled_predictions):
    labelled_predictions("v1", wrong=4)
    assert api_client_for().post(URL, {}, format="json").status_code == 403
    assert not HealthSnapshot.objects.exists()


def test_compute_anonymous_is_401(anonymous_client):
    assert anonymous_client.post(URL, {}, format="json").status_code == 401


def test_compute_with_nothing_to_measure(computer):
    body = computer.post(URL, {}, format="json").json()
    assert body["snapshots"] == [] and body["alerts_fired"] == []
    assert not Alert.objects.exists()


def test_compute_is_routed_with_the_snapshots_and_answers_alerting_through_the_hook():
    from django.urls import resolve

    from predictions.api.snapshot_views import HealthSnapshotViewSet

    assert resolve(URL).func.cls is HealthSnapshotViewSet
    # Each entry holds (lookup key, weak reference to the receiver, …).
    assert receivers.evaluate_computed_snapshots in [
        entry[1]() for entry in snapshots_computed.receivers
    ]
    assert receivers.evaluate_computed_drift_report in [
        entry[1]() for entry in drift_report_computed.receivers
    ]


def test_without_a_listener_compute_stores_snapshots_and_fires_nothing(
    computer, make_rule, labelled_predictions
):
    labelled_predictions("v1", wrong=4)
    make_rule()
    snapshots_computed.disconnect(dispatch_uid="alerting.snapshots_computed")
    try:
        body = computer.post(URL, {}, format="json").json()
    finally:
        snapshots_computed.connect(
            receivers.evaluate_computed_snapshots, dispatch_uid="alerting.snapshots_computed"
        )
    assert [s["model_version"] for s in body["snapshots"]] == ["v1"]
    assert (body["alerts_fired"], body["alerts_resolved"], body["deliveries_sent"]) == (
        [], [], 0)
    assert not Alert.objects.exists()


def test_the_monitor_pass_evaluates_once_without_the_hook(make_rule, labelled_predictions):
    labelled_predictions("v1", wrong=4)
    make_rule(cooldown_minutes=0)
    sent = []

    def spy(sender, **kwargs):
        sent.append(kwargs)

    snapshots_computed.connect(spy, dispatch_uid="test.spy")
    try:
        result = run_monitor_pass(window_minutes=60)
    finally:
        snapshots_computed.disconnect(dispatch_uid="test.spy")
    assert sent == []
    assert len(result.alerts_fired) == 1 and Alert.objects.count() == 1
