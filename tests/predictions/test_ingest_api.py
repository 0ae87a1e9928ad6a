"""POST/GET predictions/: all-or-nothing batches, idempotent retries, clear errors."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from predictions.models import Prediction

URL = "/api/v1/predictions/"
INGEST = ["predictions.add_prediction"]


def item(n=1, **overrides):
    values = {
        "prediction_id": f"req-{n}",
        "model_version": "v1",
        "predicted_outcome": 1,
        "confidence": 0.75,
        "features": {"age": 41},
        "timestamp": "2026-11-24T10:00:00Z",
    }
    values.update(overrides)
    return values


def post_json(client, body):
    if not isinstance(body, str | bytes):
        body = json.dumps(body)
    return client.post(URL, data=body, content_type="application/json")


@pytest.fixture
def ingester(api_client_for):
    return api_client_for(perms=INGEST)


def test_ingest_a_batch(ingester):
    response = post_json(ingester, [item(1), item(2, latency_ms=4.5), item(3, actual_outcome=0)])
    assert response.status_code == 201
    assert response.json() == {"created": 3, "duplicates": 0}
    assert Prediction.objects.count() == 3
    assert Prediction.objects.get(prediction_id="req-2").latency_ms == 4.5


def test_ingest_a_single_object(ingester):
    response = post_json(ingester, item(1, timestamp=1_700_000_000))
    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": 0}
    assert Prediction.objects.get().timestamp == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_identical_resend_leaves_the_count_unchanged(ingester):
    post_json(ingester, [item(1), item(2)])
    response = post_json(ingester, [item(1), item(2)])
    assert response.status_code == 201
    assert response.json() == {"created": 0, "duplicates": 2}
    assert Prediction.objects.count() == 2


def test_conflicting_resend_is_409_and_stores_nothing(ingester):
    post_json(ingester, [item(1)])
    response = post_json(ingester, [item(7), item(1, predicted_outcome=0)])
    assert response.status_code == 409
    assert response.json()["prediction_ids"] == ["req-1"]
    assert "detail" in response.json()
    assert list(Prediction.objects.values_list("prediction_id", flat=True)) == ["req-1"]
    assert Prediction.objects.get().predicted_outcome == 1


def test_invalid_item_inside_a_valid_batch_names_index_and_field(ingester):
    response = post_json(ingester, [item(1), item(2), item(3), item(4, confidence=1.5)])
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"3": {"confidence": "Must be between 0 and 1."}}
    assert "nothing was stored" in body["detail"]
    assert Prediction.objects.count() == 0


def test_nan_confidence_is_rejected(ingester):
    # Python's JSON parser accepts NaN; the validator must not.
    body = '[{"prediction_id": "a", "model_version": "v1", "predicted_outcome": 1, ' \
           '"confidence": NaN}]'
    response = post_json(ingester, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"0": {"confidence": "Must be a finite number."}}
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"confidence": None}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"predicted_outcome": "1"}, "predicted_outcome"),
        ({"predicted_outcome": True}, "predicted_outcome"),
        ({"prediction_id": "x" * 129}, "prediction_id"),
        ({"model_version": ["v1"]}, "model_version"),
        ({"features": "age=41"}, "features"),
        ({"metadata": [1]}, "metadata"),
        ({"timestamp": "not a date"}, "timestamp"),
        ({"latency_ms": -3}, "latency_ms"),
        ({"actual_outcome": "no"}, "actual_outcome"),
        ({"features": {"note": "nul\u0000here"}}, "features"),
    ],
)
def test_each_bad_field_is_named(ingester, bad, field):
    response = post_json(ingester, [item(1), item(2, **bad)])
    assert response.status_code == 400
    assert list(response.json()["errors"]["1"]) == [field]
    assert Prediction.objects.count() == 0


def test_missing_fields_are_each_named(ingester):
    response = post_json(ingester, [{"features": {}}])
    assert response.status_code == 400
    assert set(response.json()["errors"]["0"]) == {
        "prediction_id", "model_version", "predicted_outcome", "confidence",
    }


@pytest.mark.parametrize("body", ["{not json", "", "[1, 2", b"\xff\xfe\x00", "42", '"text"'])
def test_non_json_or_non_object_body_is_400(ingester, body):
    response = post_json(ingester, body)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert Prediction.objects.count() == 0


def test_deeply_nested_body_is_400_not_500(ingester):
    response = post_json(ingester, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400


def test_form_encoded_body_is_400(ingester):
    response = ingester.post(URL, data={"prediction_id": "a"})
    assert response.status_code == 400
    assert Prediction.objects.count() == 0


def test_empty_batch_stores_nothing(ingester):
    response = post_json(ingester, [])
    assert response.status_code == 201
    assert response.json() == {"created": 0, "duplicates": 0}


@override_settings(MONITORING_MAX_BATCH=3)
def test_batch_over_the_limit_is_413(ingester):
    response = post_json(ingester, [item(n) for n in range(4)])
    assert response.status_code == 413
    assert "At most 3" in response.json()["detail"]
    assert Prediction.objects.count() == 0
    assert post_json(ingester, [item(n) for n in range(3)]).status_code == 201


@override_settings(MONITORING_MAX_BATCH=1)
def test_body_far_over_the_limit_is_413_before_parsing(ingester):
    response = post_json(ingester, [item(1, metadata={"pad": "x" * 20_000})])
    assert response.status_code == 413


def test_anonymous_is_401(anonymous_client, db):
    response = post_json(anonymous_client, [item(1)])
    assert response.status_code == 401
    assert anonymous_client.get(URL).status_code == 401
    assert Prediction.objects.count() == 0


def test_without_permission_is_403(api_client_for):
    reader = api_client_for(perms=[])
    response = post_json(reader, [item(1)])
    assert response.status_code == 403
    assert Prediction.objects.count() == 0


def test_session_login_can_ingest(client, make_user):
    user = make_user(perms=INGEST)
    client.force_login(user)
    response = client.post(URL, data=json.dumps([item(1)]), content_type="application/json")
    assert response.status_code == 201


# --- reading --------------------------------------------------------------------------------


def test_list_is_newest_first_with_cursor_pagination(api_client_for, make_prediction):
    now = timezone.now()
    for minutes in range(5):
        make_prediction(prediction_id=f"p{minutes}", timestamp=now - timedelta(minutes=minutes))
    reader = api_client_for()
    page = reader.get(URL, {"page_size": 2}).json()
    assert [p["prediction_id"] for p in page["results"]] == ["p0", "p1"]
    page = reader.get(page["next"]).json()
    assert [p["prediction_id"] for p in page["results"]] == ["p2", "p3"]


def test_list_filters(api_client_for, make_prediction):
    now = timezone.now()
    make_prediction(prediction_id="old", timestamp=now - timedelta(days=2))
    make_prediction(prediction_id="new", timestamp=now, actual_outcome=1)
    make_prediction(prediction_id="other", model_version="v2", timestamp=now)
    reader = api_client_for()

    def ids(**params):
        response = reader.get(URL, params)
        assert response.status_code == 200, response.content
        return sorted(p["prediction_id"] for p in response.json()["results"])

    assert ids(model_version="v1") == ["new", "old"]
    assert ids(since=(now - timedelta(days=1)).isoformat()) == ["new", "other"]
    assert ids(until=(now - timedelta(days=1)).isoformat()) == ["old"]
    assert ids(has_outcome="true") == ["new"]
    assert ids(has_outcome="false") == ["old", "other"]


@pytest.mark.parametrize(
    "params",
    [{"since": "yesterday"}, {"has_outcome": "maybe"}, {"since": "0001-01-01T00:00:00+05:00"}],
)
def test_bad_list_filters_are_400(api_client_for, params):
    assert api_client_for().get(URL, params).status_code == 400


def test_retrieve_by_prediction_id_with_dots_and_dashes(api_client_for, make_prediction):
    make_prediction(prediction_id="req-2026.11.24_a:1")
    reader = api_client_for()
    response = reader.get(URL + "req-2026.11.24_a:1/")
    assert response.status_code == 200
    assert response.json()["prediction_id"] == "req-2026.11.24_a:1"
    assert reader.get(URL + "missing/").status_code == 404
    assert reader.get(URL + "a%00b/").status_code == 404

