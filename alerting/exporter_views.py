"""``GET /metrics`` for Prometheus, behind the bearer token ``MONITORING_METRICS_TOKEN``.

Without the setting the endpoint does not exist (404, like any unknown path); without
the right token it answers 401 and nothing else, whatever was sent.
"""
import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from alerting.exporter import render_metrics


def bearer_token_matches(request, expected: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the time taken tells nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


@require_safe
def metrics(request):
    expected = settings.MONITORING_METRICS_TOKEN
    if not expected:
        raise Http404
    if not bearer_token_matches(request, expected):
        response = HttpResponse(
            "Authentication required.\n", status=401, content_type="text/plain; charset=utf-8"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
