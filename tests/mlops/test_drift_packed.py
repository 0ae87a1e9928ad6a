"""A report read from the packed numbers is the report the JSON alone gives (issue 16).

``compute_drift_report`` reads the numbers packed at write time in binary and the rest
from the JSON (predictions.drift_read); ``read_features`` + ``compare_features`` is the
read before packing, from the ``features`` JSON alone. Same rows, same figures: every
float equal, not close.
"""
import numpy as np
import pytest

from predictions.drift import (
    TimeWindow,
    _count,
    compare_columns,
    compare_features,
    compute_drift_report,
    layout_counts,
    read_features,
    sampled_predictions,
)
from predictions.drift_read import read_columns, read_side
from predictions.feature_pack import EXACT_INT
from predictions.models import FeatureLayout, Prediction

pytestmark = pytest.mark.django_db


def awkward_features(rng, n, current):
    """Every kind of value a feature can hold, numbers packed or not."""
    rows = []
    for i in range(n):
        row = {
            "x": float(rng.normal(0.5 if current else 0.0, 1.0)),
            "n": int(rng.integers(0, 50)),
            "country": str(rng.choice(["FR", "DE", "US"] + (["ZZ"] if current else []))),
            "flag": bool(rng.integers(0, 2)),
            "reading": float(rng.normal(10.0, 2.0)) * (3.0 if current and i % 4 == 0 else 1.0),
        }
        if i % 17 == 0:
            row["n"] = EXACT_INT + 1 + i  # not exact in float64: stays in the JSON
        draw = i % 10
        if draw == 0:
            row["maybe"] = None
        elif draw != 1:
            row["maybe"] = float(i)  # absent when draw == 1
        if rng.random() >= 0.3:
            row["sparse"] = float(rng.normal())  # missing in about 30 % of rows
        # A number (int or float, whose text differs) in most rows, a string in some of
        # the current side's: a category, whose packed rows come back from the JSON.
        row["mixed"] = 3 if i % 3 == 0 else (3.0 if i % 3 == 1 else 2.5)
        if current and i % 11 == 0:
            row["mixed"] = "n/a"
        row["with_bool"] = True if (not current and i % 13 == 0) else float(i % 5)
        row["nested"] = {"a": i % 2} if i % 9 == 0 else i % 4
        if i % 5 == 0:
            row["rare"] = 1.0  # missing in 80 %: skipped
        rows.append(row)
    return rows


def store(version, features_list, start, end, packed_every=2):
    """Rows over [start, end): every ``packed_every``-th one packed (as a write path
    stores it), the others as rows stored before packing (NULL layout)."""
    from tests.conftest import store_predictions

    step = (end - start) / len(features_list)
    rows = [
        Prediction(prediction_id=f"{version}-{start.timestamp()}-{i}", model_version=version,
                   timestamp=start + step * i, predicted_outcome=1, confidence=0.5,
                   features=features)
        for i, features in enumerate(features_list)
    ]
    store_predictions(rows[::packed_every])
    Prediction.objects.bulk_create([row for i, row in enumerate(rows) if i % packed_every])


def json_summary(version, reference, current, sample):
    rows = [read_features(version, window, _count(version, window), sample)
            for window in (reference, current)]
    return compare_features(*rows)


def packed_summary(version, reference, current, sample):
    sides = [sampled_predictions(version, window, _count(version, window), sample)
             for window in (reference, current)]
    keys = [layout_counts(version, window) for window in (reference, current)]
    columns, rows = read_columns(sides, keys)
    return compare_columns(*columns, rows)


@pytest.fixture
def awkward(drift_windows, rng, settings):
    settings.MONITORING_DRIFT_SAMPLE = 150
    ref_start, ref_end, cur_start, cur_end = drift_windows
    store("v1", awkward_features(rng, 230, False), ref_start, ref_end)  # sampled to 150
    store("v1", awkward_features(rng, 120, True), cur_start, cur_end, packed_every=3)
    return TimeWindow(ref_start, ref_end), TimeWindow(cur_start, cur_end, closed=True)


