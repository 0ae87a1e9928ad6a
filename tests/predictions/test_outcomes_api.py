"""Outcomes over the API: one (the legacy evaluation dict) or many, all or nothing."""
import json
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from predictions.models import Prediction

CHANGE = ["predictions.change_prediction"]


@pytest.fixture
def labeller(api_client_for):
    return api_client_for(perms=CHANGE)


@pytest.fixture
def stored(make_prediction):
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    return [
        make_prediction(prediction_id=f"o-{n}", predicted_outcome=1, confidence=0.9,
                        timestamp=moment)
        for n in range(3)
    ]


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_single_outcome_returns_the_evaluation(labeller, stored):
    response = post(labeller, "/api/v1/predictions/o-0/outcome/", {"actual_outcome": 0})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "prediction_id": "o-0",
        "model_version": "v1",
        "predicted": 1,
        "actual": 0,
        "correct": False,
        "confidence": 0.9,
        "calibration_error": pytest.approx(0.9),
        "timestamp": datetime(2026, 11, 24, 9, 30, tzinfo=UTC).timestamp(),
    }
    prediction = Prediction.objects.get(prediction_id="o-0")
    assert prediction.actual_outcome == 0
    assert prediction.actual_outcome_timestamp is not None


@pytest.mark.parametrize("prediction_id", ["nope", "a%00b", "x" * 200])
def test_single_outcome_of_unknown_prediction_is_404(labeller, stored, prediction_id):
    response = post(labeller, f"/api/v1/predictions/{prediction_id}/outcome/",
                    {"actual_outcome": 1})
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("body", [{}, {"actual_outcome": "yes"}, {"actual_outcome": 1.5},
                                  {"actual_outcome": 2**40}, {"actual_outcome": None}])
def test_single_outcome_must_be_an_integer(labeller, stored, body):
    response = post(labeller, "/api/v1/predictions/o-0/outcome/", body)
    assert response.status_code == 400
    assert Prediction.objects.get(prediction_id="o-0").actual_outcome is None


def test_single_outcome_needs_change_permission(api_client_for, stored):
    ingester = api_client_for(perms=["predictions.add_prediction"])
    response = post(ingester, "/api/v1/predictions/o-0/outcome/", {"actual_outcome": 1})
    assert response.status_code == 403
    assert Prediction.objects.get(prediction_id="o-0").actual_outcome is None


def test_single_outcome_anonymous_is_401(anonymous_client, stored):
    response = post(anonymous_client, "/api/v1/predictions/o-0/outcome/", {"actual_outcome": 1})
    assert response.status_code == 401


def test_bulk_outcomes(labeller, stored):
    response = post(labeller, "/api/v1/outcomes/", [
        {"prediction_id": "o-0", "actual_outcome": 1},
        {"prediction_id": "o-1", "actual_outcome": 0},
        {"prediction_id": "ghost", "actual_outcome": 1},
    ])
    assert response.status_code == 200
    assert response.json() == {"updated": 2, "not_found": ["ghost"]}
    outcomes = dict(Prediction.objects.values_list("prediction_id", "actual_outcome"))
    assert outcomes == {"o-0": 1, "o-1": 0, "o-2": None}
    labelled_at = dict(Prediction.objects.values_list("prediction_id",
                                                      "actual_outcome_timestamp"))
    assert labelled_at["o-0"] and labelled_at["o-1"] and labelled_at["o-2"] is None


@pytest.mark.parametrize(
    "body",
    [
        [{"prediction_id": "o-0", "actual_outcome": 1}, {"prediction_id": "o-1"}],
        [{"prediction_id": "o-0", "actual_outcome": 1}, {"prediction_id": 5, "actual_outcome": 1}],
        [{"prediction_id": "o-0", "actual_outcome": 1}, "o-1"],
        {"prediction_id": "o-0", "actual_outcome": 1},
    ],
)
def test_bulk_outcomes_with_a_bad_item_store_nothing(labeller, stored, body):
    response = post(labeller, "/api/v1/outcomes/", body)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Prediction.objects.filter(actual_outcome__isnull=False).exists()


def test_bulk_outcomes_name_the_bad_index(labeller, stored):
    response = post(labeller, "/api/v1/outcomes/", [
        {"prediction_id": "o-0", "actual_outcome": 1},
        {"prediction_id": "o-1", "actual_outcome": True},
    ])
    assert response.json()["errors"] == {"1": {"actual_outcome": "Must be an integer."}}


def test_bulk_outcomes_non_json_is_400(labeller, stored):
    response = labeller.post("/api/v1/outcomes/", data="[{", content_type="application/json")
    assert response.status_code == 400


@override_settings(MONITORING_MAX_BATCH=2)
def test_bulk_outcomes_over_the_limit_is_413(labeller, stored):
    body = [{"prediction_id": f"o-{n}", "actual_outcome": 1} for n in range(3)]
    assert post(labeller, "/api/v1/outcomes/", body).status_code == 413
    assert not Prediction.objects.filter(actual_outcome__isnull=False).exists()


def test_bulk_outcomes_need_change_permission(api_client_for, anonymous_client, stored):
    body = [{"prediction_id": "o-0", "actual_outcome": 1}]
    assert post(api_client_for(), "/api/v1/outcomes/", body).status_code == 403
    assert post(anonymous_client, "/api/v1/outcomes/", body).status_code == 401
    assert not Prediction.objects.filter(actual_outcome__isnull=False).exists()
