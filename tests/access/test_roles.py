"""The roles of SPEC §11: groups made by a data migration, and again after a flush."""
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from access.roles import ROLES, ensure_roles, how_to_get, roles_granting


def role_permissions(name) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
def test_each_role_is_a_group_with_its_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert role_permissions("ingest") == {
        "predictions.add_prediction", "predictions.change_prediction",
        "predictions.add_performancemetric",
    }
    agent = role_permissions("agent")
    assert {"alerting.add_agentaction", "alerting.change_agentaction",
            "predictions.add_retrainingdecision"} <= agent
    assert "alerting.review_agentaction" not in agent  # four eyes: agents never approve
    reviewer = role_permissions("reviewer")
    assert {"alerting.review_agentaction", "alerting.change_alert"} <= reviewer
    viewer = role_permissions("viewer")
    assert {"predictions.view_prediction", "alerting.view_alert",
            "alerting.view_alertrule"} <= viewer
    assert all(permission.split(".")[1].startswith("view_") for permission in viewer)
    assert viewer <= reviewer


@pytest.mark.django_db
def test_ensure_roles_repeats_safely_and_keeps_what_an_admin_added():
    extra = Permission.objects.get(content_type__app_label="alerting", codename="add_alertrule")
    Group.objects.get(name="reviewer").permissions.add(extra)
    Group.objects.get(name="ingest").permissions.clear()
    ensure_roles()
    ensure_roles()
    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)
    assert "alerting.add_alertrule" in role_permissions("reviewer")
    assert "predictions.add_prediction" in role_permissions("ingest")  # restored


@pytest.mark.django_db(transaction=True)
def test_roles_come_back_after_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)
    assert "predictions.add_prediction" in role_permissions("ingest")


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_the_roles_on_a_database_without_permissions():
    # As on a fresh database: Django makes permissions only after the last migration.
    Group.objects.all().delete()
    Permission.objects.all().delete()
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([("access", None)])
        executor = MigrationExecutor(connection)
        executor.migrate([("access", "0001_roles")])
        assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)
        assert "alerting.review_agentaction" in role_permissions("reviewer")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_refusal_says_which_role_holds_the_permission():
    assert roles_granting("predictions.add_prediction") == ["ingest"]
    assert roles_granting("alerting.view_alert") == ["reviewer", "viewer"]
    assert "--role ingest" in how_to_get("predictions.add_prediction")
    assert "administrator" in how_to_get("alerting.delete_alertrule")
