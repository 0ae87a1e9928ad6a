"""One page per model version, the two-step high-risk approval, the alert list's version
select and the one date format (issue 17)."""
import re

import pytest
from django.utils import timezone

from alerting.models import AgentAction, Alert
from predictions.models import HealthSnapshot
from predictions.registry import promote, record_decision, register_version

pytestmark = pytest.mark.django_db

REVIEW = "alerting.review_agentaction"


@pytest.fixture
def version(make_prediction):
    """fraud-2.3.0 in production with training figures, traffic, an alert, two actions."""
    register_version({"version": "fraud-2.3.0", "model_name": "fraud", "accuracy": 0.912,
                      "roc_auc": 0.951}, by="mlops")
    promote("fraud-2.3.0", "production", by="ana", note="first release")
    record_decision({"model_version": "fraud-2.3.0", "trigger_reason": "manual",
                     "action": "promote"}, by="pipeline")
    for i in range(4):
        make_prediction(model_version="fraud-2.3.0", predicted_outcome=1,
                        actual_outcome=int(i < 3))
    HealthSnapshot.objects.create(model_version="fraud-2.3.0", timestamp=timezone.now(),
                                  accuracy=0.75, num_predictions=4)
    alert = Alert.objects.create(severity="critical", title="Accuracy fell", message="m",
                                 model_version="fraud-2.3.0", metric_name="accuracy")
    Alert.objects.create(severity="warning", title="Old and resolved", message="m",
                         model_version="fraud-2.3.0", status="resolved")
    AgentAction.objects.create(action_type="rollback_model", risk_level="high",
                               requested_by="agent", alert=alert,
                               description="Roll back to 2.2", parameters={"days": 30})
    AgentAction.objects.create(action_type="retrain_model", requested_by="agent",
                               description="Retrain with fresh labels",
                               parameters={"model_version": "fraud-2.3.0"})
    AgentAction.objects.create(action_type="other", requested_by="agent",
                               description="Someone else's", parameters={"model_version": "x"})
    return "fraud-2.3.0"


def test_registry_url_and_model_url_show_the_same_version_page(client_for, version):
    client = client_for()
    model_page = client.get("/models/fraud-2.3.0/?range=7d")
    via_registry = client.get("/registry/fraud-2.3.0/?range=7d", follow=True)
    assert via_registry.redirect_chain == [("/models/fraud-2.3.0/?range=7d", 302)]
    assert via_registry.templates[0].name == model_page.templates[0].name == (
        "dashboard/model_detail.html")
    h1 = re.compile(r"<h1>.*?</h1>", re.S)
    assert h1.search(via_registry.content.decode()).group() == h1.search(
        model_page.content.decode()).group()
    assert via_registry.context["range_key"] == model_page.context["range_key"] == "7d"


def test_version_page_shows_everything_about_the_version(client_for, version):
    response = client_for().get("/models/fraud-2.3.0/")
    page = response.content.decode()
    assert '<span class="badge resolved">production</span>' in page
    training = {row["name"]: row for row in response.context["training_vs_live"]}
    assert training["Accuracy"]["training"] == 0.912
    assert training["Accuracy"]["live"] == pytest.approx(0.75)
    assert training["ROC AUC"]["training"] == 0.951
    assert "first release" in page and "Retraining decision: <strong>promote</strong>" in page
    assert 'id="drift-heading"' in page and "No drift report yet" in page
    # Open alerts only; the resolved one is behind the "all alerts" link.
    assert "Accuracy fell" in page and "Old and resolved" not in page
    # Actions answering its alerts or naming it; not another version's.
    assert "Roll back to 2.2" in page and "Retrain with fresh labels" in page
    assert "Someone else" not in page
    assert "<dt>days</dt><dd><code>30</code></dd>" in page


def test_unknown_version_is_404_on_both_urls(client_for):
    client = client_for()
    assert client.get("/models/nope/").status_code == 404
    assert client.get("/registry/nope/", follow=True).status_code == 404


def _action(risk, requested_by="agent"):
    return AgentAction.objects.create(action_type="rollback_model", risk_level=risk,
                                      requested_by=requested_by, description="roll back",
                                      parameters={"target_version": "2.2", "days": 30})


