"""Filters of the drift-report and retraining-decision lists (SPEC §8)."""
import django_filters

from monitoring_site.api.filters import UTCDateTimeFilter, strict_boolean_filter
from predictions.choices import DecisionAction, TriggerReason
from predictions.models import DriftReport, RetrainingDecision


class DriftReportFilter(django_filters.FilterSet):
    model_version = django_filters.CharFilter()
    drifted = strict_boolean_filter(field_name="dataset_drift_detected")
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = DriftReport
        fields = ["model_version", "drifted", "since"]


class RetrainingDecisionFilter(django_filters.FilterSet):
    model_version = django_filters.CharFilter()
    action = django_filters.ChoiceFilter(choices=DecisionAction.choices)
    trigger_reason = django_filters.ChoiceFilter(choices=TriggerReason.choices)
    since = UTCDateTimeFilter(field_name="timestamp", lookup_expr="gte")

    class Meta:
        model = RetrainingDecision
        fields = ["model_version", "action", "trigger_reason", "since"]
