"""Admin for alert rules, alerts, deliveries and actions."""
from django.contrib import admin

from alerting.models import Alert, AlertRule, Delivery, RuleCooldown


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["rule_id", "metric_name", "comparison", "threshold", "severity",
                    "enabled", "last_triggered"]
    list_filter = ["enabled", "severity", "metric_name"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["alert_id", "timestamp", "severity", "title", "model_version", "status"]
    list_filter = ["severity", "status", "acknowledged", "component"]
    date_hierarchy = "timestamp"


admin.site.register(Delivery)
admin.site.register(RuleCooldown)

from alerting import actions_admin  # noqa: F401,E402
