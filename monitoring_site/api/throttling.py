"""Throttling of writes made with API tokens (model services)."""
from rest_framework import permissions, throttling
from rest_framework.authentication import TokenAuthentication


class TokenWriteThrottle(throttling.SimpleRateThrottle):
    """Throttle writes made with an API token, per token's user.

    Off unless API_WRITE_THROTTLE (e.g. "600/min") is set.
    """

    scope = "token_write"

    def get_cache_key(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return None
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request, view):
        if not self.rate:
            return True
        return super().allow_request(request, view)
