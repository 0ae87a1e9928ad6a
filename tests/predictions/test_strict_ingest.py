"""An ingested item with a key the API does not know is a 400 naming it (SPEC §11).

``MONITORING_INGEST_STRICT=false`` ignores unknown keys instead; the legacy importer, which
reads the old library's files, is never strict.
"""
import json

import pytest
from django.test import override_settings

from legacy.importing import import_legacy_dir
from predictions.models import PerformanceMetric, Prediction
from predictions.unknown_fields import closest_field, field_path
from predictions.validation import PREDICTION_FIELD

ALL_PERMS = ["predictions.add_prediction", "predictions.change_prediction",
             "predictions.add_performancemetric"]


@pytest.fixture
def service(api_client_for):
    return api_client_for(perms=ALL_PERMS)


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def item(n, **extra):
    return {"prediction_id": f"req-{n}", "model_version": "v1", "predicted_outcome": 1,
            "confidence": 0.75, "timestamp": "2026-11-24T10:00:00Z", **extra}


def test_a_misspelled_field_is_named_with_the_field_meant(service):
    batch = [item(0), item(1), item(2), item(3, ts="2026-11-24T11:00:00Z")]
    response = post(service, "/api/v1/predictions/", batch)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "1 of 4 predictions are invalid; nothing was stored."
    assert body["errors"] == {"3": {"ts": "Unknown field items[3].ts; did you mean timestamp?"}}
    assert Prediction.objects.count() == 0


def test_every_unknown_key_is_named_beside_the_other_errors(service):
    response = post(service, "/api/v1/predictions/",
                    [item(0, latency=12.5, confidence=7, shard="a")])
    assert response.status_code == 400
    errors = response.json()["errors"]["0"]
    assert errors["latency"] == "Unknown field items[0].latency; did you mean latency_ms?"
    assert errors["shard"].startswith("Unknown field items[0].shard; the fields are "
                                      "prediction_id, model_version,")
    assert errors["confidence"] == "Must be between 0 and 1."


def test_one_object_is_item_zero(service):
    response = post(service, "/api/v1/predictions/", item(0, Timestamp=1))
    assert response.status_code == 400
    assert response.json()["errors"]["0"]["Timestamp"].endswith("did you mean timestamp?")


def test_every_documented_field_is_accepted(service):
    full = item(0, features={"a": 1}, metadata={"b": 2}, latency_ms=3.5, actual_outcome=1,
                actual_outcome_timestamp="2026-11-24T12:00:00Z")
    assert set(full) == set(PREDICTION_FIELD)
    assert post(service, "/api/v1/predictions/", [full]).status_code == 201


@override_settings(MONITORING_INGEST_STRICT=False)
def test_the_opt_out_ignores_unknown_keys(service):
    response = post(service, "/api/v1/predictions/", [item(0, ts=5, shard="a")])
    assert response.status_code == 201, response.json()
    stored = Prediction.objects.get()
    assert stored.features == {} and stored.metadata == {}
    # Re-sent identically: still a duplicate, the ignored keys change nothing.
    again = post(service, "/api/v1/predictions/", [item(0, ts=6)])
    assert again.json() == {"created": 0, "duplicates": 1}


def test_outcomes_name_unknown_keys_too(service, make_prediction):
    make_prediction(prediction_id="req-0")
    response = post(service, "/api/v1/outcomes/",
                    [{"prediction_id": "req-0", "actual_outcome": 1, "label": 1}])
    assert response.status_code == 400
    assert response.json()["errors"]["0"]["label"] == (
        "Unknown field items[0].label; the fields are prediction_id, actual_outcome."
    )
    assert Prediction.objects.get().actual_outcome is None
    with override_settings(MONITORING_INGEST_STRICT=False):
        response = post(service, "/api/v1/outcomes/",
                        [{"prediction_id": "req-0", "actual_outcome": 1, "label": 1}])
    assert response.json() == {"updated": 1, "not_found": []}


def test_pushed_metrics_name_unknown_keys_too(service):
    response = post(service, "/api/v1/metrics/custom/",
                    [{"metric_name": "q", "value": 1.0, "model": "v1"}])
    assert response.status_code == 400
    assert response.json()["errors"]["0"] == {
        "model": "Unknown field items[0].model; did you mean model_version?"
    }
    with override_settings(MONITORING_INGEST_STRICT=False):
        response = post(service, "/api/v1/metrics/custom/",
                        [{"metric_name": "q", "value": 1.0, "model": "v1"}])
    assert response.status_code == 201
    assert PerformanceMetric.objects.get().model_version == ""


def test_the_legacy_importer_keeps_reading_extra_keys(tmp_path, db):
    line = {**item(0), "timestamp": 1767225600.5, "features": {"x": 1},
            "written_by": "legacy-lib 0.3", "ts": 1}
    (tmp_path / "predictions.jsonl").write_text(json.dumps(line) + "\n")
    report = import_legacy_dir(tmp_path)
    assert report.files["predictions.jsonl"].imported == 1
    assert Prediction.objects.get().features == {"x": 1}


@pytest.mark.parametrize(("key", "meant"), [
    ("ts", "timestamp"),
    ("latency", "latency_ms"),
    ("TIMESTAMP", "timestamp"),
    ("version", "model_version"),
    ("confidence_score", "confidence"),
    ("actual", "actual_outcome"),
    ("predicted", "predicted_outcome"),
    ("zzz", None),
    ("", None),
])
def test_closest_field(key, meant):
    assert closest_field(key, PREDICTION_FIELD.keys()) == meant


def test_field_path_quotes_keys_that_are_not_names():
    assert field_path(3, "ts") == "items[3].ts"
    assert field_path(0, "a b") == 'items[0]["a b"]'
