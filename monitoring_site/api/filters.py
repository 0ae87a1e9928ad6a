"""Filters shared by every app's API lists."""
from datetime import UTC

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

BOOLEAN_CHOICES = [(v, v) for v in ("true", "false", "True", "False", "1", "0")]


@extend_schema_field({"type": "string", "enum": [value for value, _ in BOOLEAN_CHOICES]})
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """A boolean filter that refuses (400) anything but true/false/1/0, not ignores it."""


def strict_boolean_filter(**kwargs):
    return StrictBooleanFilter(
        choices=BOOLEAN_CHOICES, coerce=lambda value: value.lower() in ("true", "1"), **kwargs
    )


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, normalised to UTC before it reaches the database.

    PostgreSQL refuses offsets beyond ±15:59, and a far date with an offset can leave the
    years a datetime holds: both are the client's mistake, so they answer 400, not 500.
    """

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise ValidationError({self._param_name(): ["Date-time out of range."]}) from None
        return super().filter(qs, value)

    def _param_name(self):
        filters = getattr(getattr(self, "parent", None), "filters", {})
        return next((name for name, item in filters.items() if item is self), self.field_name)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, with a blank value refused for any filter but a text one.

    django-filter reads ``?until=`` or ``?severity=`` as "no filter": the caller who meant
    one would get every row. A text filter may be blank (it matches blank values).
    """

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            blank = {
                name: ["Give a value, or leave the parameter out."]
                for name, item in filterset.filters.items()
                if request.query_params.get(name) == ""
                and not isinstance(item, django_filters.CharFilter)
            }
            if blank:
                raise ValidationError(blank)
        return filterset
