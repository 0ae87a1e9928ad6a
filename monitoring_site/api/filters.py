"""Filters shared by every app's API lists."""
from datetime import UTC

import django_filters
from rest_framework.exceptions import ValidationError


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
