"""Serializers of the alerting API: alerts, rules, and the shapes of its actions."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerting import rule_checks
from alerting.choices import ChannelName, Severity
from alerting.lifecycle import NOTE_MAX_LENGTH
from alerting.models import Alert, AlertRule, Delivery, RuleState, Silence
from alerting.preview import MAX_DAYS, MIN_DAYS
from alerting.rule_checks import SECRET_CONDITIONS, SECRET_MASK
from alerting.silences import silence_status
from monitoring_site.api.schema import (
    NOT_BLANK,
    DetailSerializer,  # noqa: F401 (re-exported)
)
from predictions.metrics import MAX_WINDOW_MINUTES


class DeliverySerializer(serializers.ModelSerializer):
    """One notification of the alert on one channel, and how its attempts went."""

    class Meta:
        model = Delivery
        fields = ["channel", "kind", "reminder_number", "status", "attempts", "last_error",
                  "next_attempt_at", "sent_at", "created_at"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="rule_id", read_only=True, allow_null=True)
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "alert_id", "timestamp", "severity", "title", "message", "summary", "metric_name",
            "metric_value", "threshold", "component", "model_version", "rule", "status",
            "occurrences", "last_value", "last_seen_at", "reminders_sent", "last_reminded_at",
            "silenced",
            "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledgment_note",
            "resolved_at", "resolved_by", "resolution_note", "deliveries", "worst_segments",
        ]
        read_only_fields = fields


class AlertNoteSerializer(serializers.Serializer):
    """The optional note of an acknowledgment or a resolution."""

    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH
    )


class AcknowledgedAlertSerializer(AlertSerializer):
    """The alert after an acknowledgment, and whether someone had acknowledged it first."""

    already_acknowledged = serializers.BooleanField(source="already", read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "already_acknowledged"]
        read_only_fields = fields


class ResolvedAlertSerializer(AlertSerializer):
    """The alert after a resolution, and whether someone had resolved it first."""

    already_resolved = serializers.BooleanField(source="already", read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "already_resolved"]
        read_only_fields = fields


class SeverityCountsSerializer(serializers.Serializer):
    critical = serializers.IntegerField()
    warning = serializers.IntegerField()
    info = serializers.IntegerField()


class StatusCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()


class AlertStatisticsSerializer(serializers.Serializer):
    total_alerts = serializers.IntegerField()
    unacknowledged = serializers.IntegerField()
    by_severity = SeverityCountsSerializer()
    by_component = serializers.DictField(child=serializers.IntegerField())
    by_status = StatusCountsSerializer()


class RuleStateSerializer(serializers.ModelSerializer):
    """Where the rule stands for one model version (SPEC §10)."""

    class Meta:
        model = RuleState
        fields = ["model_version", "state", "since", "consecutive", "last_value",
                  "last_evaluated_at", "last_resolved_at", "last_fired_at"]
        read_only_fields = fields


@extend_schema_field({
    "type": "array",
    "items": {"type": "string", "enum": ChannelName.values},
    "uniqueItems": True,
    "description": (
        "Where the alert goes. \"webhook\" needs conditions.webhook_url; \"pagerduty\" "
        "needs conditions.pagerduty_routing_key unless the server sets PAGERDUTY_ROUTING_KEY; "
        "\"alertmanager\" needs ALERTMANAGER_URL set on the server (else 400)."
    ),
})
class ChannelListField(serializers.ListField):
    """A rule's channels, each at most once (checked by AlertRule.clean)."""


@extend_schema_field({
    "type": "object",
    "properties": {
        "min_value": {"type": "number"},
        "max_value": {"type": "number"},
        "min_samples": {"type": "integer", "minimum": 0},
        "webhook_url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "aggregate": {"type": "string", "enum": list(rule_checks.AGGREGATES)},
        # Secrets: shown back as the mask; the mask sent back keeps the stored value.
        **{key: {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NOT_BLANK}
           for key in SECRET_CONDITIONS},
    },
    "additionalProperties": False,
})
class ConditionsField(serializers.DictField):
    """A rule's conditions (checked, with the rules between keys, by AlertRule.clean)."""


@extend_schema_field(
    {"type": "string", "maxLength": 64, "pattern": rule_checks.METRIC_NAME_PATTERN}
)
class MetricNameField(serializers.CharField):
    """A rule's metric: one of §4, or custom:<name> (checked by AlertRule.clean)."""


