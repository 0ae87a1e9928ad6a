"""The admin's §10 parts: rule fields with the shared validation, states, fires per week,
the preview chart of the rule form, silences."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.models import Alert, AlertRule, Silence
from alerting.rules import evaluate
from predictions.models import Prediction
from tests.alerting.test_admin import admin_client_for, rule_form_data  # noqa: F401

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/alerting/alertrule/add/"
PREVIEW_URL = "/admin/alerting/alertrule/preview/"


def test_rule_form_stores_the_new_fields(admin_client_for):  # noqa: F811
    response = admin_client_for.post(ADD_URL, rule_form_data(
        pending_evaluations="3", recovery_threshold="0.85", repeat_interval_minutes="60",
        window_minutes="1440"))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get()
    assert (rule.pending_evaluations, rule.recovery_threshold, rule.repeat_interval_minutes,
            rule.window_minutes) == (3, 0.85, 60, 1440)


def test_rule_form_refuses_a_recovery_threshold_on_the_wrong_side(admin_client_for):  # noqa: F811
    response = admin_client_for.post(ADD_URL, rule_form_data(recovery_threshold="0.5"))
    assert response.status_code == 200
    assert "recovery_threshold" in response.context["adminform"].form.errors
    assert not AlertRule.objects.exists()


def test_rule_page_shows_states_and_the_list_fires_per_week(admin_client_for, make_rule):  # noqa: F811
    rule = make_rule(rule_id="noisy", cooldown_minutes=0)
    now = timezone.now()
    for days_ago in (20, 10, 3, 1):
        evaluate(rule, 0.5, "v1", now=now - timedelta(days=days_ago))
        evaluate(rule, 0.9, "v1", now=now - timedelta(days=days_ago) + timedelta(minutes=1))
    page = admin_client_for.get(f"/admin/alerting/alertrule/{rule.pk}/change/").content.decode()
    assert 'id="rule-states"' in page and "<td>v1</td><td>ok</td>" in page
    assert 'id="rule-preview-button"' in page
    listing = admin_client_for.get("/admin/alerting/alertrule/").content.decode()
    assert '<td class="field-fires_per_week">1</td>' in listing


def test_admin_preview_draws_the_rule_over_the_history(admin_client_for):  # noqa: F811
    now = timezone.now()
    for i in range(20):
        Prediction.objects.create(
            prediction_id=f"p{i}", model_version="v1", predicted_outcome=1, confidence=0.8,
            timestamp=now - timedelta(hours=3, minutes=i), actual_outcome=i % 2,
        )
    response = admin_client_for.post(PREVIEW_URL, {**rule_form_data(min_samples=""), "days": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rule-preview-count"' in html
    assert "<svg" in html
    assert "1 incident" in html
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize("overrides, field", [
    ({"recovery_threshold": "0.1"}, "recovery_threshold"), ({"days": "0"}, "days"),
])
def test_admin_preview_names_what_is_wrong(admin_client_for, overrides, field):  # noqa: F811
    response = admin_client_for.post(PREVIEW_URL, {**rule_form_data(), "days": "7", **overrides})
    assert response.status_code == 400
    assert f"<strong>{field}</strong>" in response.content.decode()


def test_admin_expires_silences_and_marks_what_a_new_one_matches(admin_client_for, make_alert):  # noqa: F811
    alert = make_alert(model_version="v5")
    response = admin_client_for.post("/admin/alerting/silence/add/", {
        "model_version": "v5", "severity": "", "component": "", "reason": "maintenance",
        "starts_at_0": (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%d"),
        "starts_at_1": (timezone.now() - timedelta(minutes=1)).strftime("%H:%M:%S"),
        "ends_at_0": (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%d"),
        "ends_at_1": (timezone.now() + timedelta(hours=1)).strftime("%H:%M:%S"),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    alert.refresh_from_db()
    assert alert.silenced
    silence = Silence.objects.get()
    admin_client_for.post("/admin/alerting/silence/", {
        "action": "expire_selected", "_selected_action": [silence.pk]})
    silence.refresh_from_db()
    assert silence.expired_at is not None
    assert not Alert.objects.get().silenced
