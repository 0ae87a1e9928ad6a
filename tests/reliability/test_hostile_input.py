"""Hostile query strings and bodies found by the fuzzer, kept as fixed regressions.

Whatever the input, the API answers JSON below 500 and stores nothing it should not.
"""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from predictions.models import Prediction


@pytest.fixture
def token_client(db):
    """token_client(*perms) -> an APIClient with a token (no password hashing: fast)."""

    def make(*perms):
        user = get_user_model().objects.create(username=f"hostile{len(perms)}")
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return make

LISTS = ["/api/v1/alerts/", "/api/v1/actions/", "/api/v1/retraining-decisions/",
         "/api/v1/drift-reports/", "/api/v1/predictions/"]
QUERIES = [
    # UTC offsets Python accepts and PostgreSQL refuses (were 500s on PostgreSQL).
    "since=7014-06-24T11:30:51.4%2B18:10",
    "since=0461-04-12T15:05:45-20:04",
    "since=0001-01-01T00:00:00%2B23:59",
    "since=9999-12-31T23:59:59-23:59",
    "since=not-a-date",
    "page=-1",
    "page=99999999999999999999",
    "page_size=-5",
    "page_size=100000000000000000000",
    "model_version=%00",
    "cursor=%00%00garbage",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", QUERIES)
def test_hostile_list_queries_answer_json_below_500(token_client, path, query):
    client = token_client()
    response = client.get(f"{path}?{query}")
    assert response.status_code < 500, (path, query, response.status_code)
    assert response["Content-Type"].startswith("application/json")


METRIC_QUERIES = [
    "window_minutes=99999999999999999999",
    "window_minutes=-1",
    "window_minutes=0",
    "window_minutes=1e308",
    "model_version=%00",
    "n_bins=0",
    "n_bins=100000000",
    "hours=-3",
    "hours=99999999999999",
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metric", ["performance", "accuracy", "calibration", "classification", "trend"]
)
@pytest.mark.parametrize("query", METRIC_QUERIES)
def test_hostile_metric_queries_answer_json_below_500(token_client, make_prediction, metric,
                                                      query):
    make_prediction(actual_outcome=1)
    response = token_client().get(f"/api/v1/metrics/{metric}/?{query}")
    assert response.status_code < 500, (metric, query, response.status_code)
    assert response["Content-Type"].startswith(("application/json", "text/csv"))


BODIES = [
    b"",
    b"null",
    b"{" * 5000,
    b'{"prediction_id": "\\u0000", "model_version": "v", "predicted_outcome": 1, '
    b'"confidence": 0.5}',
    b'{"prediction_id": "x", "model_version": "v", "predicted_outcome": 1e400, '
    b'"confidence": 0.5}',
    b'{"prediction_id": "x", "model_version": "v", "predicted_outcome": 1, "confidence": NaN}',
    b'{"prediction_id": "x", "model_version": "v", "predicted_outcome": 99999999999999999999, '
    b'"confidence": 0.5}',
    b'{"prediction_id": "x", "model_version": "v", "predicted_outcome": 1, "confidence": 0.5, '
    b'"timestamp": 1e300}',
    b'{"prediction_id": "x", "model_version": "v", "predicted_outcome": 1, "confidence": 0.5, '
    b'"features": {"a": "\\ud800"}}',
    b"\xff\xfe not utf-8",
]


@pytest.mark.django_db
@pytest.mark.parametrize("body", BODIES, ids=lambda b: repr(b[:40]))
def test_hostile_ingest_bodies_answer_json_below_500_and_store_nothing(token_client, body):
    client = token_client("predictions.add_prediction")
    response = client.generic("POST", "/api/v1/predictions/", body,
                              content_type="application/json")
    assert 400 <= response.status_code < 500, (body[:60], response.status_code)
    assert response["Content-Type"].startswith("application/json")
    assert Prediction.objects.count() == 0
