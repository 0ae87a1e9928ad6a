"""Every GET endpoint of the API refuses a query parameter it does not know (SPEC §11).

Generated from the URL configuration, like the authorization matrix: a new endpoint is
covered without being listed here.
"""
import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring_site.api.contract import contract
from tests.reliability.test_authorization_matrix import ENDPOINTS

API_GETS = [e for e in ENDPOINTS if e.method == "GET" and e.route.startswith("api/v1/")]


@pytest.fixture
def root_client(db):
    user = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_api_has_get_endpoints():
    assert len(API_GETS) >= 20


@pytest.mark.parametrize("endpoint", API_GETS, ids=str)
def test_an_unknown_parameter_is_a_400_naming_it(root_client, endpoint):
    response = root_client.get(endpoint.path, {"bogus_param": "1"})
    assert response.status_code == 400, (endpoint, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "bogus_param" in body
    assert "Unknown parameter" in body["bogus_param"][0]


@pytest.mark.parametrize("endpoint", API_GETS, ids=str)
def test_no_documented_parameter_is_called_unknown(root_client, endpoint):
    """The check reads the OpenAPI document: what it declares is never refused as unknown."""
    operation = contract().operations[resolve(endpoint.path).func, "GET"]
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    for name in sorted(names | {"format"}):
        response = root_client.get(endpoint.path, {name: "x"})
        assert "Unknown parameter" not in response.content.decode(), (endpoint, name)


def test_an_unknown_parameter_beside_known_ones_is_named_alone(root_client):
    response = root_client.get("/api/v1/alerts/", {"severity": "critical", "sevrity": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"sevrity"}
    assert "severity" in response.json()["sevrity"][0]  # lists what the endpoint takes


def test_a_write_endpoint_refuses_unknown_parameters_too(root_client):
    response = root_client.post("/api/v1/alert-rules/?dry_run=1", {}, format="json")
    assert response.status_code == 400 and "dry_run" in response.json()


def test_anonymous_callers_get_401_before_any_parameter_check():
    response = APIClient().get("/api/v1/alerts/", {"bogus_param": "1"})
    assert response.status_code == 401

