"""Serializers of the registry, drift and retraining-decision API (SPEC §8)."""
import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitoring_site.api.fields import (
    BlankIsNullSlugRelatedField,
    JSONObjectField,
    NameListField,
)
from predictions.api.serializers import AlertListField
from predictions.choices import UNREGISTERED_STAGE, DecisionAction, Stage, TriggerReason
from predictions.models import DriftReport, HealthSnapshot, ModelVersion, RetrainingDecision

OVERVIEW_STAGES = [*Stage.values, UNREGISTERED_STAGE]


def _finite(value, field):
    if value is not None and not math.isfinite(value):
        raise serializers.ValidationError({field: "Must be a finite number."})


class ModelVersionSerializer(serializers.ModelSerializer):
    """A registered version as written by POST and PATCH (stages move by promotion only)."""

    # Read-only, and with the overview's choices so the schema has one stage enum.
    stage = serializers.ChoiceField(choices=[*Stage.values, UNREGISTERED_STAGE], read_only=True)
    hyperparameters = JSONObjectField(required=False)
    feature_names = NameListField(required=False)

    class Meta:
        model = ModelVersion
        fields = [
            "version", "model_name", "algorithm", "stage", "accuracy", "precision", "recall",
            "f1_score", "roc_auc", "brier_score", "hyperparameters", "feature_names",
            "training_samples", "mlflow_run_id", "model_path", "metadata_path",
            "reference_start", "reference_end", "promoted_at", "promoted_by",
            "created_at", "updated_at",
        ]
        read_only_fields = ["stage", "promoted_at", "promoted_by", "created_at", "updated_at"]

    def validate_hyperparameters(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate_feature_names(self, value):
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise serializers.ValidationError("Must be a list of feature names.")
        return value

    def validate(self, attrs):
        for field in ("accuracy", "precision", "recall", "f1_score", "roc_auc", "brier_score"):
            _finite(attrs.get(field), field)
        start = attrs.get("reference_start", getattr(self.instance, "reference_start", None))
        end = attrs.get("reference_end", getattr(self.instance, "reference_end", None))
        if start is not None and end is not None and start >= end:
            # Against a stored bound the request itself may be fine: a conflict (409).
            both_given = "reference_start" in attrs and "reference_end" in attrs
            raise serializers.ValidationError(
                {"reference_end": "The reference window must end after it starts."},
                code="invalid" if both_given else "conflict",
            )
        return attrs


class LatestSnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthSnapshot
        fields = ["id", "timestamp", "window_minutes", "accuracy", "f1_score", "roc_auc",
                  "expected_calibration_error", "brier_score", "num_predictions",
                  "num_with_outcome", "degradation_detected"]
        read_only_fields = fields


class VersionOverviewSerializer(ModelVersionSerializer):
    """A version as the registry lists it: registered or only seen in predictions."""

    model_name = serializers.CharField(allow_null=True)
    stage = serializers.ChoiceField(choices=OVERVIEW_STAGES)
    registered = serializers.BooleanField()
    num_predictions = serializers.IntegerField()
    num_with_outcome = serializers.IntegerField()
    first_seen = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)
    latest_snapshot = LatestSnapshotSerializer(allow_null=True)
    hyperparameters = JSONObjectField(allow_null=True)  # null: only seen in predictions
    feature_names = NameListField(allow_null=True)

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "registered", "num_predictions",
                  "num_with_outcome", "first_seen", "last_seen", "latest_snapshot"]
        read_only_fields = fields
        extra_kwargs = {
            name: {"allow_null": True}
            for name in ("algorithm", "hyperparameters", "feature_names", "mlflow_run_id",
                         "model_path", "metadata_path", "promoted_by", "created_at",
                         "updated_at")
        }


@extend_schema_field({
    "type": "string",
    "pattern": "^(" + "|".join(Stage.values) + ")$",
    "description": "The stage to move to: " + ", ".join(Stage.values) + ".",
})
class TargetStageField(serializers.ChoiceField):
    """A stage a version can be moved to. Documented as a pattern, not an enum, so that
    the schema keeps one "stage" enum (the registry's, which includes "unregistered")."""

    def __init__(self, **kwargs):
        super().__init__(choices=Stage.choices, **kwargs)


