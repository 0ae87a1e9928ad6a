"""Filters of the alerting API's lists."""
import django_filters

from alerting.choices import AlertStatus, Severity
from alerting.models import Alert, AlertRule


class AlertFilter(django_filters.FilterSet):
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    acknowledged = django_filters.BooleanFilter()
    model_version = django_filters.CharFilter()
    component = django_filters.CharFilter()
    rule = django_filters.CharFilter(field_name="rule__rule_id", label="Rule id")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = Alert
        fields = ["severity", "status", "acknowledged", "model_version", "component", "rule",
                  "since", "until"]


class AlertRuleFilter(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()
    metric_name = django_filters.CharFilter()
    model_version = django_filters.CharFilter()

    class Meta:
        model = AlertRule
        fields = ["enabled", "metric_name", "model_version"]
