"""Filters of the predictions API's lists."""
import django_filters

from monitoring_site.api.filters import UTCDateTimeFilter
from predictions.models import Prediction


class PredictionFilter(django_filters.FilterSet):
    """``model_version``, ``since``/``until`` (ISO 8601, inclusive) and ``has_outcome``."""

    model_version = django_filters.CharFilter()
    since = UTCDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="since")
    until = UTCDateTimeFilter(field_name="timestamp", lookup_expr="lte", label="until")
    has_outcome = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_has_outcome"
    )

    class Meta:
        model = Prediction
        fields = ["model_version", "since", "until", "has_outcome"]

    def filter_has_outcome(self, queryset, name, value):
        return queryset.filter(actual_outcome__isnull=value != "true")
