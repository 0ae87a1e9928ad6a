"""Admin of alert rules: the rule editor (AlertRuleForm) and enable/disable actions.

Rules are edited here with choices, channel checkboxes and typed conditions, validated by
``AlertRule.clean`` (the one validation of a rule, shared with the API).
"""
from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from alerting.admin.preview import preview_view
from alerting.forms import AlertRuleForm

# "Fires per week": incidents of the last four weeks, divided by four.
FIRES_PER_WEEK_WEEKS = 4


class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    change_form_template = "admin/alerting/alertrule/change_form.html"
    list_display = ["rule_id", "name", "metric_name", "comparison", "threshold", "severity",
                    "component", "model_version", "channel_list", "enabled", "fires_per_week",
                    "last_triggered"]
    list_display_links = ["rule_id"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "severity", "metric_name", "component"]
    search_fields = ["rule_id", "name", "description", "model_version"]
    readonly_fields = ["states_table", "last_triggered", "created_at", "updated_at"]
    actions = ["enable_rules", "disable_rules"]
    fieldsets = [
        (None, {"fields": ["rule_id", "name", "description", "enabled"]}),
        ("Condition", {
            "fields": ["metric_name", "comparison", "threshold",
                       "model_version", "min_value", "max_value", "min_samples",
                       "aggregate"],
            "description": "The rule fires when «metric comparison threshold» holds for a "
                           "snapshot of the model version (blank: every version), within "
                           "min/max value and with enough labelled predictions.",
        }),
        ("Firing and recovery", {
            "fields": ["pending_evaluations", "recovery_threshold", "window_minutes",
                       "cooldown_minutes", "repeat_interval_minutes"],
            "description": "An incident opens after «pending evaluations» consecutive bad "
                           "values, resolves past the recovery threshold (or when the "
                           "condition stops), and a new one waits the cooldown after a "
                           "resolution; reminders repeat while nobody acknowledges.",
        }),
        ("Alert", {"fields": ["severity", "component", "channels", "webhook_url",
                              "webhook_secret", "pagerduty_routing_key"]}),
        ("State per model version", {"fields": ["states_table"]}),
        ("History", {"fields": ["last_triggered", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing has happened to a rule being added
            return self.fieldsets[:-2]
        return self.fieldsets

    @admin.display(description="states")
    def states_table(self, rule):
        """The rule's RuleState rows (read-only: the engine writes them)."""
        states = rule.states.all()
        if not states:
            return "Not evaluated yet."
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s.model_version or "—", s.state, s.consecutive,
              "—" if s.last_value is None else f"{s.last_value:.4f}",
              s.since or "—", s.last_evaluated_at or "—") for s in states),
        )
        return format_html(
            '<table id="rule-states"><thead><tr><th>Version</th><th>State</th>'
            "<th>Consecutive</th><th>Last value</th><th>Since</th><th>Last evaluated</th>"
            "</tr></thead><tbody>{}</tbody></table>", rows,
        )

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_queryset(self, request):
        since = timezone.now() - timedelta(weeks=FIRES_PER_WEEK_WEEKS)
        return super().get_queryset(request).annotate(
            recent_incidents=Count("alerts", filter=Q(alerts__timestamp__gte=since))
        )

    @admin.display(description="fires per week", ordering="recent_incidents")
    def fires_per_week(self, rule):
        return f"{rule.recent_incidents / FIRES_PER_WEEK_WEEKS:g}"

    def get_urls(self):
        preview = self.admin_site.admin_view(preview_view)
        return [path("preview/", preview, name="alerting_alertrule_preview"),
                *super().get_urls()]

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
