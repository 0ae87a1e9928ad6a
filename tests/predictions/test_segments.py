"""Figures per segment (SPEC §13) equal scikit-learn on each value's rows; the tail is
"(other)", computed in the database."""
import itertools
from collections import defaultdict
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from predictions.metrics import MetricWindow
from predictions.models import Prediction
from predictions.segments import segment_metrics, worst_segments
from tests.conftest import store_predictions

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def add(rows, version="v1", minutes_ago=5):
    """rows: (features, metadata, predicted, actual) tuples, stored a second apart."""
    now = timezone.now() - timedelta(minutes=minutes_ago)
    store_predictions([
        Prediction(prediction_id=f"s{next(_ids):08d}", model_version=version,
                   timestamp=now - timedelta(seconds=i), predicted_outcome=predicted,
                   confidence=0.7, actual_outcome=actual, features=features, metadata=metadata)
        for i, (features, metadata, predicted, actual) in enumerate(rows)
    ], batch_size=1000)


def window(version="v1"):
    return MetricWindow.last(version, 60)


def sklearn_figures(pairs):
    y_pred = [p for p, a in pairs if a is not None]
    y_true = [a for p, a in pairs if a is not None]
    if not y_true:
        return None
    binary = set(y_true) | set(y_pred) <= {0, 1}
    average = "binary" if binary else "macro"
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred, average=average, zero_division=0),
        "recall": recall_score(y_true, y_pred, average=average, zero_division=0),
        "f1_score": f1_score(y_true, y_pred, average=average, zero_division=0),
    }


@pytest.mark.parametrize("classes", [(0, 1), (0, 1, 2)])
def test_each_value_matches_sklearn_and_is_ordered_worst_first(classes):
    rng = np.random.default_rng(7)
    countries = ["DE", "FR", "IT", "ES"]
    rows, truth = [], defaultdict(list)
    for _ in range(600):
        country = str(rng.choice(countries))
        actual = int(rng.choice(classes))
        error_rate = {"DE": 0.05, "FR": 0.3, "IT": 0.5, "ES": 0.2}[country]
        predicted = actual if rng.random() > error_rate else int(rng.choice(classes))
        labelled = rng.random() < 0.8
        rows.append(({"country": country}, {}, predicted, actual if labelled else None))
        truth[country].append((predicted, actual if labelled else None))
    add(rows)
    answer = segment_metrics(window(), "country")
    every = [pair for pairs in truth.values() for pair in pairs]
    overall = sklearn_figures(every)["accuracy"]
    assert answer["overall_accuracy"] == pytest.approx(overall)
    assert [s["value"] for s in answer["segments"]] == sorted(
        countries, key=lambda c: sklearn_figures(truth[c])["accuracy"])
    for segment in answer["segments"]:
        expected = sklearn_figures(truth[segment["value"]])
        assert segment["n"] == len(truth[segment["value"]])
        assert segment["num_with_outcome"] == sum(a is not None for _, a in
                                                  truth[segment["value"]])
        for name in ("accuracy", "precision", "recall", "f1_score"):
            assert segment[name] == pytest.approx(expected[name], abs=1e-12), name
        assert segment["accuracy_gap"] == pytest.approx(expected["accuracy"] - overall)


def test_the_twenty_most_frequent_values_and_other_for_the_tail():
    rows = []
    for value in range(25):  # value v appears 30 - v times: 0..19 are the top twenty
        for i in range(30 - value):
            actual = i % 2
            predicted = actual if value % 3 else 1 - actual if i % 3 == 0 else actual
            rows.append(({"shop": value}, {}, predicted, actual))
    add(rows)
    answer = segment_metrics(window(), "shop")
    values = {s["value"] for s in answer["segments"]}
    assert values == {str(v) for v in range(20)} | {"(other)"}
    other = next(s for s in answer["segments"] if s["value"] == "(other)")
    tail = [(p, a) for f, _, p, a in rows if f["shop"] >= 20]
    assert other["n"] == len(tail) == 10 + 9 + 8 + 7 + 6
    for name, value in sklearn_figures(tail).items():
        assert other[name] == pytest.approx(value)


