"""The API's error format: DRF's JSON errors, and a JSON 503 when the database is down.

``BadRequest`` is the one 400 every app's views raise for a request that cannot be carried
out as asked (``{"detail": …}``, plus any extra fields given).

A value the database (or Python's datetime) cannot hold — a date-time whose UTC offset
PostgreSQL rejects, or that leaves year 1..9999 once converted to UTC, sent in a filter —
is the caller's mistake: 400, not 500.
"""
import logging

from django.db import DataError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class BadRequest(APIException):
    """400 with ``{"detail": …}`` and, optionally, more fields (e.g. ``errors`` by item)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"

    def __init__(self, detail=None, code=None, **fields):
        super().__init__(detail, code)
        self.fields = fields


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
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
