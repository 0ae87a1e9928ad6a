"""The alert-rules API: CRUD with the model's validation, and evaluate."""
import pytest

from alerting.models import Alert, AlertRule

pytestmark = pytest.mark.django_db

URL = "/api/v1/alert-rules/"
RULE_PERMS = ["alerting.add_alertrule", "alerting.change_alertrule", "alerting.delete_alertrule"]


@pytest.fixture
def editor(api_client_for):
    return api_client_for(perms=RULE_PERMS)


def good_rule(**overrides):
    document = {
        "rule_id": "low-accuracy",
        "metric_name": "accuracy",
        "threshold": 0.7,
        "comparison": "<",
        "severity": "critical",
        "component": "performance",
        "cooldown_minutes": 30,
        "channels": ["console", "file"],
        "conditions": {"min_samples": 30},
    }
    document.update(overrides)
    return document


def test_create_rule(editor):
    response = editor.post(URL, good_rule(), format="json")
    assert response.status_code == 201, response.json()
    rule = AlertRule.objects.get(rule_id="low-accuracy")
    assert rule.channels == ["console", "file"]
    assert rule.conditions == {"min_samples": 30}
    assert response.json()["last_triggered"] is None


def test_create_rule_without_permission_is_403(api_client_for):
    assert api_client_for().post(URL, good_rule(), format="json").status_code == 403
    assert not AlertRule.objects.exists()


def test_list_rules_anonymous_is_401(anonymous_client):
    assert anonymous_client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"metric_name": "acuracy"}, "metric_name"),
        ({"comparison": "=>"}, "comparison"),
        ({"severity": "panic"}, "severity"),
        ({"threshold": "high"}, "threshold"),
        ({"cooldown_minutes": -5}, "cooldown_minutes"),
        ({"channels": ["pager"]}, "channels"),
        ({"channels": ["console", "console"]}, "channels"),
        ({"conditions": {"min_value": 0.9, "max_value": 0.1}}, "conditions"),
        ({"conditions": {"min_samples": -1}}, "conditions"),
        ({"conditions": {"colour": "red"}}, "conditions"),
        ({"conditions": []}, "conditions"),
        ({"channels": ["webhook"], "conditions": {}}, "conditions"),
        ({"rule_id": "not a slug!"}, "rule_id"),
    ],
)
def test_create_invalid_rule_is_400_naming_the_field(editor, overrides, field):
    response = editor.post(URL, good_rule(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not AlertRule.objects.exists()


def test_min_above_max_message_names_both(editor):
    response = editor.post(URL, good_rule(conditions={"min_value": 2, "max_value": 1}),
                           format="json")
    message = " ".join(response.json()["conditions"])
    assert "min_value" in message and "max_value" in message


def test_duplicate_rule_id_is_409(editor, make_rule):
    make_rule(rule_id="low-accuracy")
    response = editor.post(URL, good_rule(), format="json")
    assert response.status_code == 409
    assert "rule_id" in response.json()


def test_get_and_update_rule_by_rule_id(editor, make_rule):
    make_rule(rule_id="low-accuracy")
    assert editor.get(f"{URL}low-accuracy/").json()["rule_id"] == "low-accuracy"
    response = editor.patch(f"{URL}low-accuracy/", {"threshold": 0.6, "enabled": False},
                            format="json")
    assert response.status_code == 200
    rule = AlertRule.objects.get(rule_id="low-accuracy")
    assert rule.threshold == 0.6 and rule.enabled is False


def test_partial_update_is_validated_with_the_stored_fields(editor, make_rule):
    make_rule(rule_id="low-accuracy", conditions={"max_value": 0.5})
    response = editor.patch(f"{URL}low-accuracy/", {"conditions": {"min_value": 0.8,
                                                                    "max_value": 0.5}},
                            format="json")
    assert response.status_code == 400
    # Refused for the stored conditions (no webhook_url), not for what was sent: a conflict.
    response = editor.patch(f"{URL}low-accuracy/", {"channels": ["webhook"]}, format="json")
    assert response.status_code == 409 and "conditions" in response.json()


def test_delete_rule_keeps_its_alerts(editor, make_rule):
    from alerting.rules import evaluate_rule

    rule = make_rule(rule_id="low-accuracy")
    alert = evaluate_rule(rule, 0.5, "v1")
    assert editor.delete(f"{URL}low-accuracy/").status_code == 204
    assert Alert.objects.get(pk=alert.pk).rule is None


def test_list_rules_filter_enabled(api_client_for, make_rule):
    make_rule(rule_id="on")
    make_rule(rule_id="off", enabled=False)
    body = api_client_for().get(URL, {"enabled": "false"}).json()
    assert [r["rule_id"] for r in body["results"]] == ["off"]


def test_evaluate_fires_and_returns_the_alert(api_client_for, make_rule):
    make_rule(rule_id="low-accuracy", threshold=0.7)
    client = api_client_for(perms=["alerting.add_alert"])
    response = client.post(f"{URL}low-accuracy/evaluate/",
                           {"metric_value": 0.65, "model_version": "v1.2"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "PERFORMANCE: accuracy Alert"
    assert body["message"] == "accuracy is 0.6500 (< 0.7000)"
    assert body["model_version"] == "v1.2"
    assert body["rule"] == "low-accuracy"


def test_evaluate_that_does_not_fire_returns_null(api_client_for, make_rule):
    make_rule(rule_id="low-accuracy")
    client = api_client_for(perms=["alerting.add_alert"])
    for value in (0.9, None):
        response = client.post(f"{URL}low-accuracy/evaluate/",
                               {"metric_value": value, "model_version": "v1"}, format="json")
        assert response.status_code == 200
        assert response.content == b"null"
    # Inside the cooldown too.
    client.post(f"{URL}low-accuracy/evaluate/", {"metric_value": 0.1, "model_version": "v1"},
                format="json")
    again = client.post(f"{URL}low-accuracy/evaluate/",
                        {"metric_value": 0.1, "model_version": "v1"}, format="json")
    assert again.content == b"null"
    assert Alert.objects.count() == 1


def test_evaluate_bad_input_is_400(api_client_for, make_rule):
    make_rule(rule_id="low-accuracy")
    client = api_client_for(perms=["alerting.add_alert"])
    response = client.post(f"{URL}low-accuracy/evaluate/", {"metric_value": "lots"},
                           format="json")
    assert response.status_code == 400
    assert "metric_value" in response.json()
    assert not Alert.objects.exists()


def test_evaluate_needs_permission(api_client_for, make_rule):
    make_rule(rule_id="low-accuracy")
    response = api_client_for().post(f"{URL}low-accuracy/evaluate/",
                                     {"metric_value": 0.1, "model_version": "v1"}, format="json")
    assert response.status_code == 403


def test_evaluate_unknown_rule_is_404(api_client_for):
    client = api_client_for(perms=["alerting.add_alert"])
    response = client.post(f"{URL}nope/evaluate/", {"metric_value": 0.1}, format="json")
    assert response.status_code == 404
