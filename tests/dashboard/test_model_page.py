"""The model page over a time range, the dashboard's and the registry's window (SPEC §9)."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerting.models import Alert, AlertRule
from dashboard.ranges import RangeError, parse_range, step_for
from predictions.metrics import MetricWindow, metrics_of
from predictions.models import Prediction
from predictions.overview import version_overview, window_figures_by_version
from tests.conftest import store_predictions

pytestmark = pytest.mark.django_db

FIGURES = ("num_predictions", "num_with_outcome", "accuracy", "f1_score",
           "expected_calibration_error", "label_coverage", "positive_rate", "latency_p95_ms")


@pytest.fixture
def client(make_user):
    client = Client()
    client.force_login(make_user("ann"))
    return client


def seed(version="v1", days=10, every_minutes=47, end=None):
    """Labelled predictions (most of them) every ~47 minutes over the last `days` days."""
    end = end or timezone.now()
    rows = []
    for i in range(days * 24 * 60 // every_minutes):
        predicted = 1 if i % 3 else 0
        actual = None if i % 5 == 0 else (predicted if i % 4 else 1 - predicted)
        rows.append(Prediction(
            prediction_id=f"{version}-{i}", model_version=version,
            timestamp=end - timedelta(minutes=1 + i * every_minutes),
            predicted_outcome=predicted, confidence=0.5 + (i % 10) / 20.5,
            actual_outcome=actual, latency_ms=float(10 + i % 37),
        ))
    store_predictions(rows)


def chart_points(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-points="(\d+)"', page)]


@pytest.mark.parametrize("query", ["", "?range=24h", "?range=7d", "?range=30d", "?range=90d",
                                   "?range=custom&start=2026-01-01&end=2026-12-31"])
def test_figures_are_metrics_of_the_chosen_range(client, query):
    seed()
    response = client.get(f"/models/v1/{query}")
    assert response.status_code == 200
    time_range = response.context["time_range"]
    expected = metrics_of(MetricWindow("v1", time_range.start, time_range.end))
    figures = response.context["figures"]
    for name in FIGURES:
        assert figures[name] == pytest.approx(expected[name], rel=1e-12), name
    assert figures["num_predictions"] > 0


@pytest.mark.parametrize("key,step,points", [
    ("24h", "1h", 25), ("7d", "1h", 169), ("30d", "6h", 121), ("90d", "1d", 91),
])
def test_each_preset_has_its_step(client, key, step, points):
    seed(days=1)
    response = client.get(f"/models/v1/?range={key}")
    assert response.context["time_range"].step == step
    # Six charts, each with every bucket of the range (the ends fall inside buckets).
    counts = chart_points(response.content.decode())
    assert len(counts) == 6 and set(counts) <= {points, points - 1}


def test_custom_range_is_whole_days_with_the_end_day_included(client):
    seed(end=datetime(2026, 3, 5, tzinfo=UTC), days=6)
    response = client.get("/models/v1/?range=custom&start=2026-03-01&end=2026-03-02")
    time_range = response.context["time_range"]
    assert (time_range.start, time_range.end) == (
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    assert time_range.step == "1h" and chart_points(response.content.decode()) == [48] * 6
    page = response.content.decode()
    assert "2026-03-01 – 2026-03-02" in page and 'value="2026-03-01"' in page


def test_step_keeps_charts_under_400_points():
    assert step_for(timedelta(days=16)) == "1h"
    assert step_for(timedelta(days=17)) == "6h"
    assert step_for(timedelta(days=100)) == "6h"
    assert step_for(timedelta(days=101)) == "1d"
    with pytest.raises(RangeError):
        step_for(timedelta(days=401))


@pytest.mark.parametrize("query,parameter", [
    ("?range=5y", "range"),
    ("?range=custom", "start"),
    ("?start=yesterday", "start"),
    ("?start=2026-02-30", "start"),
    ("?start=2026-03-02&end=2026-03-01", "start"),
    ("?start=2026-03-01&end=nope", "end"),
    ("?start=2020-01-01&end=2026-01-01", "end"),
    ("?start=0001-01-01", "start"),
    ("?start=2026-01-01&end=9999-12-31", "end"),
    ("?start=2026-01-01T00:00:00%2B99:00", "start"),
])
def test_a_bad_range_is_a_400_page_naming_the_parameter(client, make_prediction, query,
                                                        parameter):
    make_prediction(model_version="v1")
    response = client.get(f"/models/v1/{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert f"{parameter}:" in page and 'role="alert"' in page
    assert 'class="range-presets"' in page  # the picker is still there to fix it


def test_parse_range_defaults_to_24h():
    now = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    time_range = parse_range({}, now=now)
    assert (time_range.key, time_range.end - time_range.start) == ("24h", timedelta(hours=24))
    assert parse_range({"start": "2026-04-30T06:00:00+02:00"}, now=now).start == datetime(
        2026, 4, 30, 4, tzinfo=UTC)


def test_unknown_version_is_404(client):
    assert client.get("/models/nope/?range=7d").status_code == 404
    assert client.get("/models/nope/?range=bad").status_code == 404


def rule(rule_id, metric="accuracy", threshold=0.7, version="", enabled=True):
    created = AlertRule(rule_id=rule_id, name=rule_id.title(), metric_name=metric,
                        threshold=threshold, comparison="<", model_version=version,
                        enabled=enabled, channels=["console"])
    created.full_clean()
    created.save()
    return created


def test_watching_rules_are_lines_and_alerts_are_markers(client):
    seed(days=3)
    rule("every-version", threshold=0.7)
    rule("this-version", threshold=0.65, version="v1")
    rule("coverage", metric="label_coverage", threshold=0.5)
    rule("latency", metric="latency_p95_ms", threshold=40)
    rule("other-version", threshold=0.1, version="v2")
    rule("disabled", threshold=0.2, enabled=False)
    now = timezone.now()
    for hours, metric in [(2, "accuracy"), (5, "accuracy"), (30, "accuracy"),
                          (3, "expected_calibration_error")]:
        Alert.objects.create(severity="warning", title=f"{metric} low", message="m",
                             metric_name=metric, metric_value=0.6, model_version="v1",
                             timestamp=now - timedelta(hours=hours))
    Alert.objects.create(severity="warning", title="other", message="m", metric_name="accuracy",
                         model_version="v2", timestamp=now - timedelta(hours=1))
    page = client.get("/models/v1/").content.decode()
    charts = dict(zip(["volume", "accuracy", "f1", "ece", "positive", "latency"],
                      re.findall(r"<svg.*?</svg>", page, re.S)[:6], strict=True))
    assert charts["accuracy"].count('class="chart-threshold"') == 2
    assert "Every-Version: &lt; 0.7" in charts["accuracy"]
    assert "This-Version: &lt; 0.65" in charts["accuracy"]
    assert "Other-Version" not in page and "Disabled" not in page
    assert charts["volume"].count('class="chart-threshold"') == 1  # coverage, right axis
    assert charts["latency"].count('class="chart-threshold"') == 1
    assert charts["f1"].count('class="chart-threshold"') == 0
    # Alerts of the last 24 h only, on their own metric's chart.
    assert charts["accuracy"].count('class="chart-marker"') == 2
    assert charts["ece"].count('class="chart-marker"') == 1
    page_7d = client.get("/models/v1/?range=7d").content.decode()
    accuracy_7d = re.findall(r"<svg.*?</svg>", page_7d, re.S)[1]
    assert accuracy_7d.count('class="chart-marker"') == 3


def test_an_hour_without_predictions_breaks_the_line(client):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [Prediction(prediction_id=f"g{hour}-{i}", model_version="v1",
                       timestamp=start + timedelta(hours=hour, minutes=i), predicted_outcome=1,
                       confidence=0.8, actual_outcome=i % 2)
            for hour in (0, 1, 2, 5, 6, 9) for i in range(4)]
    store_predictions(rows)
    page = client.get("/models/v1/?start=2026-03-01&end=2026-03-01").content.decode()
    accuracy = re.findall(r"<svg.*?</svg>", page, re.S)[1]
    # Runs: hours 0–2, 5–6, and 9 alone (a dot).
    assert accuracy.count('<polyline class="chart-line"') == 2
    assert 'data-known="6"' in accuracy


def test_imported_history_shows_without_a_monitor_run(client, tmp_path):
    import subprocess
    import sys

    from django.core.management import call_command

    from predictions.models import HealthSnapshot
    from tests.legacy.conftest import MAKE_SAMPLE

    out = tmp_path / "legacy"
    subprocess.run([sys.executable, str(MAKE_SAMPLE), str(out), "--predictions", "300"],
                   check=True, capture_output=True)
    call_command("import_legacy", str(out), stdout=open(tmp_path / "log", "w"))  # noqa: SIM115
    HealthSnapshot.objects.all().delete()  # the page must not need the imported snapshots
    response = client.get("/models/v1.0/?start=2026-01-01&end=2026-01-01")
    assert response.status_code == 200
    expected = Prediction.objects.filter(model_version="v1.0",
                                         timestamp__lt=datetime(2026, 1, 2, tzinfo=UTC)).count()
    assert response.context["figures"]["num_predictions"] == expected > 0
    assert "No data in this range" not in re.findall(r"<svg.*?</svg>",
                                                     response.content.decode(), re.S)[0]


# --- the dashboard's and the registry's window -------------------------------------------


def test_overview_figures_are_metrics_of_each_version():
    now = datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
    seed("a", days=9, every_minutes=13, end=now)
    seed("b", days=2, every_minutes=29, end=now - timedelta(days=1))
    for minutes in (60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60):
        figures = window_figures_by_version(minutes, now=now)
        for version in ("a", "b"):
            expected = metrics_of(MetricWindow.last(version, minutes, now))
            if not expected["num_predictions"]:
                assert version not in figures
                continue
            for name in ("num_predictions", "num_with_outcome", "accuracy", "f1_score",
                         "expected_calibration_error", "label_coverage"):
                assert figures[version][name] == pytest.approx(expected[name], rel=1e-12)
    assert sorted(window_figures_by_version(60, now=now)) == ["a"]
    rows = {row["model_version"]: row for row in version_overview(7 * 24 * 60, now=now)}
    assert rows["b"]["last_seen"] == now - timedelta(days=1, minutes=1)


def test_dashboard_window_select(client):
    seed("v1", days=1)
    seed("old", days=2, end=timezone.now() - timedelta(days=3))
    default = client.get("/")
    assert [row["model_version"] for row in default.context["versions"]] == ["v1"]
    week = client.get("/?window=7d")
    assert [row["model_version"] for row in week.context["versions"]] == ["old", "v1"]
    page = week.content.decode()
    assert '<option value="7d" selected>' in page and "/models/v1/?range=7d" in page
    bad = client.get("/?window=2y")
    assert bad.status_code == 400 and "window:" in bad.content.decode()


def test_registry_accuracy_over_a_window(client):
    seed("v1", days=3)
    response = client.get("/registry/?window=7d")
    (entry,) = response.context["versions"]
    expected = metrics_of(MetricWindow.last("v1", 7 * 24 * 60))
    assert entry["window_accuracy"] == pytest.approx(expected["accuracy"], rel=1e-12)
    assert entry["window_labelled"] == expected["num_with_outcome"]
    assert "Accuracy (7 d)" in response.content.decode()
    one_hour = client.get("/registry/?window=1h").context["versions"][0]
    assert one_hour["window_labelled"] < entry["window_labelled"]
    assert client.get("/registry/?window=nope").status_code == 400
    version_page = client.get("/registry/v1/", follow=True)
    assert version_page.redirect_chain == [("/models/v1/", 302)]
    assert "Training vs live" in version_page.content.decode()
