"""Admin of alerts, their deliveries, the rules' states and silences.

Alerts are read-only records of what was measured; acknowledging and resolving are
actions that go through ``alerting.lifecycle`` (like the web pages and the API) and
record the admin user.
"""
from django.contrib import admin, messages

from alerting import lifecycle, silences
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
    "alert_id", "timestamp", "severity", "title", "message", "summary", "metric_name",
    "metric_value", "threshold", "component", "model_version", "rule",
]
# What later evaluations wrote on the incident (the engine's, never edited).
ALERT_INCIDENT_FIELDS = [
    "occurrences", "last_value", "last_seen_at", "reminders_sent", "last_reminded_at",
    "silenced",
]
# The lifecycle changes only through alerting.lifecycle (actions below, pages, API).
ALERT_LIFECYCLE_FIELDS = [
    "status", "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledgment_note",
    "resolved_at", "resolved_by", "resolution_note",
]


class AlertAdmin(admin.ModelAdmin):
    list_display = ["alert_id", "timestamp", "severity", "title", "model_version", "component",
                    "status", "occurrences", "silenced", "acknowledged", "acknowledged_by"]
    list_filter = ["severity", "status", "acknowledged", "silenced", "component",
                   ModelVersionListFilter]
    search_fields = ["alert_id", "title", "message", "model_version"]
    date_hierarchy = "timestamp"
    list_select_related = ["rule"]
    raw_id_fields = ["rule"]
    inlines = [DeliveryInline]
    actions = ["acknowledge_selected", "resolve_selected"]
    fieldsets = [
        (None, {"fields": ALERT_MEASURED_FIELDS}),
        ("Incident", {"fields": ALERT_INCIDENT_FIELDS}),
        ("Lifecycle", {"fields": ALERT_LIFECYCLE_FIELDS}),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ALERT_LIFECYCLE_FIELDS + ALERT_INCIDENT_FIELDS
        return ALERT_MEASURED_FIELDS + ALERT_INCIDENT_FIELDS + ALERT_LIFECYCLE_FIELDS

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


class RuleStateAdmin(admin.ModelAdmin):
    list_display = ["rule", "model_version", "state", "since", "consecutive", "last_value",
                    "last_evaluated_at", "last_resolved_at"]
    list_filter = ["state", "rule"]
    search_fields = ["rule__rule_id", "model_version"]
    raw_id_fields = ["rule"]
    list_select_related = ["rule"]


class SilenceAdmin(admin.ModelAdmin):
    """Silences; created and expired through alerting.silences (as on the pages and API)."""

    list_display = ["pk", "rule", "model_version", "severity", "component", "alert",
                    "starts_at", "ends_at", "expired_at", "created_by", "reason"]
    list_filter = ["severity"]
    search_fields = ["reason", "model_version", "component", "rule__rule_id",
                     "alert__alert_id"]
    raw_id_fields = ["rule", "alert"]
    list_select_related = ["rule", "alert"]
    readonly_fields = ["created_by", "created_at", "expired_at", "expired_by"]
    actions = ["expire_selected"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        if not change:  # what the silence matches now is marked at once
            silences.mark_matched(obj)

    @admin.action(description="Expire selected silences", permissions=["change"])
    def expire_selected(self, request, queryset):
        by = request.user.get_username()
        expired = sum(
            silences.expire_silence(pk, by=by).changed
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{expired} silence(s) expired.", messages.SUCCESS)
