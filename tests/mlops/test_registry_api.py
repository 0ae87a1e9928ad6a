"""The registry, drift-report and retraining-decision API."""
import pytest

from alerting.models import AgentAction
from predictions.models import DriftReport, ModelStageChange, ModelVersion, RetrainingDecision
from predictions.registry import register_version
from tests.mlops.conftest import numeric_rows

pytestmark = pytest.mark.django_db

REGISTRY_PERMS = ["predictions.add_modelversion", "predictions.change_modelversion"]


def test_register_list_and_read_a_dotted_version(api_client_for, make_prediction):
    client = api_client_for(perms=REGISTRY_PERMS, username="ana")
    response = client.post("/api/v1/model-versions/", {
        "version": "2.1.0", "model_name": "churn", "algorithm": "xgboost",
        "accuracy": 0.91, "feature_names": ["x", "y"],
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["stage"] == "registered"
    make_prediction(model_version="shadow-1")
    listed = client.get("/api/v1/model-versions/").json()["results"]
    assert {(v["version"], v["stage"]) for v in listed} == {
        ("2.1.0", "registered"), ("shadow-1", "unregistered")}
    detail = client.get("/api/v1/model-versions/2.1.0/")
    assert detail.status_code == 200
    assert detail.json()["algorithm"] == "xgboost"
    assert client.get("/api/v1/model-versions/?stage=unregistered").json()["count"] == 1


def test_patch_changes_details_not_the_stage(api_client_for):
    register_version({"version": "1.0", "model_name": "churn"})
    client = api_client_for(perms=REGISTRY_PERMS)
    response = client.patch("/api/v1/model-versions/1.0/",
                            {"algorithm": "lgbm", "stage": "production"}, format="json")
    assert response.status_code == 200
    version = ModelVersion.objects.get(version="1.0")
    assert (version.algorithm, version.stage) == ("lgbm", "registered")


def test_bad_registration_is_400_and_stores_nothing(api_client_for):
    client = api_client_for(perms=REGISTRY_PERMS)
    response = client.post("/api/v1/model-versions/", {
        "version": "1.0", "model_name": "churn",
        "reference_start": "2026-11-10T00:00:00Z", "reference_end": "2026-11-01T00:00:00Z",
    }, format="json")
    assert response.status_code == 400
    assert "reference_end" in response.json()
    assert ModelVersion.objects.count() == 0


def test_promote_archives_previous_production_and_shows_on_the_timeline(api_client_for):
    register_version({"version": "1.0", "model_name": "churn"})
    register_version({"version": "1.1", "model_name": "churn"})
    client = api_client_for(perms=["predictions.change_modelversion"], username="bo")
    assert client.post("/api/v1/model-versions/1.0/promote/", {"stage": "production"},
                       format="json").status_code == 200
    response = client.post("/api/v1/model-versions/1.1/promote/",
                           {"stage": "production", "note": "wins"}, format="json")
    assert response.status_code == 200
    assert response.json()["stage"] == "production"
    assert ModelVersion.objects.get(version="1.0").stage == "archived"
    events = client.get("/api/v1/model-versions/1.0/timeline/").json()
    assert events["version"] == "1.0"
    assert [(e["kind"], e.get("to_stage")) for e in events["events"]] == [
        ("stage_change", "registered"), ("stage_change", "production"),
        ("stage_change", "archived")]


def test_promote_errors(api_client_for):
    register_version({"version": "1.0", "model_name": "churn"})
    client = api_client_for(perms=["predictions.change_modelversion"])
    assert client.post("/api/v1/model-versions/1.0/promote/", {"stage": "gold"},
                       format="json").status_code == 400
    assert client.post("/api/v1/model-versions/ghost/promote/", {"stage": "staging"},
                       format="json").status_code == 404
    assert client.get("/api/v1/model-versions/ghost/timeline/").status_code == 404


def test_registry_permissions(api_client_for, anonymous_client):
    register_version({"version": "1.0", "model_name": "churn"})
    assert anonymous_client.get("/api/v1/model-versions/").status_code == 401
    reader = api_client_for()
    assert reader.get("/api/v1/model-versions/").status_code == 200
    assert reader.post("/api/v1/model-versions/", {"version": "2", "model_name": "m"},
                       format="json").status_code == 403
    assert reader.patch("/api/v1/model-versions/1.0/", {"algorithm": "x"},
                        format="json").status_code == 403
    adder = api_client_for(perms=["predictions.add_modelversion"])
    assert adder.post("/api/v1/model-versions/1.0/promote/", {"stage": "staging"},
                      format="json").status_code == 403
    assert ModelStageChange.objects.count() == 1


def _drifting_version(add_predictions, drift_windows, rng, version="v1"):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    register_version({"version": version, "model_name": "churn",
                      "reference_start": ref_start, "reference_end": ref_end})
    add_predictions(version, numeric_rows(rng, 300), ref_start, ref_end)
    add_predictions(version, numeric_rows(rng, 200, shift=1.0), cur_start, cur_end)


def test_compute_drift_report_over_the_api(api_client_for, add_predictions, drift_windows, rng):
    _drifting_version(add_predictions, drift_windows, rng)
    client = api_client_for(perms=["predictions.add_driftreport"])
    response = client.post("/api/v1/drift-reports/compute/", {"model_version": "v1"},
                           format="json")
    assert response.status_code == 201, response.content
    report = response.json()["report"]
    assert report["dataset_drift_detected"] is True
    assert report["features"]["x"]["drifted"] is True
    listed = client.get("/api/v1/drift-reports/?model_version=v1&drifted=true").json()
    assert [r["id"] for r in listed["results"]] == [report["id"]]
    assert client.get("/api/v1/drift-reports/?drifted=false").json()["count"] == 0
    assert client.get(f"/api/v1/drift-reports/{report['id']}/").status_code == 200


def test_compute_with_too_few_rows_is_422_naming_the_side(api_client_for, add_predictions,
                                                          drift_windows, rng):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    register_version({"version": "v1", "model_name": "churn",
                      "reference_start": ref_start, "reference_end": ref_end})
    add_predictions("v1", numeric_rows(rng, 300), ref_start, ref_end)
    add_predictions("v1", numeric_rows(rng, 20), cur_start, cur_end)
    client = api_client_for(perms=["predictions.add_driftreport"])
    response = client.post("/api/v1/drift-reports/compute/", {"model_version": "v1"},
                           format="json")
    assert response.status_code == 422
    assert response.json()["side"] == "current"
    assert "current" in response.json()["detail"]
    assert DriftReport.objects.count() == 0


def test_compute_errors_and_permissions(api_client_for, anonymous_client):
    assert anonymous_client.post("/api/v1/drift-reports/compute/", {}).status_code == 401
    reader = api_client_for()
    assert reader.post("/api/v1/drift-reports/compute/", {"model_version": "v1"},
                       format="json").status_code == 403
    client = api_client_for(perms=["predictions.add_driftreport"])
    assert client.post("/api/v1/drift-reports/compute/", {"model_version": "ghost"},
                       format="json").status_code == 404
    assert client.post("/api/v1/drift-reports/compute/", {}, format="json").status_code == 400


def test_decisions_record_apply_and_summary(api_client_for):
    register_version({"version": "2.0", "model_name": "churn"})
    AgentAction.objects.create(action_id="action_1", action_type="retrain_model")
    client = api_client_for(perms=["predictions.add_retrainingdecision",
                                   "predictions.change_modelversion"], username="pipeline")
    response = client.post("/api/v1/retraining-decisions/", {
        "model_version": "2.0", "trigger_reason": "drift", "action": "promote",
        "drift_context": {"feature_drift_ratio": 0.6}, "labeled_samples": 1200,
        "coverage_pct": 80.5, "action_ref": "action_1", "apply": True,
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == "pipeline"
    assert response.json()["action_ref"] == "action_1"
    assert ModelVersion.objects.get(version="2.0").stage == "production"
    client.post("/api/v1/retraining-decisions/", {
        "model_version": "3.0", "trigger_reason": "scheduled", "action": "reject"},
        format="json")
    summary = client.get("/api/v1/retraining-decisions/summary/?trigger_reason=drift").json()
    assert summary["total"] == 1 and summary["by_action"] == {"promote": 1, "reject": 0}
    listed = client.get("/api/v1/retraining-decisions/?action=reject").json()
    assert [d["model_version"] for d in listed["results"]] == ["3.0"]


def test_decision_errors_are_refused_and_store_nothing(api_client_for):
    client = api_client_for(perms=["predictions.add_retrainingdecision",
                                   "predictions.change_modelversion"])
    unregistered = client.post("/api/v1/retraining-decisions/", {
        "model_version": "ghost", "trigger_reason": "drift", "action": "promote",
        "apply": True}, format="json")
    assert unregistered.status_code == 400  # SPEC §8: the candidate must be registered
    assert "not registered" in unregistered.json()["detail"]
    reject_applied = client.post("/api/v1/retraining-decisions/", {
        "model_version": "ghost", "trigger_reason": "drift", "action": "reject",
        "apply": True}, format="json")
    assert reject_applied.status_code == 400
    assert RetrainingDecision.objects.count() == 0


def test_applying_a_decision_needs_the_promote_permission(api_client_for):
    register_version({"version": "2.0", "model_name": "churn"})
    client = api_client_for(perms=["predictions.add_retrainingdecision"])
    response = client.post("/api/v1/retraining-decisions/", {
        "model_version": "2.0", "trigger_reason": "drift", "action": "promote",
        "apply": True}, format="json")
    assert response.status_code == 403
    assert RetrainingDecision.objects.count() == 0


def test_moving_a_production_version_under_a_model_with_one_is_400(api_client_for):
    register_version({"version": "a", "model_name": "m1", "stage": "production"})
    register_version({"version": "b", "model_name": "m2", "stage": "production"})
    client = api_client_for(perms=REGISTRY_PERMS)
    response = client.patch("/api/v1/model-versions/b/", {"model_name": "m1"}, format="json")
    assert response.status_code == 400
    assert "model_name" in response.json()
    assert ModelVersion.objects.get(version="b").model_name == "m2"


def test_compute_with_windows_at_the_edge_of_time_is_400(api_client_for, make_prediction):
    make_prediction(model_version="v1")
    client = api_client_for(perms=["predictions.add_driftreport"])
    response = client.post("/api/v1/drift-reports/compute/", {
        "model_version": "v1", "current_end": "0001-01-01T00:10:00Z"}, format="json")
    assert response.status_code == 400
    assert DriftReport.objects.count() == 0


DECISION = {"model_version": "2.0", "trigger_reason": "alert", "action": "reject"}


def test_decision_action_ref_names_an_existing_action(api_client_for):
    action = AgentAction.objects.create(action_id="act-7", action_type="retrain_model")
    client = api_client_for(perms=["predictions.add_retrainingdecision"])
    response = client.post("/api/v1/retraining-decisions/", {**DECISION, "action_ref": "act-7"},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["action_ref"] == "act-7"
    assert RetrainingDecision.objects.get().action_ref == action
    listed = client.get("/api/v1/retraining-decisions/").json()["results"]
    assert [d["action_ref"] for d in listed] == ["act-7"]
    events = client.get("/api/v1/model-versions/2.0/timeline/").json()["events"]
    assert [e["action_ref"] for e in events if e["kind"] == "decision"] == ["act-7"]


def test_decision_with_an_unknown_action_ref_is_409_and_stores_nothing(api_client_for):
    client = api_client_for(perms=["predictions.add_retrainingdecision"])
    response = client.post("/api/v1/retraining-decisions/", {**DECISION, "action_ref": "ghost"},
                           format="json")
    assert response.status_code == 409
    assert "action_ref" in response.json()
    assert not RetrainingDecision.objects.exists()


@pytest.mark.parametrize("empty", [None, ""])
def test_decision_without_an_action_ref_has_null(api_client_for, empty):
    client = api_client_for(perms=["predictions.add_retrainingdecision"])
    response = client.post("/api/v1/retraining-decisions/", {**DECISION, "action_ref": empty},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["action_ref"] is None


def test_deleting_the_action_keeps_the_decision(api_client_for):
    action = AgentAction.objects.create(action_id="act-8", action_type="other")
    decision = RetrainingDecision.objects.create(**DECISION, action_ref=action)
    action.delete()
    decision.refresh_from_db()
    assert decision.action_ref is None
