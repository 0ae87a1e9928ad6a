"""Drift reports: PSI against numpy, KS and chi-squared against scipy, skips, thresholds."""
from datetime import timedelta

import numpy as np
import pytest
from scipy import stats

from predictions.drift import (
    DriftWindowError,
    InsufficientData,
    compute_drift_report,
    reference_window,
)
from predictions.models import DriftReport
from tests.mlops.conftest import register

pytestmark = pytest.mark.django_db


def numpy_psi(reference, current):
    """PSI written out independently: 9 decile cut points, a value's bin = cuts below it."""
    cuts = np.quantile(reference, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])

    def shares(values):
        bins = np.array([int(np.sum(cuts < v)) for v in values])
        return np.maximum(np.bincount(bins, minlength=10) / len(values), 1e-4)

    ref, cur = shares(reference), shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def category_psi(reference, current):
    categories = sorted(set(reference) | set(current))
    ref = np.maximum([reference.count(c) / len(reference) for c in categories], 1e-4)
    cur = np.maximum([current.count(c) / len(current) for c in categories], 1e-4)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _report(add_predictions, windows, reference_rows, current_rows, version="v1"):
    ref_start, ref_end, cur_start, cur_end = windows
    add_predictions(version, reference_rows, ref_start, ref_end)
    add_predictions(version, current_rows, cur_start, cur_end)
    return compute_drift_report(version, cur_start, cur_end, ref_start, ref_end)


def test_shifted_numeric_feature_drifts_and_matches_numpy_and_scipy(
    add_predictions, drift_windows, rng
):
    reference = rng.normal(0.0, 1.0, 400)
    current = rng.normal(0.5, 1.0, 300)  # half a standard deviation
    report = _report(
        add_predictions, drift_windows,
        [{"x": float(v)} for v in reference], [{"x": float(v)} for v in current],
    )
    entry = report.features["x"]
    ks = stats.ks_2samp(reference, current)
    assert entry["kind"] == "numeric"
    assert entry["psi"] == pytest.approx(numpy_psi(reference, current), rel=1e-9)
    assert entry["ks_statistic"] == pytest.approx(ks.statistic, rel=1e-12)
    assert entry["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-9)
    assert entry["drifted"] is True
    assert (report.reference_rows, report.current_rows) == (400, 300)
    assert report.num_features == 1 and report.num_drifted_features == 1
    assert report.feature_drift_ratio == 1.0
    assert report.drift_score == pytest.approx(entry["psi"])
    assert report.dataset_drift_detected is True


def test_unshifted_numeric_feature_does_not_drift(add_predictions, drift_windows, rng):
    reference = rng.normal(0.0, 1.0, 400)
    current = rng.normal(0.0, 1.0, 300)
    report = _report(
        add_predictions, drift_windows,
        [{"x": float(v)} for v in reference], [{"x": float(v)} for v in current],
    )
    entry = report.features["x"]
    assert entry["psi"] == pytest.approx(numpy_psi(reference, current), rel=1e-9)
    assert entry["ks_pvalue"] == pytest.approx(stats.ks_2samp(reference, current).pvalue)
    assert entry["psi"] < 0.2 and entry["ks_pvalue"] >= 0.05
    assert entry["drifted"] is False
    assert report.dataset_drift_detected is False
    assert report.feature_drift_ratio == 0.0


def test_value_equal_to_a_cut_point_goes_to_the_lower_bin(add_predictions, drift_windows):
    # Integers: many values sit exactly on the deciles.
    reference = [float(v % 10) for v in range(200)]
    current = [float(v % 5) for v in range(200)]
    report = _report(
        add_predictions, drift_windows,
        [{"x": v} for v in reference], [{"x": v} for v in current],
    )
    assert report.features["x"]["psi"] == pytest.approx(numpy_psi(reference, current))


def test_string_feature_uses_category_psi_and_chi_squared(add_predictions, drift_windows, rng):
    reference = list(rng.choice(["red", "green", "blue"], 400, p=[0.5, 0.3, 0.2]))
    current = list(rng.choice(["red", "green", "blue", "pink"], 300, p=[0.3, 0.3, 0.3, 0.1]))
    report = _report(
        add_predictions, drift_windows,
        [{"colour": str(v)} for v in reference], [{"colour": str(v)} for v in current],
    )
    entry = report.features["colour"]
    categories = ["blue", "green", "pink", "red"]
    table = [[reference.count(c) for c in categories], [current.count(c) for c in categories]]
    assert entry["kind"] == "categorical"
    assert entry["psi"] == pytest.approx(category_psi(reference, current), rel=1e-9)
    assert entry["chi2_pvalue"] == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-9)
    assert entry["drifted"] is True


