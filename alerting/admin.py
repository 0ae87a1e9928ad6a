"""Admin for alert rules, alerts, deliveries and cooldowns.

Rules are edited here (AlertRuleForm: choices, channel checkboxes, typed conditions,
validated by ``AlertRule.clean``). Alerts are read-only records of what was measured;
acknowledging and resolving go through ``alerting.lifecycle`` (the same functions as the
web pages and the API), as actions that record the admin user.
"""
from django.contrib import admin, messages
from django.utils.translation import ngettext

from alerting.forms import AlertRuleForm
from alerting.lifecycle import acknowledge_alerts, resolve_alerts
from alerting.models import Alert, AlertRule, Delivery, RuleCooldown


@admin.register(AlertRule)
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
        changed = queryset.filter(enabled=False).update(enabled=True)
        self.message_user(
            request,
            ngettext("%d rule enabled.", "%d rules enabled.", changed) % changed,
            messages.SUCCESS,
        )

    @admin.action(description="Disable selected rules", permissions=["change"])
    def disable_rules(self, request, queryset):
        changed = queryset.filter(enabled=True).update(enabled=False)
        self.message_user(
            request,
            ngettext("%d rule disabled.", "%d rules disabled.", changed) % changed,
            messages.SUCCESS,
        )


class DeliveryInline(admin.TabularInline):
    """An alert's notifications, as the delivery loop recorded them (read-only)."""

    model = Delivery
    fields = ["channel", "kind", "status", "attempts", "last_error", "next_attempt_at",
              "sent_at", "created_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class ModelVersionListFilter(admin.SimpleListFilter):
    """Model versions that have alerts (a small GROUP BY over the alerts table)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        versions = (
            Alert.objects.order_by("model_version")
            .values_list("model_version", flat=True)
            .distinct()[:500]
        )
        return [(version, version or "(none)") for version in versions]

    def queryset(self, request, queryset):
        if self.value() is not None:
            return queryset.filter(model_version=self.value())
        return queryset


# What was measured and decided when the alert fired: never edited afterwards.
ALERT_MEASURED_FIELDS = [
    "alert_id", "timestamp", "severity", "title", "message", "metric_name", "metric_value",
    "threshold", "component", "model_version", "rule",
]
# The lifecycle changes only through alerting.lifecycle (actions below, pages, API).
ALERT_LIFECYCLE_FIELDS = [
    "status", "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledgment_note",
    "resolved_at", "resolved_by", "resolution_note",
]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["alert_id", "timestamp", "severity", "title", "model_version", "component",
                    "status", "acknowledged", "acknowledged_by"]
    list_filter = ["severity", "status", "acknowledged", "component", ModelVersionListFilter]
    search_fields = ["alert_id", "title", "message", "model_version"]
    date_hierarchy = "timestamp"
    list_select_related = ["rule"]
    raw_id_fields = ["rule"]
    inlines = [DeliveryInline]
    actions = ["acknowledge_selected", "resolve_selected"]
    fieldsets = [
        (None, {"fields": ALERT_MEASURED_FIELDS}),
        ("Lifecycle", {"fields": ALERT_LIFECYCLE_FIELDS}),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ALERT_LIFECYCLE_FIELDS
        return ALERT_MEASURED_FIELDS + ALERT_LIFECYCLE_FIELDS

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        changed = acknowledge_alerts(queryset, by=request.user.get_username())
        skipped = queryset.count() - changed
        self.message_user(
            request,
            ngettext("%d alert acknowledged.", "%d alerts acknowledged.", changed) % changed
            + (f" {skipped} already acknowledged." if skipped else ""),
            messages.SUCCESS if changed else messages.WARNING,
        )

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve_selected(self, request, queryset):
        changed = resolve_alerts(queryset, by=request.user.get_username())
        skipped = queryset.count() - changed
        self.message_user(
            request,
            ngettext("%d alert resolved.", "%d alerts resolved.", changed) % changed
            + (f" {skipped} already resolved." if skipped else ""),
            messages.SUCCESS if changed else messages.WARNING,
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["alert", "channel", "kind", "status", "attempts", "next_attempt_at",
                    "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["alert__alert_id"]
    raw_id_fields = ["alert"]
    list_select_related = ["alert"]
    readonly_fields = ["created_at", "sent_at"]


@admin.register(RuleCooldown)
class RuleCooldownAdmin(admin.ModelAdmin):
    list_display = ["rule", "model_version", "last_fired_at"]
    list_filter = ["rule"]
    search_fields = ["rule__rule_id", "model_version"]
    raw_id_fields = ["rule"]
    list_select_related = ["rule"]


from alerting import actions_admin  # noqa: F401,E402
