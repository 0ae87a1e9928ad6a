"""The roles a user can hold (SPEC §11 "Onboarding"): auth groups made for a job.

A new model service should not have to find "Can add prediction" among eighty
permissions: ``api_token svc --create --role ingest`` gives it exactly what ingesting
needs. Roles are plain auth groups, so the admin shows and edits them; a user may hold
several. ``ensure_roles`` makes them (the data migration and, after a flush,
``post_migrate`` both call it) and only ever adds permissions, so that what an
administrator granted a group on top survives a deploy.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

logger = logging.getLogger(__name__)

# The apps whose permissions roles hand out; "view everything" means their view_* ones.
ROLE_APPS = ("predictions", "alerting")


@dataclass(frozen=True)
class Role:
    """A group name, who it is for, and the permissions (``app_label.codename``) it holds."""

    name: str
    purpose: str
    permissions: tuple[str, ...] = ()
    views_everything: bool = False


ROLES = {
    role.name: role
    for role in (
        Role(
            "ingest",
            "a model service: sends predictions, their outcomes and pushed metrics",
            (
                "predictions.add_prediction",
                "predictions.change_prediction",  # outcomes
                "predictions.add_performancemetric",  # metrics/custom/
            ),
        ),
        Role(
            "agent",
            "automation (retraining pipeline, agents): proposes actions and reports their "
            "runs, registers and promotes versions, records gate decisions, computes "
            "snapshots and drift reports, pushes values to rules",
            (
                "alerting.add_agentaction",
                "alerting.change_agentaction",  # executed / failed
                "predictions.add_retrainingdecision",
                "predictions.add_modelversion",
                "predictions.change_modelversion",  # promote, and "apply": true decisions
                "predictions.add_healthsnapshot",
                "predictions.add_driftreport",
                "alerting.add_alert",  # alert-rules/{id}/evaluate/ may open one
            ),
        ),
        Role(
            "reviewer",
            "a person on call: approves or rejects actions, acknowledges and resolves "
            "alerts, silences; sees everything",
            (
                "alerting.review_agentaction",
                "alerting.change_alert",
                "alerting.add_silence",
                "alerting.change_silence",
            ),
            views_everything=True,
        ),
        Role("viewer", "reads everything, changes nothing", views_everything=True),
    )
}


def roles_granting(permission: str) -> list[str]:
    """Names of the roles that hold ``permission`` (``app_label.codename``)."""
    app_label, _, codename = permission.partition(".")
    return [
        role.name for role in ROLES.values()
        if permission in role.permissions
        or (role.views_everything and app_label in ROLE_APPS and codename.startswith("view_"))
    ]


def how_to_get(permission: str) -> str:
    """One sentence telling a refused caller how to obtain ``permission``."""
    roles = roles_granting(permission)
    if not roles:
        return "No role holds it: an administrator grants it to the user in the admin."
    names = " or ".join(f'"{name}"' for name in roles)
    return (
        f"The role {names} holds it: an administrator can run "
        f"`python manage.py api_token USERNAME --role {roles[0]}`."
    )


def _role_permissions(permission_model, role: Role, using: str) -> list:
    wanted = Q(pk__in=[])
    for permission in role.permissions:
        app_label, codename = permission.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    if role.views_everything:
        wanted |= Q(content_type__app_label__in=ROLE_APPS, codename__startswith="view_")
    found = list(permission_model.objects.using(using).filter(wanted)
                 .select_related("content_type"))
    have = {f"{p.content_type.app_label}.{p.codename}" for p in found}
    missing = [permission for permission in role.permissions if permission not in have]
    if missing:
        raise LookupError(f"role {role.name!r}: no permission {', '.join(missing)}")
    return found


def ensure_roles(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Make each role's group, holding at least the role's permissions; safe to repeat.

    ``apps`` is a migration's app registry or the live one. Django creates permissions
    after the last migration (post_migrate), so they are created here first.
    """
    for label in ROLE_APPS:
        # The live app config: the migration registry's stand-in has no models module,
        # which create_permissions takes for "no models"; the models come from ``apps``.
        create_permissions(
            global_apps.get_app_config(label), verbosity=0, apps=apps, using=using
        )
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role in ROLES.values():
        group, _ = group_model.objects.using(using).get_or_create(name=role.name)
        group.permissions.add(*_role_permissions(permission_model, role, using))


def ensure_roles_after_migrate(sender, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs):
    """post_migrate: the roles again, e.g. after a flush emptied the groups."""
    try:
        ensure_roles(apps=apps, using=using)
    except LookupError as exc:
        # Migrated back to before a model a role needs: the migration makes it again.
        logger.info("roles not ensured: %s", exc)


def grant_role(user, role_name: str) -> None:
    """Put ``user`` in the role's group (made first if someone deleted it)."""
    if role_name not in ROLES:
        raise KeyError(f"no role {role_name!r}; roles: {', '.join(ROLES)}")
    group = Group.objects.filter(name=role_name).first()
    if group is None:
        ensure_roles()
        group = Group.objects.get(name=role_name)
    user.groups.add(group)