class AlertRuleSerializer(serializers.ModelSerializer):
    """A rule; every check lives in AlertRule.clean (shared with the admin form)."""

    states = RuleStateSerializer(many=True, read_only=True)

    channels = ChannelListField(
        child=serializers.ChoiceField(choices=ChannelName.choices), required=False
    )
    conditions = ConditionsField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    metric_name = MetricNameField(
        max_length=64, help_text=AlertRule._meta.get_field("metric_name").help_text
    )

    class Meta:
        model = AlertRule
        fields = [
            "rule_id", "name", "description", "metric_name", "threshold",
            "comparison", "severity", "component", "model_version", "enabled",
            "cooldown_minutes", "pending_evaluations", "recovery_threshold",
            "repeat_interval_minutes", "window_minutes", "channels", "conditions",
            "last_triggered", "created_at", "updated_at", "states",
        ]
        read_only_fields = ["last_triggered", "created_at", "updated_at", "states"]
        # The bounds AlertRule.clean checks, stated for the OpenAPI document too.
        extra_kwargs = {
            "pending_evaluations": {"min_value": 1},
            "repeat_interval_minutes": {"min_value": 1},
            "window_minutes": {"min_value": 1, "max_value": MAX_WINDOW_MINUTES},
        }

    def to_representation(self, instance):
        shown = super().to_representation(instance)
        conditions = shown.get("conditions")
        if isinstance(conditions, dict):
            shown["conditions"] = {
                key: SECRET_MASK if key in SECRET_CONDITIONS and value else value
                for key, value in conditions.items()
            }
        return shown

    def _keep_masked_secrets(self, attrs):
        """A secret sent back as the mask keeps the stored value."""
        conditions = attrs.get("conditions")
        stored = getattr(self.instance, "conditions", None)
        if not isinstance(conditions, dict) or not isinstance(stored, dict):
            return
        for key in SECRET_CONDITIONS:
            if conditions.get(key) == SECRET_MASK and stored.get(key):
                conditions[key] = stored[key]

    def validate(self, attrs):
        self._keep_masked_secrets(attrs)
        component = rule_checks.metric_component(attrs.get("metric_name"))
        if self.instance is None and "component" not in attrs and component:
            attrs["component"] = component  # drift / data_quality, not "performance"
        rule = AlertRule()
        if self.instance is not None:
            for field in AlertRule._meta.concrete_fields:
                setattr(rule, field.attname, getattr(self.instance, field.attname))
        for name, value in attrs.items():
            setattr(rule, name, value)
        try:
            rule.clean()
        except DjangoValidationError as exc:
            # Refused only because of what is stored: it conflicts with the stored rule (409),
            # e.g. a PUT of an accuracy rule over stored custom conditions, or a PATCH of
            # conditions without the routing key its stored "pagerduty" channel needs.
            stored = self.instance is not None and (
                not set(exc.message_dict) & set(attrs) or _valid_alone(attrs)
            )
            raise serializers.ValidationError(
                exc.message_dict, code="conflict" if stored else "invalid"
            ) from exc
        return attrs


def _valid_alone(attrs) -> bool:
    """Whether the fields a request sent hold together on a new rule (no stored values):
    then a refusal of them comes from the stored rule, not from the request."""
    rule = AlertRule()
    for name, value in attrs.items():
        setattr(rule, name, value)
    try:
        rule.clean()
    except DjangoValidationError as exc:
        return not set(exc.message_dict) & set(attrs)
    return True


class EvaluateRuleSerializer(serializers.Serializer):
    metric_value = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField(max_length=64, allow_blank=True, default="")
    num_with_outcome = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class RulePreviewRequestSerializer(AlertRuleSerializer):
    """A rule body as for a create (validated, never saved) and how many days to replay."""

    rule_id = serializers.SlugField(max_length=100, required=False, default="preview")
    days = serializers.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, default=7)

    class Meta(AlertRuleSerializer.Meta):
        fields = [*AlertRuleSerializer.Meta.fields, "days"]

    def to_rule(self) -> AlertRule:
        values = {k: v for k, v in self.validated_data.items() if k != "days"}
        return AlertRule(**values)


class PreviewIncidentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    peak_value = serializers.FloatField(allow_null=True)


class PreviewPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    value = serializers.FloatField(allow_null=True)


class RulePreviewSerializer(serializers.Serializer):
    model_version = serializers.CharField()
    incidents = PreviewIncidentSerializer(many=True)
    series = PreviewPointSerializer(many=True)


class RuleStatisticsSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    incidents_7d = serializers.IntegerField()
    incidents_30d = serializers.IntegerField()
    notifications_30d = serializers.IntegerField()
    acknowledged_pct = serializers.FloatField(allow_null=True)
    median_time_to_ack_s = serializers.FloatField(allow_null=True)
    median_time_to_resolve_s = serializers.FloatField(allow_null=True)
    silenced_30d = serializers.IntegerField()


class SilenceSerializer(serializers.ModelSerializer):
    """A silence as the API shows it, with whether it is in force now."""

    rule_id = serializers.SlugRelatedField(
        source="rule", slug_field="rule_id", read_only=True, allow_null=True
    )
    alert_id = serializers.SlugRelatedField(
        source="alert", slug_field="alert_id", read_only=True, allow_null=True
    )
    status = serializers.SerializerMethodField()
    # Blank: every severity.
    severity = serializers.ChoiceField(choices=Severity.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Silence
        fields = ["id", "rule_id", "model_version", "severity", "component", "alert_id",
                  "starts_at", "ends_at", "reason", "created_by", "created_at", "expired_at",
                  "expired_by", "status"]
        read_only_fields = fields

    def get_status(self, silence) -> str:
        return silence_status(silence)


class SilenceRequestSerializer(serializers.Serializer):
    """``POST silences/``: matchers (blank: any), an end or an alert, and a reason."""

    rule_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    model_version = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                          default="")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False,
                                       allow_blank=True, default="")
    component = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                      default="")
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    duration_minutes = serializers.IntegerField(required=False, min_value=1,
                                                max_value=366 * 24 * 60)
    alert_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000)