def test_boolean_feature_is_compared_as_strings(add_predictions, drift_windows):
    reference = [{"flag": i % 2 == 0} for i in range(200)]
    current = [{"flag": i % 2 == 0} for i in range(200)]
    report = _report(add_predictions, drift_windows, reference, current)
    entry = report.features["flag"]
    assert entry["kind"] == "categorical"
    assert entry["psi"] == pytest.approx(0.0)
    assert entry["drifted"] is False


def test_feature_missing_from_most_rows_is_skipped_not_counted(
    add_predictions, drift_windows, rng
):
    reference = [{"x": float(v)} for v in rng.normal(0, 1, 200)]
    current = [{"x": float(v)} for v in rng.normal(0, 1, 200)]
    for i, row in enumerate(current):
        if i % 4 == 0:  # present in a quarter of the current rows only
            row["rare"] = 1.0
    for row in reference:
        row["rare"] = 1.0
    report = _report(add_predictions, drift_windows, reference, current)
    assert report.features["rare"]["skipped"] is True
    assert "150 of 200 current rows" in report.features["rare"]["reason"]
    assert report.num_features == 1
    assert set(report.features) == {"x", "rare"}


def test_dataset_drift_needs_the_drifted_share(add_predictions, drift_windows, rng, settings):
    settings.MONITORING_DRIFT_SHARE = 0.5
    reference = [{"a": float(a), "b": float(b), "c": float(c)}
                 for a, b, c in rng.normal(0, 1, (300, 3))]
    current = [{"a": float(a) + 1.0, "b": float(b), "c": float(c)}
               for a, b, c in rng.normal(0, 1, (300, 3))]
    report = _report(add_predictions, drift_windows, reference, current)
    assert report.num_features == 3
    assert report.num_drifted_features == 1
    assert report.feature_drift_ratio == pytest.approx(1 / 3)
    assert report.dataset_drift_detected is False


def test_too_few_rows_gives_no_report_and_names_the_side(add_predictions, drift_windows, rng):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    add_predictions("v1", [{"x": 1.0}] * 150, ref_start, ref_end)
    add_predictions("v1", [{"x": 1.0}] * 99, cur_start, cur_end)
    with pytest.raises(InsufficientData) as short:
        compute_drift_report("v1", cur_start, cur_end, ref_start, ref_end)
    assert (short.value.side, short.value.rows, short.value.needed) == ("current", 99, 100)
    with pytest.raises(InsufficientData) as short:
        compute_drift_report("v1", cur_start, cur_end, ref_start, ref_start + timedelta(hours=1))
    assert short.value.side == "reference"
    assert DriftReport.objects.count() == 0


def test_overlapping_windows_are_refused(add_predictions, drift_windows):
    ref_start, ref_end, _, _ = drift_windows
    with pytest.raises(DriftWindowError):
        compute_drift_report("v1", ref_end - timedelta(hours=1), ref_end, ref_start, ref_end)


def test_beyond_the_sample_bound_a_deterministic_even_sample(
    add_predictions, drift_windows, rng, settings
):
    settings.MONITORING_DRIFT_SAMPLE = 150
    ref_start, ref_end, cur_start, cur_end = drift_windows
    add_predictions("v1", [{"x": float(v)} for v in rng.normal(0, 1, 400)], ref_start, ref_end)
    add_predictions("v1", [{"x": float(v)} for v in rng.normal(0, 1, 120)], cur_start, cur_end)
    first = compute_drift_report("v1", cur_start, cur_end, ref_start, ref_end)
    second = compute_drift_report("v1", cur_start, cur_end, ref_start, ref_end)
    assert first.reference_rows == 150  # exactly the bound
    assert first.current_rows == 120
    assert first.features == second.features


def test_default_reference_is_the_first_days_of_the_version(add_predictions, settings):
    from django.utils import timezone

    settings.MONITORING_DRIFT_REFERENCE_DAYS = 7
    first = timezone.now() - timedelta(days=20)
    add_predictions("v9", [{"x": 1.0}], first, first + timedelta(minutes=1))
    window = reference_window("v9")
    assert (window.start, window.end) == (first, first + timedelta(days=7))
    registered = register("v9", reference_start=first + timedelta(days=1))
    window = reference_window(registered)
    assert (window.start, window.end) == (first + timedelta(days=1), first + timedelta(days=8))


def test_rows_with_different_keys_and_non_objects():
    from predictions.drift import feature_columns

    rows = [{"x": 1, "y": 2}, {"x": 3, "z": 4}, "not an object", {"x": 5, "y": None}]
    columns = feature_columns(rows)
    assert columns == {"x": [1, 3, 5], "y": [2, None, None], "z": [None, 4, None]}
    assert feature_columns([{"a": 1}, {"a": 2}]) == {"a": [1, 2]}
    assert feature_columns([]) == {}
