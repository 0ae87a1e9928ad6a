"""Admin of alerts, their deliveries and the rules' cooldowns.

Alerts are read-only records of what was measured; acknowledging and resolving are
actions that go through ``alerting.lifecycle`` (like the web pages and the API) and
record the admin user.
"""
from django.contrib import admin, messages

from alerting import lifecycle
from alerting.models import Alert, Delivery


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
        self._take_step(request, lifecycle.ACKNOWLEDGE, queryset)

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve_selected(self, request, queryset):
        self._take_step(request, lifecycle.RESOLVE, queryset)

    def _take_step(self, request, step, queryset):
        by = lifecycle.acting_person(request.user)
        outcome = lifecycle.take_step_for_all(step, queryset, by=by)
        self.message_user(
            request, outcome.message, messages.SUCCESS if outcome.changed else messages.WARNING
        )


class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["alert", "channel", "kind", "status", "attempts", "next_attempt_at",
                    "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["alert__alert_id"]
    raw_id_fields = ["alert"]
    list_select_related = ["alert"]
    readonly_fields = ["created_at", "sent_at"]


class RuleCooldownAdmin(admin.ModelAdmin):
    list_display = ["rule", "model_version", "last_fired_at"]
    list_filter = ["rule"]
    search_fields = ["rule__rule_id", "model_version"]
    raw_id_fields = ["rule"]
    list_select_related = ["rule"]
