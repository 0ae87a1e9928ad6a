"""A 403 names the permission the caller lacks and how to get it (SPEC §11)."""
import json

import pytest

pytestmark = pytest.mark.django_db


def test_ingest_without_the_permission_names_it_and_the_role(api_client_for):
    response = api_client_for().post("/api/v1/predictions/", data=json.dumps([]),
                                     content_type="application/json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert '"predictions.add_prediction"' in detail
    assert "api_token USERNAME --role ingest" in detail


def test_a_permission_no_role_holds_points_to_an_administrator(api_client_for):
    # Deleting a rule: only delete_alertrule; an admin's grant (no role holds it).
    response = api_client_for().delete("/api/v1/alert-rules/r1/")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert '"alerting.delete_alertrule"' in detail
    assert "No role holds it" in detail


def test_a_permission_held_is_not_named(api_client_for):
    client = api_client_for(perms=["predictions.add_prediction"])
    response = client.post("/api/v1/outcomes/", data="[]", content_type="application/json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert '"predictions.change_prediction"' in detail
    assert "add_prediction" not in detail


def test_anonymous_is_still_a_401(client):
    response = client.post("/api/v1/predictions/", data="[]", content_type="application/json")
    assert response.status_code == 401
