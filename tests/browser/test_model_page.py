"""The model page's time range in a real browser: charts per step, thresholds, imports.

Seven days of predictions and outcomes go through the real write path (the aggregates
are kept by it, no monitor run); the page is opened at 24 h, switched to 7 d and to a
custom range, and looked at on a laptop (1366 px) and a phone (390 px). Screenshots land
in the test's tmp folder.
"""
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from alerting.models import Alert, AlertRule
from predictions.models import HealthSnapshot
from predictions.outcomes import record_outcomes
from predictions.storage import ingest_predictions
from tests.browser.test_pages import TOO_WIDE
from tests.conftest import log_in
from tests.legacy.conftest import MAKE_SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCURACY = "svg.chart-series >> nth=1"


def seven_days(version="v1"):
    """A prediction every 20 minutes for 7 days, most labelled, worse in the middle days."""
    now = timezone.now()
    items, outcomes = [], []
    for i in range(7 * 24 * 3):
        at = now - timedelta(minutes=2 + 20 * i)
        predicted = i % 2
        wrong = (i % 3 == 0) if 2 * 24 * 3 <= i < 4 * 24 * 3 else (i % 9 == 0)
        items.append({
            "prediction_id": f"{version}-{i}", "model_version": version,
            "timestamp": at.isoformat(), "predicted_outcome": predicted,
            "confidence": 0.55 + (i % 9) / 20, "latency_ms": 20 + (i % 13) * 3,
            "features": {"x": i % 7},
        })
        if i % 6:
            outcomes.append({"prediction_id": f"{version}-{i}",
                             "actual_outcome": 1 - predicted if wrong else predicted})
    ingest_predictions(items)
    record_outcomes(outcomes)


def accuracy_rule():
    rule = AlertRule(rule_id="low-accuracy", name="Low accuracy", metric_name="accuracy",
                     threshold=0.7, comparison="<", severity="warning", channels=["console"])
    rule.full_clean()
    rule.save()
    return rule


def x_ticks(page):
    return page.locator(ACCURACY).locator("text.chart-x-tick").all_text_contents()


def test_changing_the_time_range_changes_the_charts(page, browser, live_server, make_user,
                                                     tmp_path):
    make_user("ann")
    seven_days()
    rule = accuracy_rule()
    Alert.objects.create(severity="warning", title="PERFORMANCE: accuracy Alert", message="m",
                         metric_name="accuracy", metric_value=0.62, threshold=0.7, rule=rule,
                         model_version="v1", timestamp=timezone.now() - timedelta(days=3))
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "ann")
    page.goto("/models/v1/")
    expect(page.locator("svg.chart-series")).to_have_count(6)
    expect(page.locator(".range-presets a.current")).to_have_text("24 h")
    accuracy = page.locator(ACCURACY)
    day_points = int(accuracy.get_attribute("data-points"))
    assert day_points in (24, 25)
    day_ticks = x_ticks(page)
    assert all(len(tick) == 5 for tick in day_ticks)  # "HH:MM"
    threshold = accuracy.locator("line.chart-threshold")
    expect(threshold).to_have_count(1)
    # A horizontal line has no height, so Playwright calls it hidden: look at its box.
    assert threshold.bounding_box()["width"] > 200
    expect(accuracy.locator("g.chart-threshold-group")).to_be_visible()
    expect(accuracy.locator("text.chart-threshold-label")).to_have_text("Low accuracy: < 0.7")
    expect(accuracy.locator("g.chart-marker")).to_have_count(0)  # the alert is 3 days old
    day_line = accuracy.locator("polyline.chart-line").first.get_attribute("points")
    page.screenshot(path=tmp_path / "model_24h_1366.png", full_page=True)

    page.get_by_role("link", name="7 d", exact=True).click()
    page.wait_for_url("**/models/v1/?range=7d")
    expect(page.locator(".range-presets a.current")).to_have_text("7 d")
    accuracy = page.locator(ACCURACY)
    week_points = int(accuracy.get_attribute("data-points"))
    assert week_points in (168, 169) and week_points != day_points
    week_ticks = x_ticks(page)
    assert week_ticks != day_ticks and all("-" in tick for tick in week_ticks)  # "MM-DD HH:MM"
    assert accuracy.locator("polyline.chart-line").first.get_attribute("points") != day_line
    expect(accuracy.locator("g.chart-threshold-group")).to_be_visible()
    expect(accuracy.locator("g.chart-marker")).to_have_count(1)
    stats = page.locator(".stats .stat").first
    expect(stats).to_contain_text(str(7 * 24 * 3))
    expect(stats).to_contain_text("last 7 d")
    page.screenshot(path=tmp_path / "model_7d_1366.png", full_page=True)
    accuracy.screenshot(path=tmp_path / "model_7d_1366_chart.png")

    # A custom range through the form: two days, hourly.
    today = timezone.now().date()
    page.fill("#range-start", (today - timedelta(days=3)).isoformat())
    page.fill("#range-end", (today - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Show range").click()
    page.wait_for_url("**range=custom**")
    expect(page.locator(ACCURACY)).to_have_attribute("data-points", "48")
    expect(page.locator(".stats .stat").first).to_contain_text("144")

    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        phone_page = phone.new_page()
        log_in(phone_page, "ann")
        for query, name in (("?range=7d", "model_7d_390"), ("?range=bad", "model_bad_390")):
            response = phone_page.goto(f"/models/v1/{query}")
            phone_page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
            if response.ok:
                phone_page.locator(ACCURACY).screenshot(path=tmp_path / f"{name}_chart.png")
            width = phone_page.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, (query, width, phone_page.evaluate(TOO_WIDE))
        assert response.status == 400
        expect(phone_page.locator("[role=alert]")).to_contain_text("range:")
    finally:
        phone.close()


def test_imported_legacy_history_shows_without_the_monitor(page, make_user, tmp_path):
    make_user("ann")
    out = tmp_path / "legacy"
    subprocess.run([sys.executable, str(MAKE_SAMPLE), str(out), "--predictions", "400"],
                   check=True, capture_output=True)
    with open(tmp_path / "import.log", "w") as log:
        call_command("import_legacy", str(out), stdout=log)
    HealthSnapshot.objects.all().delete()  # nothing but the imported predictions
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "ann")
    page.goto("/models/v1.0/")
    page.fill("#range-start", "2026-01-01")
    page.fill("#range-end", "2026-01-01")
    page.get_by_role("button", name="Show range").click()
    page.wait_for_url("**start=2026-01-01**")
    volume = page.locator("svg.chart-series").first
    assert int(volume.get_attribute("data-known")) > 0
    expect(volume.locator("polyline.chart-line:not(.chart-secondary)").first).to_be_visible()
    expect(page.locator(".stats .stat").first).not_to_contain_text("0 predictions")
    page.screenshot(path=tmp_path / "legacy_1366.png", full_page=True)
