"""Every page with realistic data, at a phone's 390 px and a laptop's 1366 px (issue 17).

Two registered versions with a week of predictions, outcomes, snapshots, a drift report,
alerts of each severity, a silence and proposed actions of each risk. The walk opens every
page the navigation and the dashboard link to, at both widths, and checks that the page
does not scroll sideways and that every form button is on screen. Then: the two-step
approval of a high-risk action (four eyes on both steps), the one-step low-risk approval,
and the self-refresh with its pause. Screenshots land in each test's tmp folder.
"""
import re
from datetime import timedelta
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerting.models import AgentAction, Alert
from alerting.silences import SilenceRequest, create_silence
from predictions.drift import compute_drift_report
from predictions.models import HealthSnapshot, Prediction
from predictions.registry import promote, record_decision, register_version
from tests.browser.test_pages import TOO_WIDE
from tests.conftest import log_in, store_predictions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW = ["alerting.review_agentaction", "alerting.change_alert", "alerting.view_alert",
          "alerting.add_silence", "alerting.change_silence"]
VIEWPORTS = {"phone": (390, 844), "laptop": (1366, 900)}
# Buttons a person can reach: visible, and inside the viewport from left to right.
BUTTONS_OFF_SCREEN = """Array.from(document.querySelectorAll(
    'form button, form input[type=submit], .refresh-control button'))
  .filter(b => b.offsetParent !== null)
  .filter(b => { const r = b.getBoundingClientRect();
                 return r.left < 0 || r.right > window.innerWidth + 1; })
  .map(b => (b.textContent || b.value).trim())"""


def realistic_data():
    """Two versions of one model, a week of traffic, drift, alerts, actions of each risk."""
    now = timezone.now()
    rng = np.random.default_rng(17)
    register_version({"version": "fraud-2.3.0", "model_name": "fraud", "algorithm": "xgboost",
                      "accuracy": 0.91, "precision": 0.88, "recall": 0.84, "f1_score": 0.86,
                      "roc_auc": 0.95, "training_samples": 120000}, by="mlops")
    register_version({"version": "fraud-2.3.1", "model_name": "fraud", "accuracy": 0.92},
                     by="mlops")
    promote("fraud-2.3.0", "production", by="ana", note="replaces fraud-2.2 after review")
    promote("fraud-2.3.1", "staging", by="ana", note="shadow traffic")
    rows = []
    for version, shift in (("fraud-2.3.0", 1.2), ("fraud-2.3.1", 0.0)):
        for i, (amount, age) in enumerate(rng.normal(0, 1, (400, 2))):
            at = now - timedelta(days=9) + timedelta(minutes=25 * i)
            drifted = at > now - timedelta(hours=2)
            predicted = int(amount > 0)
            rows.append(Prediction(
                prediction_id=f"{version}-{i}", model_version=version, timestamp=at,
                predicted_outcome=predicted, confidence=0.55 + abs(amount) / 5 % 0.45,
                actual_outcome=predicted if i % 5 else 1 - predicted, latency_ms=20 + i % 30,
                features={"amount": float(amount) + (shift if drifted else 0.0),
                          "age": float(age), "country": "DE" if i % 3 else "FR"},
            ))
        for i, (amount, age) in enumerate(rng.normal(0, 1, (150, 2))):
            rows.append(Prediction(
                prediction_id=f"{version}-now-{i}", model_version=version,
                timestamp=now - timedelta(minutes=110) + timedelta(seconds=40 * i),
                predicted_outcome=int(amount > 0), confidence=0.6 + (i % 7) / 20,
                actual_outcome=int(amount > 0) if i % 4 else int(amount <= 0), latency_ms=25,
                features={"amount": float(amount) + shift, "age": float(age),
                          "country": "DE" if i % 2 else "FR"},
            ))
    store_predictions(rows, batch_size=500)
    for hours in range(24, 0, -2):
        HealthSnapshot.objects.create(model_version="fraud-2.3.0",
                                      timestamp=now - timedelta(hours=hours), accuracy=0.8,
                                      num_predictions=50, num_with_outcome=40)
    compute_drift_report("fraud-2.3.0", now - timedelta(hours=2), now,
                         now - timedelta(days=9), now - timedelta(days=3))
    record_decision({"model_version": "fraud-2.3.1", "trigger_reason": "drift",
                     "action": "reject"}, by="pipeline")
    alerts = {}
    for severity, metric, version in (("critical", "feature_drift_ratio", "fraud-2.3.0"),
                                      ("warning", "accuracy", "fraud-2.3.0"),
                                      ("info", "label_coverage", "fraud-2.3.1")):
        alerts[severity] = Alert.objects.create(
            severity=severity, title=f"{metric} of {version} out of bounds",
            message=f"{metric} is beyond its threshold for the last hour of traffic",
            metric_name=metric, metric_value=0.61, threshold=0.5, component="performance",
            model_version=version,
        )
    create_silence(SilenceRequest(model_version="fraud-2.3.1", severity="info",
                                  ends_at=now + timedelta(hours=4),
                                  reason="known label delay during the migration"), by="ana")
    actions = {
        "high": AgentAction.objects.create(
            action_type="rollback_model", risk_level="high", requested_by="agent",
            alert=alerts["critical"],
            description="Roll fraud back to 2.2.4: the amount feature drifted after the "
                        "payment provider change",
            parameters={"model_version": "fraud-2.3.0", "target_version": "fraud-2.2.4",
                        "traffic_share": 1.0, "notify": ["oncall", "fraud-team"]}),
        "medium": AgentAction.objects.create(
            action_type="retrain_model", risk_level="medium", requested_by="agent",
            alert=alerts["warning"], description="Retrain on the last 30 days",
            parameters={"model_version": "fraud-2.3.0", "days": 30}),
        "low": AgentAction.objects.create(
            action_type="adjust_threshold", risk_level="low", requested_by="agent",
            description="Lower the label coverage threshold to 0.4 while labels lag",
            parameters={"rule_id": "label-coverage", "threshold": 0.4}),
        "own": AgentAction.objects.create(
            action_type="other", risk_level="high", requested_by="rita",
            description="Pause the fraud scoring shadow traffic"),
    }
    return alerts, actions


