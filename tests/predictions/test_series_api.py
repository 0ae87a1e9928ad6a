"""GET metrics/series/: the §9 contract over HTTP, and a 400 naming each bad parameter."""
from datetime import UTC, datetime, timedelta

import pytest

from predictions.outcomes import record_outcomes
from predictions.storage import ingest_predictions

URL = "/api/v1/metrics/series/"
START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def reader(api_client_for):
    return api_client_for()


@pytest.fixture
def history(db):
    ingest_predictions([
        {"prediction_id": f"h{i}", "model_version": "v3", "predicted_outcome": (i + 1) % 2,
         "confidence": 0.9, "timestamp": (START + timedelta(hours=i)).isoformat()}
        for i in range(48)
    ])
    record_outcomes([{"prediction_id": f"h{i}", "actual_outcome": 1} for i in range(0, 48, 2)])


def test_a_day_per_step_of_6h_has_every_bucket(reader, history):
    response = reader.get(URL, {"model_version": "v3", "start": "2026-11-02T00:00:00Z",
                                "end": "2026-11-03T00:00:00Z", "step": "6h"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["step"] == "6h" and body["model_version"] == "v3"
    assert [p["start"] for p in body["points"]] == [
        f"2026-11-02T{h:02d}:00:00Z" for h in (0, 6, 12, 18)
    ]
    first = body["points"][0]
    assert first["num_predictions"] == 6 and first["num_with_outcome"] == 3
    assert first["accuracy"] == 1.0 and first["label_coverage"] == 0.5
    assert first["positive_rate"] == 0.5


def test_metrics_picks_the_figures(reader, history):
    response = reader.get(URL, {"model_version": "v3", "start": "2026-11-02T00:00:00Z",
                                "end": "2026-11-02T02:00:00Z", "metrics": "accuracy,f1_score"})
    assert response.status_code == 200
    assert set(response.json()["points"][0]) == {"start", "accuracy", "f1_score"}


def test_an_unknown_version_has_empty_points(reader, db):
    response = reader.get(URL, {"model_version": "nobody", "start": "2026-11-02T00:00:00Z",
                                "end": "2026-11-02T03:00:00Z"})
    assert response.status_code == 200
    assert [p["num_predictions"] for p in response.json()["points"]] == [0, 0, 0]


def test_a_year_before_1000_is_written_with_four_digits(reader, db):
    # RFC 3339 wants four: strftime("%Y") wrote "523-10-07T06:00:00Z" (found by fuzzing).
    response = reader.get(URL, {"model_version": "nobody", "start": "0523-10-07T06:00:00Z",
                                "end": "0523-10-07T08:00:00Z"})
    assert response.status_code == 200
    assert [p["start"] for p in response.json()["points"]] == [
        "0523-10-07T06:00:00Z", "0523-10-07T07:00:00Z"]


@pytest.mark.parametrize("params,parameter", [
    ({"start": "2026-11-03T00:00:00Z", "end": "2026-11-02T00:00:00Z"}, "start"),
    ({"step": "5m"}, "step"),
    ({"metrics": "accuracy,nope"}, "metrics"),
    ({"start": "2026-11-02T00:00:00"}, "start"),
    ({"end": "yesterday"}, "end"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "step"),
    ({"window": "60"}, "window"),
    ({"model_version": ""}, "model_version"),
])
def test_a_bad_parameter_is_a_400_naming_it(reader, db, params, parameter):
    response = reader.get(URL, {"model_version": "v3", **params})
    assert response.status_code == 400, response.content
    assert parameter in response.json()


def test_anonymous_is_refused(anonymous_client, db):
    assert anonymous_client.get(URL, {"model_version": "v3"}).status_code == 401
