"""The approval queue over the API: the state machine, four eyes, permissions."""
import pytest

from alerting import actions
from alerting.choices import ActionStatus
from alerting.models import AgentAction

pytestmark = pytest.mark.django_db

REVIEWER_PERMS = ["alerting.review_agentaction", "alerting.change_agentaction"]
ALLOWED = {
    (ActionStatus.PENDING, "approve"): ActionStatus.APPROVED,
    (ActionStatus.PENDING, "reject"): ActionStatus.REJECTED,
    (ActionStatus.APPROVED, "executed"): ActionStatus.EXECUTED,
    (ActionStatus.APPROVED, "failed"): ActionStatus.FAILED,
}


def _action(status=ActionStatus.PENDING, requested_by="requester", **fields):
    return AgentAction.objects.create(
        action_type="retrain_model", status=status, requested_by=requested_by, **fields
    )


def _row(action):
    return AgentAction.objects.filter(pk=action.pk).values().get()


@pytest.mark.parametrize("transition", ["approve", "reject", "executed", "failed"])
@pytest.mark.parametrize("status", ActionStatus.values)
def test_every_status_times_every_transition(api_client_for, status, transition):
    client = api_client_for(perms=REVIEWER_PERMS, username="reviewer")
    action = _action(status)
    before = _row(action)
    url = f"/api/v1/actions/{action.action_id}/{transition}/"
    body = {"comment": "ok"} if transition in ("approve", "reject") else {"result": {"ok": 1}}
    response = client.post(url, body, format="json")
    target = ALLOWED.get((status, transition))
    if target is None:
        assert response.status_code == 409, response.content
        assert status in response.json()["detail"]
        assert _row(action) == before
        return
    assert response.status_code == 200, response.content
    assert response.json()["status"] == target
    after = _row(action)
    if transition in ("approve", "reject"):
        assert (after["reviewed_by"], after["review_comment"]) == ("reviewer", "ok")
        assert after["reviewed_at"] is not None
    else:
        assert after["execution_result"] == {"ok": 1} and after["executed_at"] is not None
    # Only once: the same transition again is refused and changes nothing.
    again = client.post(url, body, format="json")
    assert again.status_code == 409
    assert _row(action) == after


def test_requester_cannot_approve_their_own_action(api_client_for):
    client = api_client_for(perms=REVIEWER_PERMS, username="requester", is_superuser=True)
    action = _action(requested_by="requester")
    response = client.post(f"/api/v1/actions/{action.action_id}/approve/", {}, format="json")
    assert response.status_code == 403
    assert "cannot approve" in response.json()["detail"]
    assert _row(action)["status"] == ActionStatus.PENDING


def test_requester_may_withdraw_their_own_action(api_client_for):
    client = api_client_for(perms=REVIEWER_PERMS, username="requester")
    action = _action(requested_by="requester")
    response = client.post(f"/api/v1/actions/{action.action_id}/reject/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


def test_propose_generates_an_id_and_records_the_requester(api_client_for):
    client = api_client_for(perms=["alerting.add_agentaction"], username="agent")
    response = client.post("/api/v1/actions/", {
        "action_type": "retrain_model", "description": "drift on v1",
        "parameters": {"model_version": "v1"}, "risk_level": "high",
    }, format="json")
    assert response.status_code == 201, response.content
    document = response.json()
    assert document["action_id"].startswith("action_")
    assert (document["status"], document["requested_by"]) == ("pending", "agent")


def test_action_not_requiring_approval_starts_approved(api_client_for):
    client = api_client_for(perms=["alerting.add_agentaction"])
    response = client.post("/api/v1/actions/", {
        "action_id": "act-1", "action_type": "adjust_threshold", "requires_approval": False,
    }, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "approved"
    duplicate = client.post("/api/v1/actions/", {
        "action_id": "act-1", "action_type": "other"}, format="json")
    assert duplicate.status_code == 409
    assert "action_id" in duplicate.json()


def test_list_filters_by_status(api_client_for):
    _action(ActionStatus.PENDING)
    _action(ActionStatus.REJECTED)
    client = api_client_for()
    response = client.get("/api/v1/actions/?status=pending")
    assert response.status_code == 200
    assert [a["status"] for a in response.json()["results"]] == ["pending"]


def test_unknown_action_is_404(api_client_for):
    client = api_client_for(perms=REVIEWER_PERMS)
    assert client.post("/api/v1/actions/nope/approve/", {}).status_code == 404
    assert client.get("/api/v1/actions/nope/").status_code == 404


def test_anonymous_gets_401(anonymous_client):
    action = _action()
    assert anonymous_client.get("/api/v1/actions/").status_code == 401
    assert anonymous_client.post(f"/api/v1/actions/{action.action_id}/approve/").status_code == 401


@pytest.mark.parametrize("transition,missing", [
    ("approve", "alerting.review_agentaction"),
    ("reject", "alerting.review_agentaction"),
    ("executed", "alerting.change_agentaction"),
    ("failed", "alerting.change_agentaction"),
])
def test_transitions_need_their_permission(api_client_for, transition, missing):
    others = [p for p in [*REVIEWER_PERMS, "alerting.add_agentaction"] if p != missing]
    client = api_client_for(perms=others)
    action = _action(ActionStatus.PENDING if transition in ("approve", "reject")
                     else ActionStatus.APPROVED)
    before = _row(action)
    response = client.post(f"/api/v1/actions/{action.action_id}/{transition}/", {},
                           format="json")
    assert response.status_code == 403
    assert _row(action) == before


def test_proposing_needs_the_add_permission(api_client_for):
    client = api_client_for(perms=["alerting.review_agentaction"])
    response = client.post("/api/v1/actions/", {"action_type": "other"}, format="json")
    assert response.status_code == 403
    assert AgentAction.objects.count() == 0


def test_service_refuses_self_approval_whatever_the_permissions():
    action = _action(requested_by="root")
    with pytest.raises(actions.SelfApprovalRefused):
        actions.approve(action.action_id, by="root")
    assert _row(action)["status"] == "pending"