def visit(page, path, name, tmp_path, width):
    page.goto(path)
    page.wait_for_load_state()
    page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (path, scroll_width, page.evaluate(TOO_WIDE))
    assert page.evaluate(BUTTONS_OFF_SCREEN) == [], path


def test_every_page_fits_a_phone_and_a_laptop(page, make_user, tmp_path):
    make_user("rita", perms=REVIEW, is_staff=True)
    alerts, _ = realistic_data()
    log_in(page, "rita")
    page.goto("/")
    links = page.eval_on_selector_all(
        "header nav a, #page-body a", "links => links.map(a => a.getAttribute('href'))")
    paths = []
    for href in links:
        path = urlsplit(href).path if href else ""
        if path.startswith("/") and path not in paths:
            paths.append(path)
    # The dashboard links each version, the navigation every list; plus the pages one
    # click further that the issue names (an alert, a drift report, the registry's URL).
    assert {"/", "/alerts/", "/silences/", "/registry/", "/actions/", "/admin/",
            "/models/fraud-2.3.0/", "/models/fraud-2.3.1/"} <= set(paths), paths
    paths += [f"/alerts/{alerts['critical'].alert_id}/", "/registry/fraud-2.3.0/",
              "/admin/alerting/alert/"]
    for viewport, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        for i, path in enumerate(paths):
            name = path.strip("/").replace("/", "_") or "dashboard"
            visit(page, path, f"{viewport}-{i:02d}-{name}", tmp_path, width)
        # The dashboard's heading and its alerts column are on screen or in reach.
        page.goto("/")
        box = page.locator("h1").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        badge = page.locator("#page-body table .badge.open").first
        badge.scroll_into_view_if_needed()
        box = badge.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        # The admin writes times as the pages do.
        page.goto("/admin/alerting/alert/")
        listed = page.locator("#result_list").inner_text()
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", listed), listed


