"""API tokens sent as ``Authorization: Bearer <key>`` as well as ``Token <key>``.

Most HTTP clients and API gateways know the OAuth-style "Bearer" scheme, not DRF's
"Token": both name the same key, so both are accepted (SPEC §11).
"""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """The API token under the Bearer scheme; ``Token`` is DRF's own class, listed first."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the Bearer scheme in the OpenAPI document, beside ``tokenAuth``."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The same API token as tokenAuth, sent as `Bearer <key>`.",
        }
