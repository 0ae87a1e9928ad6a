"""Registry, drift and approval-queue pages, and the admin actions of §8."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerting.choices import ActionStatus
from alerting.models import AgentAction
from predictions.drift import compute_drift_report
from predictions.models import ModelVersion
from predictions.registry import promote, register_version
from tests.mlops.conftest import numeric_rows

pytestmark = pytest.mark.django_db

REVIEW = "alerting.review_agentaction"


@pytest.fixture
def drift_report(add_predictions, drift_windows, rng):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    register_version({"version": "2.0.1", "model_name": "churn"}, by="ana")
    promote("2.0.1", "production", by="bo", note="first release")
    reference = [{"age": float(a), "plan": "basic", "rare": None} for a in rng.normal(0, 1, 200)]
    current = [{"age": float(a) + 1, "plan": "pro"} for a in rng.normal(0, 1, 150)]
    add_predictions("2.0.1", reference, ref_start, ref_end)
    add_predictions("2.0.1", current, cur_start, cur_end)
    return compute_drift_report("2.0.1", cur_start, cur_end, ref_start, ref_end)


def test_pages_need_login():
    for url in ("/registry/", "/registry/x/", "/drift/1/", "/actions/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_registry_lists_registered_and_unregistered(client_for, drift_report, make_prediction):
    make_prediction(model_version="shadow")
    page = client_for().get("/registry/").content.decode()
    assert "2.0.1" in page and "production" in page
    assert "shadow" in page and "unregistered" in page


def test_version_page_shows_timeline_and_psi_chart(client_for, drift_report):
    response = client_for().get("/registry/2.0.1/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/models/2.0.1/", 302)]
    page = response.content.decode()
    assert "registered" in page and "first release" in page
    assert page.count('class="event-stage_change"') == 2
    assert "<svg" in page and "PSI per feature" in page
    assert f"/drift/{drift_report.pk}/" in page
    assert client_for().get("/registry/nope/", follow=True).status_code == 404


def test_drift_page_shows_features_and_skips(client_for, drift_report):
    page = client_for().get(f"/drift/{drift_report.pk}/").content.decode()
    assert "age" in page and "plan" in page
    assert "skipped: missing from 200 of 200 reference rows" in page
    assert "<svg" in page
    assert client_for().get("/drift/999999/").status_code == 404


def _pending(requested_by="agent"):
    return AgentAction.objects.create(action_type="retrain_model", requested_by=requested_by,
                                      description="retrain after drift")


def test_reviewer_approves_with_a_comment(client_for):
    action = _pending()
    client = client_for("rita", perms=[REVIEW])
    queue = client.get("/actions/").content.decode()
    assert action.action_id in queue and 'value="approve"' in queue
    response = client.post(f"/actions/{action.action_id}/review/",
                           {"decision": "approve", "comment": "looks right"}, follow=True)
    assert response.status_code == 200
    action.refresh_from_db()
    assert (action.status, action.reviewed_by, action.review_comment) == (
        "approved", "rita", "looks right")
    assert timezone.now() - action.reviewed_at < timedelta(minutes=1)
    assert "approved by rita" in response.content.decode()


def test_reviewer_rejects(client_for):
    action = _pending()
    client_for("rita", perms=[REVIEW]).post(f"/actions/{action.action_id}/review/",
                                            {"decision": "reject"})
    action.refresh_from_db()
    assert (action.status, action.reviewed_by) == ("rejected", "rita")


def test_review_without_permission_is_403_and_changes_nothing(client_for):
    action = _pending()
    client = client_for("reader")
    assert 'value="approve"' not in client.get("/actions/").content.decode()
    response = client.post(f"/actions/{action.action_id}/review/", {"decision": "approve"})
    assert response.status_code == 403
    action.refresh_from_db()
    assert action.status == "pending"


def test_requester_cannot_approve_own_action_on_the_page(client_for):
    action = _pending(requested_by="rita")
    client = client_for("rita", perms=[REVIEW], is_superuser=True)
    queue = client.get("/actions/").content.decode()
    assert "another reviewer must approve it" in queue
    response = client.post(f"/actions/{action.action_id}/review/", {"decision": "approve"},
                           follow=True)
    assert "another reviewer must approve it" in response.content.decode()
    action.refresh_from_db()
    assert (action.status, action.reviewed_by) == ("pending", "")


def test_reviewing_a_decided_action_says_so(client_for):
    action = _pending()
    AgentAction.objects.filter(pk=action.pk).update(status=ActionStatus.REJECTED)
    response = client_for("rita", perms=[REVIEW]).post(
        f"/actions/{action.action_id}/review/", {"decision": "approve"}, follow=True)
    assert "it is rejected, not pending" in response.content.decode()
    action.refresh_from_db()
    assert action.status == "rejected"


def test_review_is_post_only(client_for):
    action = _pending()
    assert client_for(perms=[REVIEW]).get(
        f"/actions/{action.action_id}/review/").status_code == 405


# --- Admin -------------------------------------------------------------------------
def test_admin_approve_records_the_user_and_refuses_own(client_for):
    mine = _pending(requested_by="boss")
    theirs = _pending(requested_by="agent")
    client = client_for("boss", is_staff=True, is_superuser=True)
    response = client.post("/admin/alerting/agentaction/", {
        "action": "approve_selected", "_selected_action": [mine.pk, theirs.pk]}, follow=True)
    page = response.content.decode()
    assert "you requested this action" in page
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == "pending"
    assert (theirs.status, theirs.reviewed_by) == ("approved", "boss")


def test_admin_promote_action(client_for):
    register_version({"version": "1.0", "model_name": "churn"})
    register_version({"version": "1.1", "model_name": "churn"})
    promote("1.0", "production", by="x")
    client = client_for("admin", is_staff=True, is_superuser=True)
    version = ModelVersion.objects.get(version="1.1")
    client.post("/admin/predictions/modelversion/", {
        "action": "promote_to_production", "_selected_action": [version.pk]})
    stages = dict(ModelVersion.objects.values_list("version", "stage"))
    assert stages == {"1.0": "archived", "1.1": "production"}
    assert ModelVersion.objects.get(version="1.1").promoted_by == "admin"


def test_admin_pages_render(client_for, drift_report):
    client = client_for("admin", is_staff=True, is_superuser=True)
    _pending()
    for url in ("/admin/predictions/modelversion/", "/admin/predictions/driftreport/",
                "/admin/predictions/retrainingdecision/", "/admin/alerting/agentaction/",
                "/admin/predictions/modelstagechange/", "/admin/predictions/modelversion/add/",
                f"/admin/predictions/driftreport/{drift_report.pk}/change/"):
        assert client.get(url).status_code == 200, url


def test_admin_registers_a_version_on_the_timeline(client_for):
    client = client_for("admin", is_staff=True, is_superuser=True)
    response = client.post("/admin/predictions/modelversion/add/", {
        "version": "3.0", "model_name": "churn", "hyperparameters": "{}",
        "feature_names": "[]", "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    version = ModelVersion.objects.get(version="3.0")
    assert list(version.stage_changes.values_list("to_stage", "changed_by")) == [
        ("registered", "admin")]


def test_numeric_rows_helper_is_deterministic(rng):
    assert len(numeric_rows(rng, 3)) == 3


def test_admin_refuses_a_second_production_version_by_renaming(client_for):
    register_version({"version": "a", "model_name": "m1", "stage": "production"})
    moved = register_version({"version": "b", "model_name": "m2", "stage": "production"})
    client = client_for("admin", is_staff=True, is_superuser=True)
    response = client.post(f"/admin/predictions/modelversion/{moved.pk}/change/", {
        "version": "b", "model_name": "m1", "hyperparameters": "{}", "feature_names": "[]",
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "already has a version in production" in response.content.decode()
    assert ModelVersion.objects.get(version="b").model_name == "m2"
