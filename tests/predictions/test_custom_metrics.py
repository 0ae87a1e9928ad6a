"""Metrics a service pushes: stored all or nothing, series per step equal numpy per bucket."""
import json
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from predictions.custom_metrics import custom_series, window_value
from predictions.models import PerformanceMetric
from predictions.rollups import rebuild

URL = "/api/v1/metrics/custom/"
START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def pusher(api_client_for):
    return api_client_for(perms=["predictions.add_performancemetric"])


def _push(client, items):
    return client.post(URL, data=json.dumps(items), content_type="application/json")


def test_pushed_values_make_a_series_equal_to_numpy_per_bucket(pusher):
    rng = random.Random(5)
    items = [
        {"metric_name": "api_latency", "value": rng.uniform(1, 100), "model_version": "v3",
         "timestamp": (START + timedelta(minutes=rng.randrange(3 * 24 * 60))).isoformat(),
         "metadata": {"host": "a"}}
        for _ in range(500)
    ]
    items.append({"metric_name": "api_latency", "value": 1e6, "model_version": "v4",
                  "timestamp": START.isoformat()})
    response = _push(pusher, items)
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 501}
    for step, hours in (("1h", 1), ("6h", 6), ("1d", 24)):
        points = custom_series("api_latency", "v3", START, START + timedelta(days=3), step)
        assert len(points) == 72 // hours
        for point in points:
            lo, hi = point["start"], point["start"] + timedelta(hours=hours)
            values = np.array([
                i["value"] for i in items
                if i["model_version"] == "v3" and lo <= datetime.fromisoformat(i["timestamp"]) < hi
            ])
            assert point["count"] == len(values)
            if len(values):
                assert point["sum"] == pytest.approx(values.sum(), rel=1e-12)
                assert point["avg"] == pytest.approx(values.mean(), rel=1e-12)
                assert point["min"] == values.min() and point["max"] == values.max()
            else:
                assert point["avg"] is None and point["max"] is None
    assert rebuild().differences == []


def test_window_value_joins_whole_hours_and_partial_edges(db, pusher):
    times = [START + timedelta(minutes=m) for m in (10, 50, 70, 130, 185)]
    _push(pusher, [{"metric_name": "q", "value": float(i + 1), "model_version": "v",
                    "timestamp": t.isoformat()} for i, t in enumerate(times)])
    start, end = START + timedelta(minutes=30), START + timedelta(minutes=180)
    # Inside [00:30, 03:00): the values at 00:50, 01:10, 02:10 → 2, 3, 4.
    assert window_value("q", "v", start, end, "avg") == pytest.approx(3.0)
    assert window_value("q", "v", start, end, "max") == 4.0
    assert window_value("q", "v", start, end, "min") == 2.0
    assert window_value("q", "v", start, end, "sum") == 9.0
    assert window_value("q", "v", start, end, "count") == 3.0
    assert window_value("q", "other", start, end, "avg") is None


def test_the_names_seen_are_listed(pusher):
    _push(pusher, [{"metric_name": "gpu.util", "value": 0.5, "model_version": "v1"},
                   {"metric_name": "gpu.util", "value": 0.7, "model_version": "v2"},
                   {"metric_name": "queue-depth", "value": 3}])
    body = pusher.get(URL).json()
    assert [(n["metric_name"], n["model_versions"], n["count"]) for n in body] == [
        ("gpu.util", ["v1", "v2"], 2), ("queue-depth", [], 1)
    ]


@pytest.mark.parametrize("bad,field", [
    ({"metric_name": "has space", "value": 1}, "metric_name"),
    ({"metric_name": "x" * 65, "value": 1}, "metric_name"),
    ({"metric_name": "ok", "value": "NaN-text"}, "value"),
    ({"metric_name": "ok"}, "value"),
    ({"metric_name": "ok", "value": 1, "timestamp": "yesterday"}, "timestamp"),
    ({"metric_name": "ok", "value": 1, "metdata": {}}, "metdata"),
])
def test_a_bad_item_is_a_400_naming_it_and_nothing_is_stored(pusher, bad, field):
    response = _push(pusher, [{"metric_name": "fine", "value": 1.0}, bad])
    assert response.status_code == 400
    assert field in response.json()["errors"]["1"]
    assert PerformanceMetric.objects.count() == 0


def test_a_non_finite_value_is_named(pusher):
    response = pusher.post(URL, data='[{"metric_name": "m", "value": NaN}]',
                           content_type="application/json")
    assert response.status_code == 400
    assert "value" in response.json()["errors"]["0"]
    assert PerformanceMetric.objects.count() == 0


def test_pushing_needs_the_permission(api_client_for, db):
    response = _push(api_client_for(), [{"metric_name": "m", "value": 1}])
    assert response.status_code == 403


def test_the_custom_series_names_a_bad_parameter(pusher):
    response = pusher.get(URL + "series/", {"metric_name": "m", "step": "2h"})
    assert response.status_code == 400 and "step" in response.json()
    response = pusher.get(URL + "series/", {"metric_name": "m", "bogus": "1"})
    assert response.status_code == 400 and "bogus" in response.json()
