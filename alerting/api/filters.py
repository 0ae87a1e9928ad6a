"""Filters of the alerting API's lists."""
import django_filters

from alerting.choices import AlertStatus, Severity
from alerting.models import Alert, AlertRule
from monitoring_site.api.filters import UTCDateTimeFilter, strict_boolean_filter


class AlertFilter(django_filters.FilterSet):
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    acknowledged = strict_boolean_filter()
    model_version = django_filters.CharFilter()
    component = django_filters.CharFilter()
    rule = django_filters.CharFilter(field_name="rule__rule_id", label="Rule id")
    since = UTCDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = Alert
        fields = ["severity", "status", "acknowledged", "model_version", "component", "rule",
                  "since", "until"]


class AlertRuleFilter(django_filters.FilterSet):
    enabled = strict_boolean_filter()
    metric_name = django_filters.CharFilter()
    model_version = django_filters.CharFilter()

    class Meta:
        model = AlertRule
        fields = ["enabled", "metric_name", "model_version"]
