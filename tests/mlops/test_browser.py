"""The approval queue and the registry in a real browser."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from alerting.models import AgentAction
from predictions.drift import compute_drift_report
from predictions.models import Prediction
from predictions.registry import promote, record_decision, register_version
from tests.conftest import log_in, store_predictions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reviewer_approves_a_pending_action_with_a_comment(page, make_user):
    make_user("rita", perms=["alerting.review_agentaction"])
    action = AgentAction.objects.create(
        action_type="retrain_model", requested_by="agent", risk_level="medium",
        description="Retrain churn-2 on the last 30 days (feature drift)",
    )
    log_in(page, "rita")
    page.goto("/actions/")
    row = page.locator(f"#action-{action.action_id}")
    assert "Retrain churn-2" in row.inner_text()
    page.screenshot(path=page.screenshot_dir / "approval-queue.png", full_page=True)
    row.locator("input[name=comment]").fill("Drift confirmed on age and plan")
    row.locator("button[value=approve]").click()
    page.wait_for_load_state()
    assert f"{action.action_id} approved by rita" in page.locator(".messages").inner_text()
    page.screenshot(path=page.screenshot_dir / "approval-done.png", full_page=True)

    action.refresh_from_db()
    assert action.status == "approved"
    assert action.reviewed_by == "rita"
    assert action.review_comment == "Drift confirmed on age and plan"
    assert timezone.now() - action.reviewed_at < timedelta(minutes=2)


def test_registry_page_shows_the_timeline_and_the_psi_chart(page, make_user):
    make_user("ana")
    now = timezone.now()
    ref_start, ref_end = now - timedelta(days=9), now - timedelta(days=2)
    rng = np.random.default_rng(7)
    register_version({"version": "churn-2.0", "model_name": "churn"}, by="ana")
    promote("churn-2.0", "staging", by="ana", note="shadow traffic")
    rows = []
    for i, (age, income) in enumerate(rng.normal(0, 1, (300, 2))):
        rows.append(Prediction(prediction_id=f"r{i}", model_version="churn-2.0",
                               timestamp=ref_start + timedelta(minutes=20 * i),
                               predicted_outcome=1, confidence=0.7,
                               features={"age": float(age), "income": float(income)}))
    for i, (age, income) in enumerate(rng.normal(0, 1, (200, 2))):
        rows.append(Prediction(prediction_id=f"c{i}", model_version="churn-2.0",
                               timestamp=now - timedelta(minutes=50) + timedelta(seconds=10 * i),
                               predicted_outcome=1, confidence=0.7,
                               features={"age": float(age) + 1.5, "income": float(income)}))
    store_predictions(rows)
    report = compute_drift_report("churn-2.0", now - timedelta(hours=1), now, ref_start, ref_end)
    record_decision({"model_version": "churn-2.0", "trigger_reason": "drift",
                     "action": "promote", "apply": True}, by="pipeline")

    log_in(page, "ana")
    page.goto("/registry/")
    page.click("text=churn-2.0")
    page.wait_for_load_state()
    assert "churn-2.0" in page.locator("h1").inner_text()
    assert page.url.endswith("/models/churn-2.0/")  # the version's one page
    timeline = page.locator("table.timeline-table").inner_text()
    assert "registered" in timeline and "shadow traffic" in timeline
    assert "Retraining decision: promote" in timeline
    assert "production" in timeline
    chart = page.locator("figure.psi-chart svg")
    assert chart.count() == 1 and chart.is_visible()
    assert page.locator("figure.psi-chart svg .chart-bar.over").count() == 1  # age drifted
    page.screenshot(path=page.screenshot_dir / "registry-version.png", full_page=True)

    page.click("text=full report")
    page.wait_for_load_state()
    assert f"Drift report {report.pk}" in page.locator("h1").inner_text()
    page.screenshot(path=page.screenshot_dir / "drift-report.png", full_page=True)
