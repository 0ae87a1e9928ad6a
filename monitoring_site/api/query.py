"""Every API endpoint refuses a query parameter it does not know (400 naming it).

What an endpoint knows is what its operation in the OpenAPI document declares (its
filters, pagination, ordering and its own parameters), plus DRF's ``format``: the check
and the document cannot disagree, and a new endpoint is covered without a list to keep.
A misspelled ``strat=`` answered as if absent would silently give the default window.
"""
import re
import threading

from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

_lock = threading.Lock()
_declared = None  # {(view callback, METHOD): frozenset of query parameter names}


def declared_query_parameters() -> dict:
    """The query parameters of every documented operation, read once per process."""
    global _declared
    if _declared is None:
        with _lock:
            if _declared is None:
                _declared = _read_document()
    return _declared


def _read_document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    # The document may rename path parameters ({pk} → {id}): match on the path's shape.
    paths = {_shape(path): item for path, item in document["paths"].items()}
    declared = {}
    for path, _regex, method, callback in generator.endpoints:
        operation = paths.get(_shape(path), {}).get(method.lower())
        if operation is not None:
            declared[callback, method] = frozenset(
                p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
            )
    return declared


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def global_parameters() -> frozenset:
    """Understood by every endpoint: DRF's renderer choice (e.g. the trend's CSV)."""
    return frozenset({api_settings.URL_FORMAT_OVERRIDE} - {None})


def unknown_query_parameters(request, callback) -> tuple[list[str], frozenset] | None:
    """(names the request gives that the operation does not declare, the declared names).

    None when the operation is not a documented one (an unsupported method answers 405).
    """
    method = "GET" if request.method == "HEAD" else request.method
    declared = declared_query_parameters()
    known = declared.get((callback, method))
    if known is None:
        if any(key[0] is callback for key in declared):
            return None  # a method this endpoint lacks
        known = frozenset()  # a DRF view left out of the document
    known = known | global_parameters()
    return [name for name in request.query_params if name not in known], known


class KnownQueryParameters(permissions.BasePermission):
    """Runs on every API view after authentication (so 401/403 come first); a permission
    class because that is the one check DRF applies to every view from the settings."""

    def has_permission(self, request, view):
        match = getattr(request, "resolver_match", None)
        if match is None:
            return True
        found = unknown_query_parameters(request, match.func)
        if found is None or not found[0]:
            return True
        unknown, known = found
        takes = ", ".join(sorted(known)) or "none"
        raise ValidationError(
            {name: [f"Unknown parameter; this endpoint takes {takes}."] for name in unknown}
        )