def test_high_risk_approval_asks_for_confirmation_then_needs_a_comment(client_for):
    action = _action("high")
    client = client_for("rita", perms=[REVIEW])
    url = f"/actions/{action.action_id}/review/"
    first = client.post(url, {"decision": "approve", "comment": "draft"})
    assert first.status_code == 200
    page = first.content.decode()
    assert 'name="confirm" value="yes"' in page and ">draft</textarea>" in page
    action.refresh_from_db()
    assert (action.status, action.reviewed_by) == ("pending", "")

    empty = client.post(url, {"decision": "approve", "confirm": "yes", "comment": "  "})
    assert empty.status_code == 400 and "comment:" in empty.content.decode()
    action.refresh_from_db()
    assert action.status == "pending"

    done = client.post(url, {"decision": "approve", "confirm": "yes", "comment": "checked"},
                       follow=True)
    assert f"{action.action_id} approved by rita" in done.content.decode()
    action.refresh_from_db()
    assert (action.status, action.reviewed_by, action.review_comment) == (
        "approved", "rita", "checked")
    reviewed_at = action.reviewed_at
    again = client.post(url, {"decision": "approve", "confirm": "yes", "comment": "x"},
                        follow=True)
    assert "it is approved, not pending" in again.content.decode()
    action.refresh_from_db()
    assert (action.reviewed_at, action.review_comment) == (reviewed_at, "checked")


@pytest.mark.parametrize("risk", ["low", "medium"])
def test_low_and_medium_risk_are_approved_in_one_step(client_for, risk):
    action = _action(risk)
    client_for("rita", perms=[REVIEW]).post(f"/actions/{action.action_id}/review/",
                                            {"decision": "approve"})
    action.refresh_from_db()
    assert (action.status, action.reviewed_by) == ("approved", "rita")


def test_high_risk_reject_is_one_step(client_for):
    action = _action("high")
    client_for("rita", perms=[REVIEW]).post(f"/actions/{action.action_id}/review/",
                                            {"decision": "reject"})
    action.refresh_from_db()
    assert action.status == "rejected"


def test_four_eyes_hold_on_both_steps(client_for):
    action = _action("high", requested_by="rita")
    client = client_for("rita", perms=[REVIEW], is_superuser=True)
    url = f"/actions/{action.action_id}/review/"
    for data in ({"decision": "approve"},
                 {"decision": "approve", "confirm": "yes", "comment": "mine"}):
        response = client.post(url, data, follow=True)
        assert "another reviewer must approve it" in response.content.decode()
        action.refresh_from_db()
        assert (action.status, action.reviewed_by) == ("pending", "")


def test_the_api_approves_a_high_risk_action_in_one_call(api_client_for):
    action = _action("high")
    client = api_client_for(perms=[REVIEW])
    response = client.post(f"/api/v1/actions/{action.action_id}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert action.status == "approved"


def test_queue_shows_parameters_as_pairs_and_the_id_small(client_for):
    action = _action("high")
    page = client_for().get("/actions/").content.decode()
    assert "<dt>target_version</dt><dd><code>2.2</code></dd>" in page
    assert "{&#x27;" not in page and "{'" not in page
    assert f'id <code>{action.action_id}</code>' in page
    assert 'class="badge critical">High risk' in page


def test_alert_list_offers_the_known_versions(client_for):
    for version in ("fraud-2.3.1", "fraud-2.3.0", ""):
        Alert.objects.create(severity="info", title=f"t{version}", message="m",
                             model_version=version)
    client = client_for()
    page = client.get("/alerts/").content.decode()
    select = re.search(r'<select name="model_version".*?</select>', page, re.S).group()
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "fraud-2.3.0", "fraud-2.3.1"]
    chosen = client.get("/alerts/?model_version=fraud-2.3.1")
    assert [a.model_version for a in chosen.context["alerts"]] == ["fraud-2.3.1"]
    # A link naming a version without alerts keeps it selected and finds nothing.
    other = client.get("/alerts/?model_version=v9")
    assert '<option value="v9" selected>v9</option>' in other.content.decode()
    assert list(other.context["alerts"]) == []


def test_admin_writes_times_as_the_pages_do(client_for):
    alert = Alert.objects.create(severity="info", title="t", message="m", model_version="v1")
    Alert.objects.filter(pk=alert.pk).update(
        timestamp=timezone.now().replace(year=2026, month=12, day=1, hour=21, minute=14))
    client = client_for("admin", is_staff=True, is_superuser=True)
    page = client.get("/admin/alerting/alert/").content.decode()
    assert "2026-12-01 21:14 UTC" in page
    assert "p.m." not in page and "a.m." not in page
    detail = client.get(f"/admin/alerting/alert/{alert.pk}/change/").content.decode()
    assert "p.m." not in detail and "2026-12-01 21:14 UTC" in detail


def test_three_pages_refresh_themselves_and_only_they(client_for, version, settings):
    client = client_for()
    script = '<script src="/static/js/refresh.js" defer></script>'
    for path in ("/", "/models/fraud-2.3.0/", "/alerts/"):
        page = client.get(path).content.decode()
        assert '<main id="content" data-refresh="60">' in page and script in page, path
    for path in ("/actions/", "/registry/", "/silences/"):
        page = client.get(path).content.decode()
        assert "data-refresh" not in page and script not in page, path
    settings.MONITORING_PAGE_REFRESH_SECONDS = 0
    assert script not in client.get("/").content.decode()
