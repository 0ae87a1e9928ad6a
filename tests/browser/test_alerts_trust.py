"""§10 in a real browser: silence an alert for 1 h from its page, see it marked, expire
the silence from the silences page; the admin rule form draws a preview chart."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerting.models import Alert, AlertRule, Silence
from predictions.models import Prediction
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SILENCE = ["alerting.view_alert", "alerting.change_alert", "alerting.add_silence",
           "alerting.change_silence"]


def test_silence_an_alert_for_an_hour_then_expire_it(page, make_user):
    make_user("sam", perms=SILENCE)
    rule = AlertRule.objects.create(rule_id="low-accuracy", metric_name="accuracy",
                                    threshold=0.7, comparison="<", channels=["console"])
    alert = Alert.objects.create(
        severity="warning", title="PERFORMANCE: accuracy Alert", rule=rule,
        message="accuracy is 0.6500 (< 0.7000)", metric_name="accuracy", metric_value=0.65,
        threshold=0.7, component="performance", model_version="v1",
        summary="[v1] accuracy 0.6500 < 0.7000 over 1 h (40 labelled)",
    )
    log_in(page, "sam")
    page.goto(f"/alerts/{alert.alert_id}/")
    expect(page.locator("h1")).to_have_text("[v1] accuracy 0.6500 < 0.7000 over 1 h (40 labelled)")
    expect(page.locator("#silenced-badge")).to_have_count(0)
    page.get_by_role("button", name="Silence 1 h").click()
    expect(page.locator(".messages")).to_contain_text(f"Alert {alert.alert_id} silenced until")
    expect(page.locator("#silenced-badge")).to_be_visible()
    expect(page.locator("#active-silences")).to_contain_text("Silenced until")
    page.screenshot(path=page.screenshot_dir / "alert_silenced.png", full_page=True)
    silence = Silence.objects.get()
    assert silence.rule == rule and silence.created_by == "sam"
    assert timedelta(minutes=59) < silence.ends_at - timezone.now() <= timedelta(minutes=60)

    page.get_by_role("link", name="Silences").first.click()
    row = page.locator(f'#active-silences tr[id="silence-{silence.pk}"]')
    expect(row).to_contain_text("low-accuracy")
    row.get_by_role("button", name="Expire").click()
    expect(page.locator(".messages")).to_contain_text(f"Silence {silence.pk} expired.")
    expect(page.locator(f'#inactive-silences tr[id="silence-{silence.pk}"]')).to_be_visible()
    page.screenshot(path=page.screenshot_dir / "silence_expired.png", full_page=True)
    silence.refresh_from_db()
    assert silence.expired_at is not None and silence.expired_by == "sam"
    alert.refresh_from_db()
    assert not alert.silenced

    page.goto(f"/alerts/{alert.alert_id}/")
    expect(page.locator("#silenced-badge")).to_have_count(0)
    expect(page.locator("#monitor-heartbeat")).to_contain_text("monitor")


def test_admin_rule_form_shows_a_preview_chart(page, make_user):
    make_user("root", is_staff=True, is_superuser=True)
    now = timezone.now()
    for i in range(30):
        Prediction.objects.create(
            prediction_id=f"p{i}", model_version="v1", predicted_outcome=1, confidence=0.8,
            timestamp=now - timedelta(hours=5, minutes=i), actual_outcome=1 if i % 3 else 0,
        )
    log_in(page, "root")
    page.goto("/admin/alerting/alertrule/add/")
    page.fill("#id_rule_id", "preview-me")
    page.fill("#id_metric_name", "accuracy")
    page.select_option("#id_comparison", "<")
    page.fill("#id_threshold", "0.8")
    page.fill("#rule-preview-days", "2")
    page.click("#rule-preview-button")
    expect(page.locator("#rule-preview-count")).to_contain_text("1 incident")
    expect(page.locator("#rule-preview-output svg")).to_have_count(1)
    page.screenshot(path=page.screenshot_dir / "admin_rule_preview.png", full_page=True)
    assert not AlertRule.objects.exists()  # previewing saves nothing
