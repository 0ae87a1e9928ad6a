"""Serializer fields every app's API shares."""
from datetime import UTC

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 date-time that must carry its offset (``Z`` or ``+02:00``), as UTC.

    A naive time is ambiguous for buckets aligned in UTC, so it is refused, not guessed.
    """

    default_error_messages = {
        "invalid": "Not an ISO 8601 date-time (e.g. 2026-11-30T00:00:00Z).",
        "naive": "Give the offset too (e.g. 2026-11-30T00:00:00Z): a time without one "
        "is ambiguous.",
        "range": "Date-time out of range.",
    }

    def to_internal_value(self, value):
        try:
            moment = parse_datetime(value.strip()) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if timezone.is_naive(moment):
            self.fail("naive")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            self.fail("range")

    def to_representation(self, value):
        return value.isoformat()
