"""The API's error format: DRF's JSON errors, and a JSON 503 when the database is down.

A body that is well formed but names an id already taken (a rule, a version, an action)
or an object that does not exist is 409 Conflict, not 400: nothing is wrong with its shape.

``BadRequest`` is the one 400 every app's views raise for a request that cannot be carried
out as asked (``{"detail": …}``, plus any extra fields given).

A value the database (or Python's datetime) cannot hold — a date-time whose UTC offset
PostgreSQL rejects, or that leaves year 1..9999 once converted to UTC, sent in a filter —
is the caller's mistake: 400, not 500.
"""
import logging

from django.db import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class Conflict(APIException):
    """409: the request is well formed, but the stored rows refuse it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with what is stored."
    default_code = "conflict"


class BadRequest(APIException):
    """400 with ``{"detail": …}`` and, optionally, more fields (e.g. ``errors`` by item)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"

    def __init__(self, detail=None, code=None, **fields):
        super().__init__(detail, code)
        self.fields = fields


# Errors of a well-formed body that the stored rows refuse: an id taken, a referenced
# object absent.
CONFLICT_CODES = {"unique", "does_not_exist", "conflict"}


def not_found(request, exception=None):
    """Django's 404 page, or the API's JSON 404 for a path under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def _only_conflicts(codes) -> bool:
    """True when every error of a ValidationError is a conflict with the stored rows."""
    if isinstance(codes, dict):
        return bool(codes) and all(_only_conflicts(c) for c in codes.values())
    if isinstance(codes, list):
        return bool(codes) and all(_only_conflicts(c) for c in codes)
    return codes in CONFLICT_CODES


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError) and _only_conflicts(
        exc.get_codes()
    ):
        response.status_code = status.HTTP_409_CONFLICT
    if response is not None and isinstance(exc, BadRequest) and exc.fields:
        response.data = {**response.data, **exc.fields}
    if response is None and isinstance(exc, (DataError, OverflowError)):
        logger.info("value out of the database's range: %s", exc)
        return Response({"detail": "A value is out of the range the database accepts."},
                        status=400)
    if response is None and isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return Response(
            {"detail": "The database is unavailable; try again shortly."}, status=503
        )
    return response
