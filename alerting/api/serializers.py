"""Serializers of the alerting API: alerts, rules, and the shapes of its actions."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from alerting.choices import ChannelName, Severity
from alerting.lifecycle import NOTE_MAX_LENGTH
from alerting.models import Alert, AlertRule, Delivery
from monitoring_site.api.schema import DetailSerializer  # noqa: F401 (re-exported)


class DeliverySerializer(serializers.ModelSerializer):
    """One notification of the alert on one channel, and how its attempts went."""

    class Meta:
        model = Delivery
        fields = ["channel", "kind", "status", "attempts", "last_error", "next_attempt_at",
                  "sent_at", "created_at"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="rule_id", read_only=True, allow_null=True)
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "alert_id", "timestamp", "severity", "title", "message", "metric_name",
            "metric_value", "threshold", "component", "model_version", "rule", "status",
            "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledgment_note",
            "resolved_at", "resolved_by", "resolution_note", "deliveries",
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


class AlertRuleSerializer(serializers.ModelSerializer):
    """A rule; every check lives in AlertRule.clean (shared with the admin form)."""

    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=ChannelName.choices), required=False
    )
    conditions = serializers.DictField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)

    class Meta:
        model = AlertRule
        fields = [
            "rule_id", "name", "description", "metric_name", "threshold",
            "comparison", "severity", "component", "model_version", "enabled",
            "cooldown_minutes", "channels", "conditions", "last_triggered", "created_at",
            "updated_at",
        ]
        read_only_fields = ["last_triggered", "created_at", "updated_at"]

    def validate(self, attrs):
        rule = AlertRule()
        if self.instance is not None:
            for field in AlertRule._meta.concrete_fields:
                setattr(rule, field.attname, getattr(self.instance, field.attname))
        for name, value in attrs.items():
            setattr(rule, name, value)
        try:
            rule.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class EvaluateRuleSerializer(serializers.Serializer):
    metric_value = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField(max_length=64, allow_blank=True, default="")
    num_with_outcome = serializers.IntegerField(min_value=0, required=False, allow_null=True)
