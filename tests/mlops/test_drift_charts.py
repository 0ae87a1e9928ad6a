"""The drift pages draw what the reports keep (SPEC §13): reference against current per
feature, most drifted first, and each feature's PSI per day on the registry page."""
import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from predictions.drift import compute_drift_report
from predictions.drift_charts import (
    distribution_svg,
    drift_feature_charts,
    psi_history,
    psi_history_context,
)
from predictions.models import DriftReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(add_predictions, drift_windows, rng):
    """small (shifted a little), big (shifted a lot), calm, a category with a new value and
    a feature missing from most current rows."""
    ref_start, ref_end, cur_start, cur_end = drift_windows
    reference = [{"small": float(a), "big": float(b), "calm": float(c), "plan": p, "gone": 1.0}
                 for a, b, c, p in zip(rng.normal(0, 1, 300), rng.normal(0, 1, 300),
                                       rng.normal(0, 1, 300), ["a", "b"] * 150, strict=True)]
    current = [{"small": float(a) + 0.4, "big": float(b) + 2.0, "calm": float(c),
                "plan": p} for a, b, c, p in zip(rng.normal(0, 1, 200), rng.normal(0, 1, 200),
                                                 rng.normal(0, 1, 200), ["a", "b", "<c>", "b"] * 50,
                                                 strict=True)]
    add_predictions("v1", reference, ref_start, ref_end)
    add_predictions("v1", current, cur_start, cur_end)
    return compute_drift_report("v1", cur_start, cur_end, ref_start, ref_end)


def test_feature_charts_come_most_drifted_first_skipped_last(report):
    charts = drift_feature_charts(report)["feature_charts"]
    psis = {name: entry.get("psi") for name, entry in report.features.items()}
    compared = sorted((n for n in psis if psis[n] is not None), key=lambda n: -psis[n])
    assert [c["name"] for c in charts] == [*compared, "gone"]
    assert charts[0]["name"] == "big"
    assert charts[-1]["skipped"] and charts[-1]["chart"] is None
    for chart in charts[:-1]:
        assert chart["chart"].count("<svg") == 1


def test_a_numeric_chart_has_two_bars_per_bin_with_the_kept_shares(report):
    entry = report.features["big"]
    svg = drift_feature_charts(report)["feature_charts"][0]["chart"]
    assert svg.count('class="chart-bar chart-reference"') == 10 + 1  # + the legend
    assert svg.count('class="chart-bar chart-current"') == 10 + 1
    assert f"current {entry['bins']['current'][9]:.2%}" in svg


def test_category_labels_are_escaped():
    svg = distribution_svg(["<c>", "a"], [0.0, 1.0], [0.5, 0.5], "plan <x>")
    assert "<c>" not in svg and "&lt;c&gt;" in svg
    assert "plan &lt;x&gt;" in svg


def test_the_drift_page_shows_a_chart_per_feature_in_psi_order(report, client, make_user):
    client.force_login(make_user())
    page = client.get(f"/drift/{report.pk}/").content.decode()
    names = re.findall(r'class="card drift-feature" data-feature="([^"]+)"', page)
    assert names == [c["name"] for c in drift_feature_charts(report)["feature_charts"]]
    charts = page[page.index('id="drift-feature-charts"'):page.index("<h2>Features</h2>")]
    assert charts.count("<svg") == 4  # every feature but the skipped one
    assert 'id="stat-new-categories"><span class="stat-value">1<' in page


def test_the_include_renders_on_any_page(report):
    html = render_to_string("predictions/_drift_feature_charts.html",
                            drift_feature_charts(report))
    assert html.count('class="card drift-feature"') == 5


def test_psi_history_takes_the_last_report_of_each_day(report):
    now = timezone.now()
    for days_ago, minutes, psi in ((3, 5, 0.1), (3, 10, 0.5), (40, 0, 9.0)):
        features = {**report.features, "big": {**report.features["big"], "psi": psi}}
        DriftReport.objects.create(
            model_version="v1", created_at=now - timedelta(days=days_ago, minutes=minutes),
            reference_start=report.reference_start, reference_end=report.reference_end,
            reference_rows=1, current_start=report.current_start,
            current_end=report.current_end, current_rows=1, features=features)
    history = psi_history("v1", now=now)
    big = [psi for _, psi in history["big"]]
    assert big == [0.1, report.features["big"]["psi"]]  # 3 days ago: the later one; 40: out
    assert [psi for _, psi in history["gone"]] == [None, None]
    context = psi_history_context("v1", now=now)["psi_history"]
    assert context["features"][0]["name"] == "big"
    assert all(f["chart"].count("<svg") == 1 for f in context["features"])


def test_the_version_page_shows_the_psi_history(report, client, make_user):
    client.force_login(make_user())
    # The registry's version URL leads to the version's one page.
    page = client.get("/registry/v1/", follow=True).content.decode()
    assert "PSI per feature, last 30 days" in page
    assert len(re.findall(r'class="card psi-history-feature"', page)) == 5


def test_the_drift_page_writes_times_as_every_page_does(report, client, make_user):
    """One date format (issue 17): minutes, 24 h, UTC; the version link is its one page."""
    client.force_login(make_user())
    page = client.get(f"/drift/{report.pk}/").content.decode()
    shown = re.sub(r"<[^>]+>", " ", page)  # the text a person reads, not data-* attributes
    assert not re.search(r"\d\d:\d\d:\d\d", shown)
    assert f'{report.created_at:%Y-%m-%d %H:%M} UTC' in page
    assert 'href="/models/v1/"' in page
