"""Drift reports keep their bins and category shares, and the data quality of the current
window (SPEC §13): against numpy and hand-computed cases."""
from collections import Counter

import numpy as np
import pytest
from django.db import connection

from alerting.drift_rules import evaluate_drift_rules
from alerting.models import Alert, AlertRule
from predictions.drift import (
    TimeWindow,
    _count,
    compute_drift_report,
    read_features,
    report_metrics,
    sampled_predictions,
)
from tests.conftest import is_postgres

pytestmark = pytest.mark.django_db


def _report(add_predictions, windows, reference_rows, current_rows, version="v1"):
    ref_start, ref_end, cur_start, cur_end = windows
    add_predictions(version, reference_rows, ref_start, ref_end)
    add_predictions(version, current_rows, cur_start, cur_end)
    return compute_drift_report(version, cur_start, cur_end, ref_start, ref_end)


def numpy_bin_shares(reference, values):
    """Shares per decile bin, written out independently: a value's bin = cut points below it."""
    cuts = np.quantile(reference, np.linspace(0.1, 0.9, 9))
    bins = [int(np.sum(cuts < v)) for v in values]
    return cuts, np.bincount(bins, minlength=10) / len(values)


def test_numeric_bins_are_the_deciles_and_unfloored_shares_of_numpy(
    add_predictions, drift_windows, rng
):
    reference = rng.normal(0.0, 1.0, 500)
    current = rng.normal(3.0, 0.3, 300)  # most of it in the top bin: shares below the floor
    report = _report(add_predictions, drift_windows,
                     [{"x": float(v)} for v in reference], [{"x": float(v)} for v in current])
    bins = report.features["x"]["bins"]
    cuts, reference_shares = numpy_bin_shares(reference, reference)
    _, current_shares = numpy_bin_shares(reference, current)
    assert len(bins["edges"]) == 9 and len(bins["reference"]) == len(bins["current"]) == 10
    assert bins["edges"] == pytest.approx(list(cuts), rel=1e-12)
    assert bins["reference"] == pytest.approx(list(reference_shares), abs=1e-12)
    assert bins["current"] == pytest.approx(list(current_shares), abs=1e-12)
    assert min(bins["current"]) == 0.0  # before the 1e-4 floor
    assert sum(bins["current"]) == pytest.approx(1.0)


def test_category_shares_keep_the_top_twenty_and_sum_the_rest_as_other(
    add_predictions, drift_windows, rng
):
    names = [f"c{i:02d}" for i in range(30)]
    weights = np.arange(30, 0, -1) / np.arange(30, 0, -1).sum()
    reference = [str(v) for v in rng.choice(names, 2000, p=weights)]
    current = [str(v) for v in rng.choice(names, 1000, p=weights[::-1])]
    report = _report(add_predictions, drift_windows,
                     [{"k": v} for v in reference], [{"k": v} for v in current])
    entry = report.features["k"]
    shares = entry["category_shares"]
    ref_counts, cur_counts = Counter(reference), Counter(current)
    categories = sorted(set(ref_counts) | set(cur_counts))
    combined = {c: ref_counts[c] / 2000 + cur_counts[c] / 1000 for c in categories}
    top = sorted(categories, key=lambda c: (-combined[c], c))[:20]
    assert entry["categories"] == 30
    assert shares["values"] == [*top, "(other)"]
    assert shares["reference"][:20] == pytest.approx([ref_counts[c] / 2000 for c in top])
    assert shares["current"][:20] == pytest.approx([cur_counts[c] / 1000 for c in top])
    rest = set(categories) - set(top)
    assert shares["reference"][20] == pytest.approx(sum(ref_counts[c] for c in rest) / 2000)
    assert shares["current"][20] == pytest.approx(sum(cur_counts[c] for c in rest) / 1000)
    assert sum(shares["reference"]) == pytest.approx(1.0)


def test_few_categories_have_no_other(add_predictions, drift_windows):
    reference = [{"k": "a"}] * 150 + [{"k": "b"}] * 50
    report = _report(add_predictions, drift_windows, reference,
                     [{"k": "a"}] * 100 + [{"k": "b"}] * 100)
    assert report.features["k"]["category_shares"] == {
        "values": ["a", "b"], "reference": [0.75, 0.25], "current": [0.5, 0.5]}


