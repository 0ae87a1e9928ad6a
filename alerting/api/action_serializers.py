"""Serializers of the approval queue's API (SPEC §8)."""
from rest_framework import serializers

from alerting.models import AgentAction, Alert
from monitoring_site.api.fields import StrictSlugRelatedField


class AgentActionSerializer(serializers.ModelSerializer):
    """A proposed action; everything past the proposal is set by its transitions."""

    action_id = serializers.RegexField(
        r"^[-a-zA-Z0-9_.:]+$", max_length=100, required=False,
        help_text="Generated when absent.",
    )
    parameters = serializers.DictField(required=False)
    alert = StrictSlugRelatedField(
        slug_field="alert_id", queryset=Alert.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = AgentAction
        fields = ["action_id", "action_type", "description", "parameters", "risk_level",
                  "requires_approval", "alert", "issue_type", "issue_severity", "status",
                  "requested_by", "created_at", "reviewed_by", "reviewed_at",
                  "review_comment", "executed_at", "execution_result"]
        read_only_fields = ["status", "requested_by", "created_at", "reviewed_by",
                            "reviewed_at", "review_comment", "executed_at", "execution_result"]

    def validate_action_id(self, value):
        if AgentAction.objects.filter(action_id=value).exists():
            raise serializers.ValidationError(f"An action {value!r} already exists.",
                                              code="unique")
        return value


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ExecutionSerializer(serializers.Serializer):
    result = serializers.DictField(required=False, default=dict)
