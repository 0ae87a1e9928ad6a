"""GET metrics/segments/ over the API: the answer, its window, bad input, the schema."""
from datetime import timedelta

import pytest
from django.utils import timezone

from predictions.models import Prediction
from tests.conftest import store_predictions

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/segments/"
NOW = timezone.now()


@pytest.fixture
def reader(api_client_for):
    return api_client_for()


def add_rows(version="v1", minutes_ago=5, prefix="a"):
    rows = []
    for n in range(40):
        country = "DE" if n % 2 else "NL"
        actual = n % 3 % 2
        predicted = actual if country == "DE" else 1 - actual
        rows.append(Prediction(
            prediction_id=f"{prefix}{version}-{n}", model_version=version,
            timestamp=NOW - timedelta(minutes=minutes_ago), predicted_outcome=predicted,
            confidence=0.8, actual_outcome=actual, features={"country": country},
            metadata={"channel": "web"},
        ))
    store_predictions(rows)


def test_segments_of_a_version_worst_first(reader):
    add_rows()
    add_rows(version="v2")
    answer = reader.get(URL, {"model_version": "v1", "key": "country"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["model_version"], body["key"], body["overall_accuracy"]) == ("v1", "country", 0.5)
    assert [(s["value"], s["n"], s["accuracy"], s["accuracy_gap"]) for s in body["segments"]] == [
        ("NL", 20, 0.0, -0.5), ("DE", 20, 1.0, 0.5)]
    assert set(body["segments"][0]) == {"value", "n", "num_with_outcome", "accuracy",
                                        "precision", "recall", "f1_score", "accuracy_gap"}
    metadata = reader.get(URL, {"model_version": "v1", "key": "channel"}).json()
    assert [(s["value"], s["n"]) for s in metadata["segments"]] == [("web", 40)]


def test_the_window_parameters_choose_the_rows(reader):
    add_rows(minutes_ago=5)
    add_rows(minutes_ago=300, prefix="old")
    recent = reader.get(URL, {"model_version": "v1", "key": "country", "window_minutes": 60})
    assert sum(s["n"] for s in recent.json()["segments"]) == 40
    start = (NOW - timedelta(hours=6)).isoformat()
    end = (NOW - timedelta(hours=4)).isoformat()
    old = reader.get(URL, {"model_version": "v1", "key": "country", "start": start, "end": end})
    assert old.status_code == 200, old.json()
    assert sum(s["n"] for s in old.json()["segments"]) == 40


def test_an_unknown_key_answers_an_empty_list(reader):
    add_rows()
    answer = reader.get(URL, {"model_version": "v1", "key": "no-such-key"})
    assert answer.status_code == 200
    assert answer.json()["segments"] == []


@pytest.mark.parametrize("query, field", [
    ({"key": "country"}, "model_version"),
    ({"model_version": "v1"}, "key"),
    ({"model_version": "v1", "key": ""}, "key"),
    ({"model_version": "v1", "key": "country", "colour": "red"}, "colour"),
    ({"model_version": "v1", "key": "country", "window_minutes": "0"}, "window_minutes"),
])
def test_bad_parameters_are_a_400_naming_the_field(reader, query, field):
    answer = reader.get(URL, query)
    assert answer.status_code == 400
    assert field in answer.json()


def test_anonymous_requests_are_refused(anonymous_client):
    assert anonymous_client.get(URL, {"model_version": "v1", "key": "c"}).status_code == 401


def test_the_endpoint_is_in_the_openapi_document(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "model_version", "key", "window_minutes", "start", "end"}
    assert {"200", "400", "401"} <= set(operation["responses"])
