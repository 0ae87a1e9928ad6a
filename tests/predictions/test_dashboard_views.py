"""The dashboard and the model version page (SPEC §6)."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerting.choices import AlertStatus
from alerting.models import Alert
from predictions.metrics import window_metrics
from predictions.models import HealthSnapshot
from predictions.overview import distinct_model_versions, version_overview

pytestmark = pytest.mark.django_db


def logged_in(make_user):
    client = Client()
    client.force_login(make_user("ann"))
    return client


def labelled(make_prediction, version, rows, minutes_ago=5):
    """rows: (predicted, actual, confidence) triples."""
    now = timezone.now()
    for i, (predicted, actual, confidence) in enumerate(rows):
        make_prediction(
            model_version=version, predicted_outcome=predicted, actual_outcome=actual,
            confidence=confidence, timestamp=now - timedelta(minutes=minutes_ago, seconds=i),
        )


def alert(version, status=AlertStatus.OPEN, severity="warning"):
    return Alert.objects.create(
        severity=severity, title="PERFORMANCE: accuracy Alert", message="m",
        model_version=version, status=status,
    )


ROWS_V1 = [(1, 1, 0.9), (1, 0, 0.85), (0, 0, 0.6), (1, 1, 0.72), (0, 1, 0.55), (1, 1, 0.99)]


def test_overview_matches_window_metrics_per_version(make_prediction):
    labelled(make_prediction, "v1", ROWS_V1)
    labelled(make_prediction, "v2", [(1, 0, 0.3), (0, 0, 0.8)])
    make_prediction(model_version="v2", confidence=0.4)  # no outcome
    make_prediction(model_version="old", timestamp=timezone.now() - timedelta(days=3))
    overview = {row["model_version"]: row for row in version_overview(24 * 60)}
    assert sorted(overview) == ["v1", "v2"]
    for version in ("v1", "v2"):
        expected = window_metrics(version, 24 * 60)
        row = overview[version]
        assert row["num_predictions"] == expected["num_predictions"]
        assert row["num_with_outcome"] == expected["num_with_outcome"]
        assert row["accuracy"] == pytest.approx(expected["accuracy"])
        assert row["expected_calibration_error"] == pytest.approx(
            expected["expected_calibration_error"]
        )
    assert overview["v2"]["num_predictions"] == 3


def test_overview_without_labels_has_no_accuracy(make_prediction):
    make_prediction(model_version="v9")
    (row,) = version_overview()
    assert row["accuracy"] is None and row["expected_calibration_error"] is None


def test_distinct_model_versions_reads_every_version_once(make_prediction):
    for version in ["b", "a", "c", "a", "b"]:
        make_prediction(model_version=version)
    assert distinct_model_versions() == ["a", "b", "c"]
    assert distinct_model_versions(limit=2) == ["a", "b"]
    assert distinct_model_versions(HealthSnapshot) == []


def test_dashboard_lists_versions_with_figures_and_open_alerts(make_user, make_prediction):
    labelled(make_prediction, "v1", ROWS_V1)
    labelled(make_prediction, "v2", [(1, 1, 0.9)])
    alert("v1")
    alert("v1", status=AlertStatus.ACKNOWLEDGED)
    alert("v1", status=AlertStatus.RESOLVED)
    response = logged_in(make_user).get("/")
    assert response.status_code == 200
    rows = {row["model_version"]: row for row in response.context["versions"]}
    assert rows["v1"]["open_alerts"] == 2 and rows["v2"]["open_alerts"] == 0
    assert rows["v1"]["num_predictions"] == 6
    page = response.content.decode()
    assert 'href="/models/v1/"' in page and f"{4 / 6:.3f}" in page


def test_dashboard_query_count_does_not_grow_with_versions(
    make_user, make_prediction, django_assert_max_num_queries
):
    client = logged_in(make_user)
    for n in range(12):
        labelled(make_prediction, f"v{n}", [(1, 1, 0.9), (0, 1, 0.4)])
        alert(f"v{n}")
    # session + user + whole hours (2) + first partial hour + last seen + open alerts +
    # severities + the monitor's heartbeat (every page), whatever the number of versions
    with django_assert_max_num_queries(9):
        assert client.get("/").status_code == 200


def test_dashboard_shows_versions_with_only_open_alerts(make_user, make_prediction):
    alert("v-old")
    page = logged_in(make_user).get("/").content.decode()
    assert "v-old" in page


def test_model_page_has_series_charts_and_reliability_diagram(make_user, make_prediction):
    labelled(make_prediction, "v1", ROWS_V1)
    alert("v1")
    response = logged_in(make_user).get("/models/v1/")
    assert response.status_code == 200
    page = response.content.decode()
    # Six series charts (volume, accuracy, F1, ECE, positive rate, latency) + reliability.
    assert page.count("<svg") == 7
    assert page.count('class="chart line-chart') == 0 and page.count("chart-series") == 6
    assert "Reliability diagram" in page and 'class="chart-diagonal"' in page
    assert "PERFORMANCE: accuracy Alert" in page
    # The only script is the page's own self-refresh, served from this site.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/refresh.js" defer>']


def test_model_page_charts_come_from_the_series_not_from_snapshots(make_user, make_prediction):
    make_prediction(model_version="v1")  # no latency, no outcome
    HealthSnapshot.objects.create(model_version="v1", timestamp=timezone.now(), accuracy=0.9)
    page = logged_in(make_user).get("/models/v1/").content.decode()
    assert "No data in this range" in page and "No labelled predictions yet" in page
    charts = page[page.index('id="trends"'):page.index('id="calibration"')]
    assert "0.900" not in charts  # (the timeline lists the snapshot's accuracy)


def test_unknown_model_version_is_404(make_user):
    assert logged_in(make_user).get("/models/nope/").status_code == 404
