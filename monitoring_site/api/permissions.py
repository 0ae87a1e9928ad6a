"""Who may call the API (SPEC §3): reads need a user, writes need the model permission."""
from rest_framework import permissions


class ReadAuthenticatedWriteModelPerms(permissions.DjangoModelPermissions):
    """Reads need a signed-in user; writes need the model permission.

    Views without a queryset (actions, computed metrics) name the model their writes
    touch with ``permission_model``, or the exact permissions with ``write_permissions``.
    """

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if not hasattr(view, request.method.lower()):
            return True  # no handler for this method: the view answers 405, not a 500
        required = getattr(view, "write_permissions", None)
        if required is not None:
            return request.user.has_perms(required)
        return super().has_permission(request, view)

    def _queryset(self, view):
        model = getattr(view, "permission_model", None)
        if model is not None:
            return model._default_manager.none()
        return super()._queryset(view)
