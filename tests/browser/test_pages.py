"""The pages and the admin in a real browser: acknowledge, resolve, edit rules, charts.

Each test writes screenshots under its tmp folder (page.screenshot_dir); the ``page``
fixture fails the test if any request leaves 127.0.0.1.
"""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerting.choices import AlertStatus
from alerting.models import Alert, AlertRule, Delivery
from predictions.models import HealthSnapshot, Prediction
from tests.conftest import log_in, store_predictions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGE_ALERT = ["alerting.change_alert", "alerting.view_alert"]


def make_alert(**overrides):
    values = {
        "severity": "warning",
        "title": "PERFORMANCE: accuracy Alert",
        "message": "accuracy is 0.6500 (< 0.7000)",
        "metric_name": "accuracy",
        "metric_value": 0.65,
        "threshold": 0.7,
        "component": "performance",
        "model_version": "v1",
    }
    values.update(overrides)
    return Alert.objects.create(**values)


def make_rule(**overrides):
    values = {
        "rule_id": "low-accuracy",
        "name": "Low accuracy",
        "metric_name": "accuracy",
        "threshold": 0.7,
        "comparison": "<",
        "severity": "warning",
        "channels": ["console"],
        "conditions": {"min_samples": 30},
    }
    values.update(overrides)
    rule = AlertRule(**values)
    rule.full_clean()
    rule.save()
    return rule


def seed_model(version="v1"):
    """Labelled predictions over the last day and a few snapshots for the charts."""
    now = timezone.now()
    rows = []
    for i in range(60):
        confidence = 0.5 + (i % 10) / 20
        predicted = 1 if i % 3 else 0
        actual = predicted if i % 4 else 1 - predicted
        rows.append(Prediction(
            prediction_id=f"{version}-{i}", model_version=version,
            timestamp=now - timedelta(minutes=5 + i * 10), predicted_outcome=predicted,
            confidence=confidence, actual_outcome=actual,
        ))
    store_predictions(rows)
    for hours in range(12, 0, -1):
        accuracy = 0.9 - 0.01 * (12 - hours)
        HealthSnapshot.objects.create(
            model_version=version, timestamp=now - timedelta(hours=hours), accuracy=accuracy,
            f1_score=accuracy - 0.04, expected_calibration_error=0.05 + 0.005 * (12 - hours),
            num_predictions=100, num_with_outcome=80,
        )


def test_acknowledge_an_alert_from_the_list_with_a_note(page, make_user):
    make_user("ann", perms=CHANGE_ALERT)
    alert = make_alert()
    other = make_alert(severity="critical", title="DRIFT: drift_score Alert", component="drift")
    log_in(page, "ann")
    page.goto("/alerts/")
    page.screenshot(path=page.screenshot_dir / "alert_list.png", full_page=True)
    row = page.locator(f'tr[id="alert-{alert.alert_id}"]')
    row.get_by_label(f"Acknowledgment note for {alert.alert_id}").fill("looking at the feed")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messages")).to_contain_text(f"Alert {alert.alert_id} acknowledged.")
    assert page.url.endswith("/alerts/")
    page.screenshot(path=page.screenshot_dir / "alert_list_after_ack.png", full_page=True)

    alert.refresh_from_db()
    assert alert.acknowledged and alert.acknowledged_by == "ann"
    assert alert.acknowledgment_note == "looking at the feed"
    assert alert.status == AlertStatus.ACKNOWLEDGED
    other.refresh_from_db()
    assert not other.acknowledged
    # The acknowledged alert no longer offers Acknowledge, still offers Resolve.
    row = page.locator(f'tr[id="alert-{alert.alert_id}"]')
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(row.get_by_role("button", name="Resolve")).to_have_count(1)