def test_values_compare_as_strings_and_features_come_before_metadata():
    add([
        ({"flag": True}, {"flag": "ignored"}, 1, 1),
        ({"flag": "true"}, {}, 1, 0),
        ({}, {"flag": False}, 1, 1),
        ({"flag": 1.5}, {}, 0, 0),
        ({"flag": 2}, {}, 0, 1),
        ({"flag": None}, {}, 0, 0),  # null: no value (and no metadata either)
    ])
    answer = segment_metrics(window(), "flag")
    by_value = {s["value"]: s for s in answer["segments"]}
    assert set(by_value) == {"true", "false", "1.5", "2"}
    assert by_value["true"]["n"] == 2 and by_value["true"]["accuracy"] == 0.5
    assert by_value["false"]["n"] == 1
    assert answer["overall_accuracy"] == pytest.approx(4 / 6)


def test_a_segment_without_labels_has_null_figures_and_comes_last():
    add([({"c": "a"}, {}, 1, 0)] * 3 + [({"c": "b"}, {}, 1, None)] * 5
        + [({"c": "z"}, {}, 1, 1)] * 2)
    segments = segment_metrics(window(), "c")["segments"]
    assert [s["value"] for s in segments] == ["a", "z", "b"]
    assert segments[-1]["accuracy"] is None and segments[-1]["precision"] is None
    assert segments[-1]["accuracy_gap"] is None


def test_an_unknown_key_gives_no_segment():
    add([({"c": "a"}, {}, 1, 1)] * 3)
    answer = segment_metrics(window(), "nope")
    assert answer["segments"] == []
    assert answer["overall_accuracy"] == 1.0


def test_ten_thousand_values_answer_twenty_and_other_in_two_grouped_queries():
    add([({"user": f"u{i:05d}"}, {}, 1, i % 2) for i in range(10_000)]
        + [({"user": "u00042"}, {}, 1, 1)] * 4)
    with CaptureQueriesContext(connection) as queries:
        answer = segment_metrics(MetricWindow("v1"), "user")  # all time: 10,004 s of rows
    assert len(queries) == 2
    assert len(answer["segments"]) == 21
    by_value = {s["value"]: s for s in answer["segments"]}
    assert by_value["u00042"]["n"] == 5
    assert by_value["(other)"]["n"] == 10_004 - sum(
        s["n"] for s in answer["segments"] if s["value"] != "(other)")


def test_other_versions_and_rows_outside_the_window_are_left_out():
    add([({"c": "a"}, {}, 1, 1)] * 3)
    add([({"c": "a"}, {}, 1, 0)] * 3, version="v2")
    add([({"c": "a"}, {}, 1, 0)] * 3, minutes_ago=120)
    segments = segment_metrics(window(), "c")["segments"]
    assert [(s["value"], s["n"], s["accuracy"]) for s in segments] == [("a", 3, 1.0)]


def test_worst_segments_across_keys_need_enough_labels():
    rows = []
    for i in range(200):
        country = ["DE", "FR", "NL", "PL"][i % 4]
        channel = ["web", "app"][i // 4 % 2]
        actual = i % 2
        predicted = 1 - actual if country == "NL" else actual
        rows.append(({"country": country}, {"channel": channel}, predicted, actual))
    rows += [({"country": "LU"}, {"channel": "web"}, 1, 0)] * 5  # too few labels to name
    add(rows)
    worst = worst_segments(window(), min_samples=20)
    assert worst[0] == {"key": "country", "value": "NL", "n": 50, "num_with_outcome": 50,
                        "accuracy": 0.0}
    assert len(worst) == 5
    assert all(s["value"] != "LU" for s in worst)
    assert {s["key"] for s in worst} == {"country", "channel"}
    assert [s["accuracy"] for s in worst] == sorted(s["accuracy"] for s in worst)