def test_missing_rate_new_categories_and_out_of_range_by_hand(add_predictions, drift_windows):
    reference = [{"amount": float(i % 50), "country": ["DE", "FR", "IT"][i % 3]}
                 for i in range(300)]
    current = []
    for i in range(200):
        row = {"country": ["DE", "FR", "XK"][i % 4] if i % 4 < 3 else "FR"}
        if i % 10 >= 3:  # amount missing in 30 % of the rows
            row["amount"] = 60.0 if i % 10 == 9 else float(i % 50)  # 20 rows above the max
        current.append(row)
    current[0]["amount"] = None  # a null counts as missing too (i = 0 already lacks it)
    current[3]["amount"] = -1.0  # below the reference's min
    report = _report(add_predictions, drift_windows, reference, current)

    amount, country = report.features["amount"], report.features["country"]
    assert amount["missing_rate"] == pytest.approx(0.3)
    assert amount["out_of_range_rate"] == pytest.approx(21 / 140)
    assert "new_categories" not in amount
    assert country["missing_rate"] == 0.0
    assert country["new_categories"] == ["XK"]
    assert "out_of_range_rate" not in country
    assert report.max_feature_missing_rate == pytest.approx(0.3)
    assert report.max_out_of_range_rate == pytest.approx(21 / 140)
    assert report.new_category_count == 1


def test_a_feature_skipped_for_drift_still_reports_its_missing_rate(
    add_predictions, drift_windows, rng
):
    reference = [{"x": float(v), "rare": 1.0} for v in rng.normal(0, 1, 200)]
    current = [{"x": float(v)} for v in rng.normal(0, 1, 200)]
    for row in current[:40]:
        row["rare"] = 1.0
    report = _report(add_predictions, drift_windows, reference, current)
    assert report.features["rare"]["skipped"] is True
    assert report.features["rare"]["missing_rate"] == pytest.approx(0.8)
    assert report.max_feature_missing_rate == pytest.approx(0.8)
    assert report.features["x"]["missing_rate"] == 0.0
    assert report.max_out_of_range_rate is not None  # x is numeric and compared


def test_new_categories_are_sorted_and_counted_over_features(add_predictions, drift_windows):
    reference = [{"a": "x", "b": "p"}] * 150
    current = [{"a": v, "b": w} for v, w in zip(["z", "y", "x"] * 50, ["q", "p", "p"] * 50,
                                                strict=True)]
    report = _report(add_predictions, drift_windows, reference, current)
    assert report.features["a"]["new_categories"] == ["y", "z"]
    assert report.features["b"]["new_categories"] == ["q"]
    assert report.new_category_count == 3
    assert report.max_out_of_range_rate is None  # no numeric feature


def test_data_quality_metrics_fire_rules_of_their_component(add_predictions, drift_windows):
    from django.utils import timezone

    rule = AlertRule.objects.create(
        rule_id="missing", metric_name="max_feature_missing_rate", threshold=0.2,
        comparison=">", component="data_quality", cooldown_minutes=0,
    )
    AlertRule.objects.create(rule_id="new-cats", metric_name="new_category_count",
                             threshold=0, comparison=">", component="data_quality")
    reference = [{"x": 1.0, "c": "a"}] * 150
    current = [{"c": "b"}] * 60 + [{"x": 1.0, "c": "a"}] * 140
    report = _report(add_predictions, drift_windows, reference, current)
    assert report_metrics(report)["max_feature_missing_rate"] == pytest.approx(0.3)
    fired = evaluate_drift_rules(report, now=timezone.now())
    assert {a.rule.rule_id for a in fired} == {"missing", "new-cats"}
    alert = Alert.objects.get(rule=rule)
    assert alert.component == "data_quality"
    assert alert.title == "DATA_QUALITY: max_feature_missing_rate Alert"


