"""``Authorization: Bearer <token>`` works exactly like ``Token <token>`` (SPEC §11)."""
import json

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

ITEM = {"prediction_id": "req-1", "model_version": "v1", "predicted_outcome": 1,
        "confidence": 0.75}


@pytest.fixture
def ingest_key(make_user):
    user = make_user("svc", perms=["predictions.add_prediction"])
    return Token.objects.create(user=user).key


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_the_token_authenticates_under_either_scheme(client, ingest_key, scheme):
    header = f"{scheme} {ingest_key}"
    created = client.post("/api/v1/predictions/", data=json.dumps(ITEM),
                          content_type="application/json", HTTP_AUTHORIZATION=header)
    assert created.status_code == 201, created.content
    listed = client.get("/api/v1/predictions/", HTTP_AUTHORIZATION=header)
    assert listed.status_code == 200
    assert [p["prediction_id"] for p in listed.json()["results"]] == ["req-1"]


@pytest.mark.parametrize("header", ["Bearer not-a-key", "Bearer", "Bearer a b"])
def test_a_bad_bearer_token_is_a_401_saying_why(client, ingest_key, header):
    response = client.get("/api/v1/predictions/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"] != "Authentication credentials were not provided."


def test_an_unknown_scheme_is_still_not_authenticated(client, ingest_key):
    response = client.get("/api/v1/predictions/", HTTP_AUTHORIZATION=f"Basic {ingest_key}")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_the_schema_documents_both_schemes(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "The same API token as tokenAuth, sent as `Bearer <key>`.",
    }
    assert "tokenAuth" in schemes
    ingest = schema["paths"]["/api/v1/predictions/"]["post"]
    assert {"bearerAuth": []} in ingest["security"]
