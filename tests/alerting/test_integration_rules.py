"""Rules with the §11 channels: the validation the admin and the API share accepts the
new channel names and condition keys, and refuses what cannot be delivered."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from alerting.models import AlertRule

pytestmark = pytest.mark.django_db

RULE = {
    "rule_id": "paging-rule", "metric_name": "accuracy", "threshold": 0.8, "comparison": "<",
    "severity": "critical",
}


@pytest.fixture
def rule_editor(api_client_for):
    return api_client_for(perms=["alerting.add_alertrule", "alerting.change_alertrule"])


def create(client, **fields):
    return client.post("/api/v1/alert-rules/", {**RULE, **fields}, format="json")


def test_the_api_accepts_every_new_channel_and_condition(rule_editor, settings):
    settings.ALERTMANAGER_URL = "http://alertmanager.example.org:9093"
    response = create(rule_editor, channels=["alertmanager", "pagerduty", "webhook"],
                      conditions={"pagerduty_routing_key": "R0UT1NG",
                                  "webhook_url": "https://hooks.example.org/x",
                                  "webhook_secret": "s3cret-s3cret"})
    assert response.status_code == 201, response.content
    rule = AlertRule.objects.get(rule_id="paging-rule")
    assert rule.channels == ["alertmanager", "pagerduty", "webhook"]
    assert rule.conditions["webhook_secret"] == "s3cret-s3cret"


def test_pagerduty_needs_a_routing_key_somewhere(rule_editor, settings):
    settings.PAGERDUTY_ROUTING_KEY = ""
    response = create(rule_editor, channels=["pagerduty"])
    assert response.status_code == 400
    assert "pagerduty_routing_key is required" in str(response.json())
    assert not AlertRule.objects.exists()
    settings.PAGERDUTY_ROUTING_KEY = "SITEWIDE"
    assert create(rule_editor, channels=["pagerduty"]).status_code == 201


def test_alertmanager_needs_its_url(rule_editor, settings):
    settings.ALERTMANAGER_URL = ""
    response = create(rule_editor, channels=["alertmanager"])
    assert response.status_code == 400
    assert "ALERTMANAGER_URL" in str(response.json()["channels"])


@pytest.mark.parametrize("conditions", [
    {"webhook_secret": ""}, {"webhook_secret": 12345}, {"webhook_secret": "x" * 201},
    {"pagerduty_routing_key": "  "}, {"pagerduty_routing_key": ["a"]},
])
def test_bad_secrets_and_keys_are_refused_naming_them(rule_editor, conditions):
    response = create(rule_editor, conditions=conditions)
    assert response.status_code == 400
    # Named in the conditions' message, or as conditions.<key> when the type is wrong.
    assert next(iter(conditions)) in str(response.json())
    assert all(field.startswith("conditions") for field in response.json())


def test_the_admin_form_stores_the_secret_and_the_routing_key(settings):
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    settings.ALERTMANAGER_URL = "http://alertmanager.example.org:9093"
    data = {
        "rule_id": "admin-paging", "name": "", "description": "", "metric_name": "accuracy",
        "comparison": "<", "threshold": "0.8", "severity": "critical",
        "component": "performance", "model_version": "", "enabled": "on",
        "cooldown_minutes": "30", "channels": ["alertmanager", "pagerduty", "webhook"],
        "webhook_url": "https://hooks.example.org/x", "webhook_secret": "s3cret",
        "pagerduty_routing_key": "R0UT1NG",
    }
    response = client.post("/admin/alerting/alertrule/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AlertRule.objects.get(rule_id="admin-paging")
    assert rule.conditions == {"webhook_url": "https://hooks.example.org/x",
                               "webhook_secret": "s3cret", "pagerduty_routing_key": "R0UT1NG"}
    page = client.get(f"/admin/alerting/alertrule/{rule.pk}/change/").content.decode()
    assert 'value="R0UT1NG"' in page


def test_the_admin_form_names_a_missing_routing_key(settings):
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    settings.PAGERDUTY_ROUTING_KEY = ""
    data = {
        "rule_id": "admin-paging", "metric_name": "accuracy", "comparison": "<",
        "threshold": "0.8", "severity": "critical", "component": "performance",
        "enabled": "on", "cooldown_minutes": "30", "channels": ["pagerduty"],
    }
    response = client.post("/admin/alerting/alertrule/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "pagerduty_routing_key is required" in errors["pagerduty_routing_key"][0]


def test_the_api_never_shows_a_secret_and_a_round_trip_keeps_it(rule_editor, settings):
    settings.PAGERDUTY_ROUTING_KEY = ""
    secret = {"pagerduty_routing_key": "R0UT1NG-REAL", "webhook_secret": "s3cret-s3cret",
              "webhook_url": "https://hooks.example.org/x"}
    created = create(rule_editor, channels=["pagerduty", "webhook"], conditions=secret)
    assert created.status_code == 201, created.content
    shown = rule_editor.get("/api/v1/alert-rules/paging-rule/").json()
    assert shown["conditions"] == {"pagerduty_routing_key": "********",
                                   "webhook_secret": "********",
                                   "webhook_url": "https://hooks.example.org/x"}
    assert "R0UT1NG-REAL" not in str(rule_editor.get("/api/v1/alert-rules/").json())
    # GET, change the threshold, PUT back: the secrets are kept, not replaced by the mask.
    body = {k: v for k, v in shown.items()
            if k not in ("last_triggered", "created_at", "updated_at", "states")}
    body["threshold"] = 0.75
    for key in ("recovery_threshold", "repeat_interval_minutes", "window_minutes"):
        if body.get(key) is None:
            body.pop(key, None)
    updated = rule_editor.put("/api/v1/alert-rules/paging-rule/", body, format="json")
    assert updated.status_code == 200, updated.content
    rule = AlertRule.objects.get(rule_id="paging-rule")
    assert rule.threshold == 0.75
    assert rule.conditions == secret


def test_the_mask_is_not_a_secret_on_create(rule_editor):
    response = create(rule_editor, channels=["webhook"],
                      conditions={"webhook_url": "https://hooks.example.org/x",
                                  "webhook_secret": "********"})
    assert response.status_code == 400
    assert "send the secret itself" in str(response.json()["conditions"])


def test_conditions_refused_by_the_stored_channel_are_a_conflict(rule_editor, settings):
    """A PATCH whose conditions hold together alone, refused because the stored rule pages
    PagerDuty without a key: 409 naming the field, nothing changed."""
    settings.PAGERDUTY_ROUTING_KEY = ""
    assert create(rule_editor, channels=["pagerduty"],
                  conditions={"pagerduty_routing_key": "R0UT1NG"}).status_code == 201
    response = rule_editor.patch("/api/v1/alert-rules/paging-rule/",
                                 {"conditions": {"min_samples": 5}}, format="json")
    assert response.status_code == 409, response.content
    assert "pagerduty_routing_key is required" in str(response.json()["conditions"])
    assert AlertRule.objects.get().conditions == {"pagerduty_routing_key": "R0UT1NG"}
    # The same conditions with the key are fine.
    response = rule_editor.patch("/api/v1/alert-rules/paging-rule/", {"conditions": {
        "min_samples": 5, "pagerduty_routing_key": "R0UT1NG"}}, format="json")
    assert response.status_code == 200, response.content
