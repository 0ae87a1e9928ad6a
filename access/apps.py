from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccessConfig(AppConfig):
    """Who may do what: the roles (auth groups) and API tokens (SPEC §11 "Onboarding")."""

    name = "access"
    verbose_name = "Access: roles and tokens"

    def ready(self):
        from access.roles import ensure_roles_after_migrate

        # A data migration makes the roles once; this makes them again whenever the tables
        # are emptied and re-filled (flush, as transactional tests do).
        post_migrate.connect(
            ensure_roles_after_migrate, sender=self, dispatch_uid="access.ensure_roles"
        )
