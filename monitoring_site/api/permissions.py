"""Who may call the API (SPEC §3): reads need a user, writes need the model permission."""
from rest_framework import permissions

from access.roles import how_to_get


class ReadAuthenticatedWriteModelPerms(permissions.DjangoModelPermissions):
    """Reads need a signed-in user; writes need the model permission.

    Views without a queryset (actions, computed metrics) name the model their writes
    touch with ``permission_model``, or the exact permissions with ``write_permissions``.
    A refusal names the permission missing and the role that holds it (SPEC §11), so that
    a 403 tells its reader what to ask for.
    """

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if not hasattr(view, request.method.lower()):
            return True  # no handler for this method: the view answers 405, not a 500
        if getattr(view, "_ignore_model_permissions", False):
            return True  # DRF's marker for views outside the model permissions
        required = getattr(view, "write_permissions", None)
        if required is None:
            queryset = self._queryset(view)
            required = self.get_required_permissions(request.method, queryset.model)
        missing = [perm for perm in required if not request.user.has_perm(perm)]
        if missing:
            self.message = missing_permission_message(request.method, missing)
            return False
        return True

    def _queryset(self, view):
        model = getattr(view, "permission_model", None)
        if model is not None:
            return model._default_manager.none()
        return super()._queryset(view)


def missing_permission_message(method: str, missing: list[str]) -> str:
    """The 403's detail: which permission the user lacks, and how to obtain it."""
    names = ", ".join(f'"{perm}"' for perm in missing)
    noun = "permission" if len(missing) == 1 else "permissions"
    return f"This {method} needs the {noun} {names}, which you lack. {how_to_get(missing[0])}"
