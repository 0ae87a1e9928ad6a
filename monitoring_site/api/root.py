"""``GET /api/v1/``: every endpoint by name, and where the OpenAPI document is (SPEC §11).

A newcomer (or a client) starts from one URL instead of a 404. The list is read from the
URL configuration, so a new endpoint appears without anyone remembering to add it.
"""
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.query import KnownQueryParameters
from monitoring_site.api.schema import DetailSerializer

API_ROOT = "/api/v1/"


def _routes(patterns, prefix=""):
    """The path of every pattern without a parameter (by text: names may repeat, e.g. the
    alert list page and the API's alert list)."""
    for pattern in patterns:
        if pattern.pattern.regex.groups:
            continue
        text = prefix + str(pattern.pattern).removeprefix("^").removesuffix("$")
        if isinstance(pattern, URLResolver):
            if not pattern.namespace:  # the admin's: not the API
                yield from _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern) and _answers_get(pattern.callback):
            yield "/" + text.replace("\\", "")


def _answers_get(callback) -> bool:
    """Whether a GET of the route answers (lists, metrics), not a 405: POST-only actions
    such as ``drift-reports/compute/`` are in the document, not in this directory."""
    actions = getattr(callback, "actions", None)  # a DRF viewset route
    if actions:
        return "get" in actions
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return view_class is None or hasattr(view_class, "get")


def api_endpoints() -> dict[str, str]:
    """{name: path} of the API's endpoints that take no path parameter and answer GET, in
    URL order.

    The name is the path under /api/v1/ (``metrics/accuracy``); the ones with a parameter
    (``predictions/{prediction_id}/``) are reached from these or from the document.
    """
    return {
        path.removeprefix(API_ROOT).removesuffix("/"): path
        for path in _routes(get_resolver().url_patterns)
        if path.startswith(API_ROOT) and path != API_ROOT
    }


class ApiRootView(APIView):
    """The API's entry point. Public, like the document it points to: it lists what the
    document lists, and nothing stored."""

    # Public, and like every endpoint a query parameter it does not take is a 400.
    permission_classes = [AllowAny, KnownQueryParameters]

    @extend_schema(
        summary="Every endpoint by name, and the OpenAPI document", tags=["api"],
        operation_id="api_root",
        responses={
            200: OpenApiResponse(
                {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
                description="Name → absolute URL; `schema` and `docs` are the OpenAPI "
                "document and its page.",
            ),
            400: OpenApiResponse(OpenApiTypes.OBJECT,
                                 description="A query parameter, named: this takes none."),
            401: OpenApiResponse(DetailSerializer, description="A token was sent, and is wrong."),
        },
    )
    def get(self, request):
        urls = {name: request.build_absolute_uri(path) for name, path in api_endpoints().items()}
        urls["schema"] = request.build_absolute_uri(reverse("api-schema"))
        urls["docs"] = request.build_absolute_uri(reverse("api-docs"))
        return Response(urls)
