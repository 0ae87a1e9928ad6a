"""Filters of the predictions API's lists."""
from datetime import UTC

import django_filters
from rest_framework.exceptions import ValidationError

from predictions.models import Prediction


class PredictionFilter(django_filters.FilterSet):
    """``model_version``, ``since``/``until`` (ISO 8601, inclusive) and ``has_outcome``."""

    model_version = django_filters.CharFilter(max_length=64)
    since = django_filters.IsoDateTimeFilter(method="filter_since", label="since")
    until = django_filters.IsoDateTimeFilter(method="filter_until", label="until")
    has_outcome = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_has_outcome"
    )

    class Meta:
        model = Prediction
        fields = ["model_version", "since", "until", "has_outcome"]

    @staticmethod
    def _utc(name, value):
        # A far date with an offset can fall outside the years a datetime holds.
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError({name: ["Date-time out of range."]}) from None

    def filter_since(self, queryset, name, value):
        return queryset.filter(timestamp__gte=self._utc(name, value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(timestamp__lte=self._utc(name, value))

    def filter_has_outcome(self, queryset, name, value):
        return queryset.filter(actual_outcome__isnull=value != "true")