def test_high_risk_approval_takes_a_confirmation_and_four_eyes_hold(page, make_user):
    make_user("rita", perms=REVIEW)
    _, actions = realistic_data()
    high, low, own = actions["high"], actions["low"], actions["own"]
    log_in(page, "rita")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/actions/")
    card = page.locator(f"#action-{high.action_id}")
    text = card.inner_text()
    assert "Rollback Model" in text and "High risk" in text
    assert "feature_drift_ratio of fraud-2.3.0 out of bounds" in text  # the alert it answers
    assert "target_version" in text and "fraud-2.2.4" in text and "{'" not in text
    params = card.locator("dl.params dt").all_text_contents()
    assert params == ["model_version", "notify", "target_version", "traffic_share"]
    # Own high-risk request: no Approve button, and a forged POST is refused.
    assert page.locator(f"#action-{own.action_id} button[value=approve]").count() == 0

    card.locator("button[value=approve]").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Confirm: approve a high-risk action")
    page.screenshot(path=page.screenshot_dir / "confirm.png", full_page=True)
    high.refresh_from_db()
    assert high.status == "pending" and high.reviewed_by == ""
    # An empty comment is refused by the server (the browser's own check removed).
    page.eval_on_selector("#confirm-comment", "t => t.removeAttribute('required')")
    page.click("text=Confirm approval")
    page.wait_for_load_state()
    expect(page.locator("#confirm-error")).to_contain_text("comment")
    high.refresh_from_db()
    assert high.status == "pending"
    page.fill("#confirm-comment", "Drift confirmed with the payment team")
    page.click("text=Confirm approval")
    page.wait_for_load_state()
    assert f"{high.action_id} approved by rita" in page.locator(".messages").inner_text()
    high.refresh_from_db()
    assert (high.status, high.reviewed_by, high.review_comment) == (
        "approved", "rita", "Drift confirmed with the payment team")
    reviewed_at = high.reviewed_at
    # Confirming again (a double submit) approves nothing a second time.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    again = page.request.post(f"/actions/{high.action_id}/review/", form={
        "csrfmiddlewaretoken": token, "decision": "approve", "confirm": "yes",
        "comment": "again"})
    assert again.ok and "Someone may have reviewed it meanwhile" in again.text()
    high.refresh_from_db()
    assert high.reviewed_at == reviewed_at

    # Low risk: one click.
    page.goto("/actions/")
    page.locator(f"#action-{low.action_id} button[value=approve]").click()
    page.wait_for_load_state()
    assert f"{low.action_id} approved by rita" in page.locator(".messages").inner_text()
    low.refresh_from_db()
    assert low.status == "approved"

    # Four eyes on the confirmation step too: a forged confirm of her own request.
    response = page.request.post(f"/actions/{own.action_id}/review/", form={
        "csrfmiddlewaretoken": token, "decision": "approve", "confirm": "yes",
        "comment": "mine"})
    assert response.ok and "another reviewer must approve it" in response.text()
    own.refresh_from_db()
    assert own.status == "pending"


def test_pages_refresh_themselves_until_paused(page, make_user, settings):
    settings.MONITORING_PAGE_REFRESH_SECONDS = 1
    make_user("rita", perms=REVIEW)
    realistic_data()
    log_in(page, "rita")
    page.set_viewport_size({"width": 390, "height": 500})  # a page that scrolls
    page.goto("/alerts/")
    page.evaluate("window.notReloaded = true; window.scrollTo(0, 300)")
    Alert.objects.create(severity="critical", title="New alert while watching",
                         message="m", model_version="fraud-2.3.0")
    expect(page.locator("#page-body")).to_contain_text("New alert while watching")
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not reloaded
    assert page.evaluate("window.scrollY") == 300  # and the reader's place kept
    page.screenshot(path=page.screenshot_dir / "refreshed.png", full_page=True)

    page.click("text=Pause auto-refresh")
    expect(page.locator("main")).to_have_attribute("data-refresh-state", "paused")
    refreshes = page.locator("main").get_attribute("data-refreshes")
    Alert.objects.create(severity="info", title="Arrived during the pause", message="m",
                         model_version="fraud-2.3.0")
    page.wait_for_timeout(2500)  # more than two intervals
    assert page.locator("main").get_attribute("data-refreshes") == refreshes
    assert "Arrived during the pause" not in page.locator("#page-body").inner_text()
    page.goto("/")  # the pause is kept across pages
    expect(page.locator(".refresh-control")).to_contain_text("Auto-refresh paused")
    page.click("text=Resume auto-refresh")
    expect(page.locator("main")).not_to_have_attribute("data-refreshes", "0")