def test_a_rule_created_over_the_api_files_data_quality_under_its_component(api_client_for):
    client = api_client_for(perms=["alerting.add_alertrule"])
    answer = client.post("/api/v1/alert-rules/", {
        "rule_id": "oor", "metric_name": "max_out_of_range_rate", "threshold": 0.1,
        "comparison": ">"}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["component"] == "data_quality"
    answer = client.post("/api/v1/alert-rules/", {
        "rule_id": "oor2", "metric_name": "max_out_of_range_rate", "threshold": 0.1,
        "comparison": ">", "component": "pipeline"}, format="json")
    assert answer.json()["component"] == "pipeline"


# --- the read ----------------------------------------------------------------------------
def test_a_side_beyond_the_bound_yields_exactly_the_bound(add_predictions, drift_windows, rng,
                                                          settings):
    settings.MONITORING_DRIFT_SAMPLE = 100
    ref_start, ref_end, cur_start, cur_end = drift_windows
    add_predictions("v1", [{"x": float(i)} for i in range(201)], ref_start, ref_end)
    add_predictions("v1", [{"x": float(i)} for i in range(100)], cur_start, cur_end)
    window = TimeWindow(ref_start, ref_end)
    first = read_features("v1", window, _count("v1", window), 100)
    assert len(first) == 100  # not every 3rd row (67)
    assert read_features("v1", window, 201, 100) == first  # deterministic
    values = [row["x"] for row in first]
    assert values == sorted(values) and values[0] <= 2.0 and values[-1] == 200.0  # spread
    for rows, bound in ((201, 100), (150, 100), (101, 100), (5000, 7)):
        picked = [p for p in range(rows) if (p + 1) * bound // rows > p * bound // rows]
        assert len(picked) == bound
    report = compute_drift_report("v1", cur_start, cur_end, ref_start, ref_end)
    assert (report.reference_rows, report.current_rows) == (100, 100)


def test_other_versions_rows_in_the_window_are_not_read(add_predictions, drift_windows):
    _, _, cur_start, cur_end = drift_windows
    add_predictions("v1", [{"x": 1.0}] * 30, cur_start, cur_end)
    add_predictions("v2", [{"x": 2.0}] * 50, cur_start, cur_end)
    window = TimeWindow(cur_start, cur_end, closed=True)
    assert _count("v1", window) == 30
    assert {row["x"] for row in read_features("v1", window, 30, 1000)} == {1.0}
    assert len(read_features("v1", window, 30, 10)) == 10


@pytest.mark.skipif(not is_postgres(), reason="the query plan of PostgreSQL")
def test_the_read_of_a_side_uses_the_version_index_on_postgresql(add_predictions, drift_windows):
    _, _, cur_start, cur_end = drift_windows
    # Two versions interleaved in time, half the rows each: for a plain
    # "model_version = V AND timestamp in the window" PostgreSQL prefers the smaller
    # timestamp-only index and filters the other version's rows out one by one.
    for version in ("v1", "v2"):
        add_predictions(version, [{"x": 1.0}] * 2000, cur_start, cur_end)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE predictions_prediction")
    window = TimeWindow(cur_start, cur_end, closed=True)
    for rows, sample in ((2000, 5000), (2000, 100)):
        sql, params = sampled_predictions("v1", window, rows, sample).values(
            "features").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
        assert "prediction_version_time_cover" in plan, plan
        assert "using prediction_time " not in plan.lower(), plan


def test_the_monitor_evaluates_data_quality_rules_on_its_drift_report(add_predictions, rng):
    from datetime import timedelta

    from django.utils import timezone

    from alerting.monitor import run_monitor_pass
    from predictions.models import HealthSnapshot
    from predictions.registry import register_version

    now = timezone.now()
    ref_start, ref_end = now - timedelta(days=10), now - timedelta(days=3)
    for version, broken in (("broken", True), ("fine", False)):
        register_version({"version": version, "model_name": version,
                          "reference_start": ref_start, "reference_end": ref_end})
        add_predictions(version, [{"x": float(v)} for v in rng.normal(0, 1, 300)],
                        ref_start, ref_end)
        current = [{"x": float(v)} for v in rng.normal(0, 1, 200)]
        if broken:  # the pipeline drops x from 40 % of the rows
            for row in current[::5] + current[1::5]:
                del row["x"]
        add_predictions(version, current, now - timedelta(minutes=59), now - timedelta(seconds=1))
    AlertRule.objects.create(rule_id="missing-x", metric_name="max_feature_missing_rate",
                             comparison=">", threshold=0.1, component="data_quality")
    run_monitor_pass(window_minutes=60, now=now)
    alert = Alert.objects.get()
    assert (alert.model_version, alert.metric_value) == ("broken", pytest.approx(0.4))
    assert HealthSnapshot.objects.get(model_version="fine").metrics[
        "max_feature_missing_rate"] == 0.0