def test_the_packed_read_gives_the_json_reads_report(awkward):
    reference, current = awkward
    assert Prediction.objects.filter(feature_layout__isnull=False).exists()
    assert Prediction.objects.filter(feature_layout__isnull=True).exists()
    expected = json_summary("v1", reference, current, 150)
    assert packed_summary("v1", reference, current, 150) == expected
    report = compute_drift_report("v1", current.start, current.end, reference.start,
                                  reference.end)
    assert (report.reference_rows, report.current_rows) == (150, 120)
    assert report.features == expected["features"]
    for name in ("num_features", "num_drifted_features", "feature_drift_ratio", "drift_score",
                 "dataset_drift_detected", "max_feature_missing_rate",
                 "max_out_of_range_rate", "new_category_count"):
        assert getattr(report, name) == expected[name], name
    features = report.features
    assert features["x"]["kind"] == "numeric" and features["reading"]["drifted"]
    assert features["n"]["kind"] == "numeric"  # ints beyond 2**53 from the JSON, alongside
    assert features["mixed"]["kind"] == "categorical"
    assert {"3", "3.0", "2.5", "n/a"} <= set(features["mixed"]["category_shares"]["values"])
    assert features["with_bool"]["kind"] == features["nested"]["kind"] == "categorical"
    assert features["country"]["new_categories"] == ["ZZ"]
    assert features["rare"]["skipped"]
    assert 0.2 < features["sparse"]["missing_rate"] < 0.4


def test_all_packed_rows_and_all_old_rows_give_the_same_report(drift_windows, rng):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    reference, current = TimeWindow(ref_start, ref_end), TimeWindow(cur_start, cur_end, True)
    ref_rows = [{"a": float(v), "b": int(v * 10)} for v in rng.normal(0, 1, 200)]
    cur_rows = [{"a": float(v), "b": int(v * 10)} for v in rng.normal(0.3, 1, 200)]
    store("packed", ref_rows, ref_start, ref_end, packed_every=1)
    store("packed", cur_rows, cur_start, cur_end, packed_every=1)
    store("old", ref_rows, ref_start, ref_end, packed_every=10**6)  # only row 0 packed
    store("old", cur_rows, cur_start, cur_end, packed_every=10**6)
    packed = packed_summary("packed", reference, current, 5000)
    assert packed == packed_summary("old", reference, current, 5000)
    assert packed == json_summary("packed", reference, current, 5000)
    side = read_side(sampled_predictions("packed", current, 200, 5000))
    assert [group.count for group in side.groups if group.key is not None] == [200]
    assert np.array_equal(np.sort(side.groups[0].packed[:, 0]),
                          np.sort([row["a"] for row in cur_rows]))


def test_rows_whose_layout_is_not_found_are_read_from_the_json(awkward):
    """A layout row gone (never done by the app): its rows are read from the JSON."""
    reference, current = awkward
    expected = json_summary("v1", reference, current, 150)
    FeatureLayout.objects.filter(pk=Prediction.objects.filter(
        feature_layout__isnull=False).values("feature_layout_id")[:1]).delete()
    assert packed_summary("v1", reference, current, 150) == expected


def test_repeated_other_keys_are_decoded_once_and_weighted(drift_windows, rng):
    """The strings of packed rows are counted by identical text: 3 distinct texts for
    300 rows, the same report as the JSON's."""
    ref_start, ref_end, cur_start, cur_end = drift_windows
    reference, current = TimeWindow(ref_start, ref_end), TimeWindow(cur_start, cur_end, True)
    plans = ["basic", "plus", "pro"]
    store("v1", [{"x": float(i), "plan": plans[i % 3]} for i in range(300)], ref_start,
          ref_end, packed_every=1)
    store("v1", [{"x": float(i), "plan": plans[i % 2]} for i in range(300)], cur_start,
          cur_end, packed_every=1)
    side = read_side(sampled_predictions("v1", reference, 300, 5000))
    packed = [group for group in side.groups if group.key is not None]
    assert len(packed) == 1 and len(packed[0].others) == 3
    assert sorted(packed[0].weights.tolist()) == [100, 100, 100]
    expected = json_summary("v1", reference, current, 5000)
    assert packed_summary("v1", reference, current, 5000) == expected
    assert expected["features"]["plan"]["category_shares"]["current"][:2] == [0.5, 0.5]


def test_objects_that_are_not_dicts_count_as_rows_with_every_feature_missing(drift_windows):
    ref_start, ref_end, cur_start, cur_end = drift_windows
    reference, current = TimeWindow(ref_start, ref_end), TimeWindow(cur_start, cur_end, True)
    store("v1", [{"a": float(i)} for i in range(40)] + [[1, 2]] * 10, ref_start, ref_end)
    store("v1", [{"a": float(i) + 5} for i in range(40)] + ["text"] * 5, cur_start, cur_end)
    expected = json_summary("v1", reference, current, 5000)
    assert packed_summary("v1", reference, current, 5000) == expected
    assert expected["features"]["a"]["missing_rate"] == 5 / 45
