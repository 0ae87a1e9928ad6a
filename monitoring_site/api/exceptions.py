"""The API's error format: DRF's JSON errors, and a JSON 503 when the database is down.

A value the database (or Python's datetime) cannot hold — a date-time whose UTC offset
PostgreSQL rejects, or that leaves year 1..9999 once converted to UTC, sent in a filter —
is the caller's mistake: 400, not 500.
"""
import logging

from django.db import DataError, InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
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
