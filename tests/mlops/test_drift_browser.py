"""Why it drifted and where it fails, in a real browser (SPEC §13)."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from alerting.models import Alert, AlertRule
from alerting.monitor import run_monitor_pass
from predictions.drift import compute_drift_report
from predictions.models import Prediction
from tests.conftest import log_in, store_predictions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_drift_report_shows_one_chart_per_feature_most_drifted_first(page, make_user):
    make_user("ana")
    now = timezone.now()
    ref_start, ref_end = now - timedelta(days=9), now - timedelta(days=2)
    rng = np.random.default_rng(3)
    rows = []
    for i, (age, income, tenure) in enumerate(rng.normal(0, 1, (300, 3))):
        rows.append(Prediction(
            prediction_id=f"r{i}", model_version="churn-3", timestamp=ref_start
            + timedelta(minutes=20 * i), predicted_outcome=1, confidence=0.7,
            features={"age": age, "income": income, "tenure": tenure,
                      "plan": ["basic", "pro"][i % 2]}))
    for i, (age, income, tenure) in enumerate(rng.normal(0, 1, (200, 3))):
        rows.append(Prediction(
            prediction_id=f"c{i}", model_version="churn-3",
            timestamp=now - timedelta(minutes=50) + timedelta(seconds=10 * i),
            predicted_outcome=1, confidence=0.7,
            features={"age": age + 0.5, "income": income + 2.0, "tenure": tenure,
                      "plan": ["basic", "pro", "team"][i % 3]}))
    store_predictions(rows)
    report = compute_drift_report("churn-3", now - timedelta(hours=1), now, ref_start, ref_end)
    by_psi = sorted(report.features, key=lambda name: -report.features[name]["psi"])
    assert by_psi[0] == "income"

    log_in(page, "ana")
    page.goto(f"/drift/{report.pk}/")
    cards = page.locator("#drift-feature-charts .drift-feature")
    assert cards.count() == 4
    assert [cards.nth(i).get_attribute("data-feature") for i in range(4)] == by_psi
    for i in range(4):
        assert cards.nth(i).locator("svg.chart").count() == 1
        assert cards.nth(i).locator("svg.chart").is_visible()
    assert cards.nth(0).locator("rect.chart-current").count() == 10 + 1
    assert "new: team" in page.locator('[data-feature="plan"]').inner_text()
    page.screenshot(path=page.screenshot_dir / "drift-report.png", full_page=True)


def test_the_alert_page_shows_its_worst_segments(page, make_user):
    make_user("ana")
    now = timezone.now()
    rows = []
    for n, country in enumerate(["DE", "FR", "NL"] * 40):
        actual = n % 2
        rows.append(Prediction(
            prediction_id=f"s{n}", model_version="churn-3",
            timestamp=now - timedelta(minutes=10), confidence=0.8, actual_outcome=actual,
            predicted_outcome=1 - actual if country == "NL" else actual,
            features={"country": country}))
    store_predictions(rows)
    AlertRule.objects.create(rule_id="acc", metric_name="accuracy", comparison="<",
                             threshold=0.9, component="performance")
    run_monitor_pass(window_minutes=60, now=now)
    alert = Alert.objects.get()

    log_in(page, "ana")
    page.goto(f"/alerts/{alert.alert_id}/")
    segments = page.locator("#worst-segments tr.worst-segment")
    assert segments.count() == 3
    assert segments.nth(0).inner_text().split("\t")[:3] == ["country", "NL", "0.0000"]
    page.screenshot(path=page.screenshot_dir / "alert-worst-segments.png", full_page=True)
