"""Every API endpoint refuses a query parameter it does not know (400 naming it).

What an endpoint knows is what its operation in the OpenAPI document declares (its
filters, pagination, ordering and its own parameters), plus DRF's ``format``: the check
and the document cannot disagree, and a new endpoint is covered without a list to keep.
A misspelled ``strat=`` answered as if absent would silently give the default window.
"""
from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from monitoring_site.api.contract import contract


def global_parameters() -> frozenset:
    """Understood by every endpoint: DRF's renderer choice (e.g. the trend's CSV)."""
    return frozenset({api_settings.URL_FORMAT_OVERRIDE} - {None})


def declared_query_parameters(request) -> frozenset | None:
    """The query parameters the request's operation declares, ``format`` included.

    None for a method the endpoint lacks (it answers 405); a DRF view left out of the
    document takes ``format`` only.
    """
    operation = contract().operation(request)
    if operation is None:
        if contract().documents_view(request):
            return None
        return global_parameters()
    return global_parameters() | {
        p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
    }


class KnownQueryParameters(permissions.BasePermission):
    """Runs on every API view after authentication (so 401/403 come first); a permission
    class because that is the one check DRF applies to every view from the settings."""

    def has_permission(self, request, view):
        known = declared_query_parameters(request)
        unknown = [name for name in request.query_params if known is not None
                   and name not in known]
        if unknown:
            takes = ", ".join(sorted(known))
            raise ValidationError(
                {name: [f"Unknown parameter; this endpoint takes {takes}."] for name in unknown}
            )
        return True
