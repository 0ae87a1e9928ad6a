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


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """A JSON object (the serializer's validate_<field> refuses anything else)."""


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class NameListField(serializers.JSONField):
    """A JSON array of strings (the serializer's validate_<field> refuses anything else)."""


class StrictSlugRelatedField(serializers.SlugRelatedField):
    """A related object by its id, or null; an empty string is refused, not read as null."""

    def run_validation(self, data=serializers.empty):
        if data == "":  # DRF would read it as null
            self.fail("blank")
        return super().run_validation(data)

    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "blank": "Give an id, or null.",
    }


@extend_schema_field({"type": "string", "nullable": True, "pattern": "^[^\\u0000]*$"})
class BlankIsNullSlugRelatedField(serializers.SlugRelatedField):
    """A related object by its id; null or an empty string for none (DRF reads "" as null)."""
