"""``api_token USER [--create] [--reset] [--role ROLE]``: a token, and the rights it needs."""
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

URL = "/api/v1/predictions/"
ITEM = {"prediction_id": "req-1", "model_version": "v1", "predicted_outcome": 1,
        "confidence": 0.75, "timestamp": "2026-11-24T10:00:00Z"}


def token_of(*args) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def post_item(client, token, scheme="Token"):
    return client.post(URL, data=json.dumps(ITEM), content_type="application/json",
                       HTTP_AUTHORIZATION=f"{scheme} {token}")


def test_api_token_command_prints_and_resets(make_user):
    user = make_user("svc")
    key = token_of("svc")
    assert Token.objects.get(user=user).key == key
    assert token_of("svc") == key
    new_key = token_of("svc", "--reset")
    assert new_key != key
    assert Token.objects.get(user=user).key == new_key


def test_api_token_command_creates_users_only_when_asked(db):
    with pytest.raises(CommandError):
        call_command("api_token", "nobody", stdout=StringIO(), stderr=StringIO())
    key = token_of("newsvc", "--create")
    assert Token.objects.get(user__username="newsvc").key == key


def test_token_from_the_command_authenticates(make_user, client):
    make_user("svc2", perms=["predictions.add_prediction"])
    assert post_item(client, token_of("svc2")).status_code == 201


def test_a_new_service_ingests_with_one_command(db, client):
    key = token_of("svc-fraud", "--create", "--role", "ingest")
    assert post_item(client, key).status_code == 201
    outcome = client.post("/api/v1/outcomes/", data=json.dumps(
        [{"prediction_id": "req-1", "actual_outcome": 1}]), content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}")
    assert outcome.json() == {"updated": 1, "not_found": []}
    # … and nothing beyond the role: approving actions is a reviewer's.
    refused = client.post("/api/v1/actions/x/approve/", data="{}",
                          content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 403
    assert '"alerting.review_agentaction"' in refused.json()["detail"]
    assert "--role reviewer" in refused.json()["detail"]


def test_roles_add_up_and_an_unknown_role_is_refused(db):
    token_of("rita", "--create", "--role", "reviewer", "--role", "agent")
    rita = get_user_model().objects.get(username="rita")
    assert set(rita.groups.values_list("name", flat=True)) == {"reviewer", "agent"}
    token_of("rita", "--role", "reviewer")  # again: no change, no error
    assert rita.groups.count() == 2
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("api_token", "rita", "--role", "admin", stdout=StringIO(),
                     stderr=StringIO())


def test_a_deleted_role_group_is_made_again_when_granted(db):
    from django.contrib.auth.models import Group

    Group.objects.filter(name="viewer").delete()
    token_of("val", "--create", "--role", "viewer")
    assert get_user_model().objects.get(username="val").has_perm("predictions.view_prediction")
