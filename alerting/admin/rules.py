"""Admin of alert rules: the rule editor (AlertRuleForm) and enable/disable actions.

Rules are edited here with choices, channel checkboxes and typed conditions, validated by
``AlertRule.clean`` (the one validation of a rule, shared with the API).
"""
from django.contrib import admin, messages

from alerting.forms import AlertRuleForm


class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["rule_id", "name", "metric_name", "comparison", "threshold", "severity",
                    "component", "model_version", "channel_list", "enabled", "last_triggered"]
    list_display_links = ["rule_id"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "severity", "metric_name", "component"]
    search_fields = ["rule_id", "name", "description", "model_version"]
    readonly_fields = ["last_triggered", "created_at", "updated_at"]
    actions = ["enable_rules", "disable_rules"]
    fieldsets = [
        (None, {"fields": ["rule_id", "name", "description", "enabled"]}),
        ("Condition", {
            "fields": ["metric_name", "comparison", "threshold",
                       "model_version", "min_value", "max_value", "min_samples"],
            "description": "The rule fires when «metric comparison threshold» holds for a "
                           "snapshot of the model version (blank: every version), within "
                           "min/max value and with enough labelled predictions.",
        }),
        ("Alert", {"fields": ["severity", "component", "cooldown_minutes", "channels",
                              "webhook_url"]}),
        ("History", {"fields": ["last_triggered", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing has happened to a rule being added
            return self.fieldsets[:-1]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    @admin.display(description="channels")
    def channel_list(self, rule):
        return ", ".join(rule.channels or []) or "—"

    @admin.action(description="Enable selected rules", permissions=["change"])
    def enable_rules(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected rules", permissions=["change"])
    def disable_rules(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset, enabled):
        # Only the rules that change are written (and counted).
        changed = queryset.filter(enabled=not enabled).update(enabled=enabled)
        done = "enabled" if enabled else "disabled"
        self.message_user(
            request, f"{changed} {'rule' if changed == 1 else 'rules'} {done}.", messages.SUCCESS
        )