def test_resolve_an_alert_and_see_its_history(page, make_user):
    make_user("ann", perms=CHANGE_ALERT)
    alert = make_alert()
    Delivery.objects.create(alert=alert, channel="slack", status="failed", attempts=2,
                            last_error="HTTP 503 from Slack")
    log_in(page, "ann")
    page.goto("/alerts/?status=unresolved")
    row = page.locator(f'tr[id="alert-{alert.alert_id}"]')
    row.get_by_label(f"Resolution note for {alert.alert_id}").fill("feed restored")
    row.get_by_role("button", name="Resolve").click()
    expect(page.locator(".messages")).to_contain_text(f"Alert {alert.alert_id} resolved.")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == "ann"
    assert alert.resolution_note == "feed restored"

    page.goto(f"/alerts/{alert.alert_id}/")
    history = page.locator("ol.timeline")
    expect(history).to_contain_text("Resolved by ann")
    expect(history).to_contain_text("feed restored")
    expect(page.locator("table")).to_contain_text("HTTP 503 from Slack")
    page.screenshot(path=page.screenshot_dir / "alert_detail.png", full_page=True)


def test_edit_a_rule_threshold_in_the_admin(page, make_user):
    make_user("root", is_staff=True, is_superuser=True)
    rule = make_rule()
    log_in(page, "root")
    page.goto(f"/admin/alerting/alertrule/{rule.pk}/change/")
    expect(page.locator("#id_min_samples")).to_have_value("30")
    expect(page.locator('input[name="channels"][value="console"]')).to_be_checked()
    page.screenshot(path=page.screenshot_dir / "admin_rule.png", full_page=True)
    page.fill("#id_threshold", "0.75")
    page.locator('input[name="channels"][value="email"]').check()
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rule.refresh_from_db()
    assert rule.threshold == 0.75
    assert rule.channels == ["console", "email"]
    assert rule.conditions == {"min_samples": 30}


def test_an_invalid_rule_shows_the_error_and_saves_nothing(page, make_user):
    make_user("root", is_staff=True, is_superuser=True)
    log_in(page, "root")
    page.goto("/admin/alerting/alertrule/add/")
    page.fill("#id_rule_id", "bad-range")
    page.fill("#id_metric_name", "accuracy")
    page.select_option("#id_comparison", "<")
    page.fill("#id_threshold", "0.7")
    page.fill("#id_min_value", "0.9")
    page.fill("#id_max_value", "0.1")
    page.click("input[name=_save]")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".errorlist").first).to_contain_text(
        "min_value (0.9) must not exceed max_value (0.1)."
    )
    page.screenshot(path=page.screenshot_dir / "admin_rule_error.png", full_page=True)
    assert not AlertRule.objects.exists()


def test_model_page_shows_its_charts(page, make_user):
    make_user("ann")
    seed_model("v1")
    make_alert(model_version="v1")
    log_in(page, "ann")
    page.goto("/")
    expect(page.locator("table")).to_contain_text("v1")
    page.screenshot(path=page.screenshot_dir / "dashboard.png", full_page=True)
    page.get_by_role("link", name="v1", exact=True).click()
    expect(page.locator("h1")).to_have_text("Model version v1")
    # Six series charts (volume+coverage, accuracy, F1, ECE, positive rate, latency p95;
    # no latencies here) and the reliability diagram.
    expect(page.locator("svg.chart")).to_have_count(7)
    expect(page.locator("svg.chart-series polyline.chart-line")).to_have_count(6)
    expect(page.locator("svg.chart-reliability rect.chart-bar").first).to_be_visible()
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 100
    page.screenshot(path=page.screenshot_dir / "model_page.png", full_page=True)


# Say what breaks the layout: the elements whose box ends right of the viewport.
TOO_WIDE = """Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 10).map(e => e.tagName + '.' + (e.getAttribute('class') || '')
                        + ' ' + e.textContent.trim().slice(0, 30))"""


def test_pages_fit_a_phone(browser, live_server, make_user, tmp_path):
    make_user("ann", perms=CHANGE_ALERT)
    seed_model("v1")
    make_alert()
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    outside = []
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(live_server.url)
                  else (outside.append(route.request.url), route.abort()))
    phone = context.new_page()
    try:
        log_in(phone, "ann")
        for path, name in [("/", "phone_dashboard"), ("/models/v1/", "phone_model"),
                           ("/alerts/", "phone_alerts")]:
            phone.goto(path)
            # The page itself does not scroll sideways (wide tables scroll in their box).
            phone.screenshot(path=tmp_path / f"{name}.png", full_page=True)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390 + 1, (path, width, phone.evaluate(TOO_WIDE))
    finally:
        context.close()
    assert outside == []