class PromoteSerializer(serializers.Serializer):
    stage = TargetStageField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class TimelineEventSerializer(serializers.Serializer):
    """One event; which of the optional fields it has depends on its kind."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["stage_change", "decision", "snapshot"])
    id = serializers.IntegerField()
    from_stage = serializers.CharField(required=False)
    to_stage = serializers.CharField(required=False)
    by = serializers.CharField(required=False)
    note = serializers.CharField(required=False)
    action = serializers.CharField(required=False)
    trigger_reason = serializers.CharField(required=False)
    action_ref = serializers.CharField(required=False, allow_null=True)
    accuracy = serializers.FloatField(required=False, allow_null=True)
    num_predictions = serializers.IntegerField(required=False)
    degradation_detected = serializers.BooleanField(required=False)
    feature_drift_ratio = serializers.FloatField(required=False, allow_null=True)


class TimelineSerializer(serializers.Serializer):
    version = serializers.CharField()
    events = TimelineEventSerializer(many=True)


class DriftReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DriftReport
        fields = ["id", "model_version", "created_at", "reference_start", "reference_end",
                  "reference_rows", "current_start", "current_end", "current_rows",
                  "features", "num_features", "num_drifted_features", "feature_drift_ratio",
                  "drift_score", "dataset_drift_detected", "max_feature_missing_rate",
                  "max_out_of_range_rate", "new_category_count"]
        read_only_fields = fields


class DriftComputeSerializer(serializers.Serializer):
    """What to compare: a version's current window (default: the last window) against its
    reference (default: the version's own)."""

    model_version = serializers.CharField(max_length=64)
    current_start = serializers.DateTimeField(required=False)
    current_end = serializers.DateTimeField(required=False)
    reference_start = serializers.DateTimeField(required=False)
    reference_end = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        for start, end in (("current_start", "current_end"),
                           ("reference_start", "reference_end")):
            if start in attrs and end in attrs and attrs[start] >= attrs[end]:
                raise serializers.ValidationError({end: f"Must be after {start}."})
        return attrs


class DriftComputeResultSerializer(serializers.Serializer):
    report = DriftReportSerializer()
    alerts_fired = AlertListField()


class InsufficientDataSerializer(serializers.Serializer):
    detail = serializers.CharField()
    side = serializers.ChoiceField(choices=["reference", "current"])
    rows = serializers.IntegerField()
    needed = serializers.IntegerField()


class RetrainingDecisionSerializer(serializers.ModelSerializer):
    """A gate decision; ``apply`` with a promote puts the candidate in production."""

    apply = serializers.BooleanField(write_only=True, required=False, default=False)
    # The AgentAction's action_id (the model is alerting's: reached through the foreign key).
    action_ref = BlankIsNullSlugRelatedField(
        slug_field=RetrainingDecision._meta.get_field("action_ref").to_fields[0] or "pk",
        queryset=RetrainingDecision._meta.get_field("action_ref").related_model.objects.all(),
        required=False, allow_null=True,
        help_text="The action_id of the AgentAction that led here.",
    )
    drift_context = JSONObjectField(required=False)
    data_context = JSONObjectField(required=False)
    decision_details = JSONObjectField(required=False)
    trigger_reason = serializers.ChoiceField(choices=TriggerReason.choices)
    action = serializers.ChoiceField(choices=DecisionAction.choices)

    class Meta:
        model = RetrainingDecision
        fields = ["id", "timestamp", "model_version", "trigger_reason", "action",
                  "drift_context", "data_context", "decision_details", "labeled_samples",
                  "coverage_pct", "action_ref", "recorded_by", "apply"]
        read_only_fields = ["id", "recorded_by"]
        # action_ref: a slug field on the action's action_id (unknown ids answer 400).
        extra_kwargs = {
            "timestamp": {"required": False},
            "action_ref": {"help_text": "The action_id of the AgentAction that led here."},
        }

    def validate(self, attrs):
        for field in ("drift_context", "data_context", "decision_details"):
            if field in attrs and not isinstance(attrs[field], dict):
                raise serializers.ValidationError({field: "Must be an object."})
        _finite(attrs.get("coverage_pct"), "coverage_pct")
        if attrs.get("apply") and attrs.get("action") != DecisionAction.PROMOTE:
            raise serializers.ValidationError(
                {"apply": '"apply" only goes with a "promote" decision.'}
            )
        return attrs


class ActionCountsSerializer(serializers.Serializer):
    promote = serializers.IntegerField()
    reject = serializers.IntegerField()


class TriggerCountsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    drift = serializers.IntegerField()
    manual = serializers.IntegerField()
    alert = serializers.IntegerField()


class DecisionSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_action = ActionCountsSerializer()
    by_trigger = TriggerCountsSerializer()
