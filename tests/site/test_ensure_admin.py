"""The first README command makes sure a newcomer can log in."""
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.mark.django_db
def test_creates_admin_with_printed_password_that_logs_in(client):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = re.search(r"password: (\S+)", out.getvalue()).group(1)
    assert client.login(username="admin", password=password)
    response = client.get("/admin/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_leaves_existing_users_alone(make_user):
    make_user("alice")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert not get_user_model().objects.filter(username="admin").exists()
    assert "Users exist already" in out.getvalue()


@pytest.mark.django_db
def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
