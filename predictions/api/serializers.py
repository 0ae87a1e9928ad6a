"""Serializers of the predictions API: output shapes, query parameters, and the schema.

Ingestion does not validate through a serializer (see predictions.validation: one plain
validator for the API and the importer, fast on large batches); the input serializers
below are built from that validator's field descriptions, for the OpenAPI document.
"""
from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitoring_site.api.fields import AwareDateTimeField
from monitoring_site.api.schema import DetailSerializer  # noqa: F401 (re-exported)
from predictions.metrics import MAX_WINDOW_MINUTES
from predictions.models import HealthSnapshot, Prediction
from predictions.storage import COLUMNS
from predictions.validation import (
    INTEGER,
    MAX_MODEL_VERSION,
    NUMBER,
    OBJECT,
    OUTCOME_FIELDS,
    PREDICTION_FIELDS,
    TEXT,
    TIMESTAMP,
    FieldSpec,
    json_object_problem,
)

MAX_TREND_HOURS = 366 * 24
MAX_BINS = 100
MAX_SNAPSHOT_LIMIT = 1000
MAX_COUNT = 2**31 - 1


class PredictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prediction
        fields = list(COLUMNS)  # every stored column, in the ingest order
        read_only_fields = fields


# Text columns cannot hold NUL characters (PostgreSQL refuses them): say so in the schema.
NO_NUL = RegexValidator(r"^[^\x00]*$", "Must not contain NUL characters.")


def text_field(max_length, **kwargs):
    return serializers.CharField(max_length=max_length, validators=[NO_NUL], **kwargs)


def version_param():
    """The ``model_version`` query parameter (absent: every version)."""
    return text_field(
        MAX_MODEL_VERSION, required=False, help_text="Absent: every version."
    )


@extend_schema_field(
    {
        # Epoch seconds of years 1..9999, the dates the validator can hold.
        "oneOf": [{"type": "string", "format": "date-time"},
                  {"type": "number", "minimum": -62135596800, "maximum": 253402300799}],
        "nullable": True,
    }
)
class TimestampInputField(serializers.Field):
    """ISO 8601 text or epoch seconds (documentation only: predictions.validation parses it)."""


def input_field(spec: FieldSpec, **overrides) -> serializers.Field:
    """The schema's field for one field the validator checks, from the same description."""
    options = {"required": spec.required, **overrides}
    if spec.description:
        options["help_text"] = spec.description
    if not options["required"] and spec.kind != TIMESTAMP:
        options["allow_null"] = True  # the validator treats null as absent
    bounds = {
        name: value
        for name, value in (("min_value", spec.min_value), ("max_value", spec.max_value))
        if value is not None
    }
    if spec.kind == TEXT:
        return text_field(spec.max_length, min_length=1, **options)
    if spec.kind == INTEGER:
        return serializers.IntegerField(**bounds, **options)
    if spec.kind == NUMBER:
        return serializers.FloatField(**bounds, **options)
    if spec.kind == OBJECT:
        return serializers.DictField(**options)
    return TimestampInputField(**options)


def input_serializer(name: str, specs, doc: str, base=serializers.Serializer):
    """A serializer class whose fields are ``specs``, for the OpenAPI document."""
    attrs = {spec.name: input_field(spec) for spec in specs}
    return serializers.SerializerMetaclass(
        name, (base,), {**attrs, "__doc__": doc, "__module__": __name__}
    )


PredictionInputSerializer = input_serializer(
    "PredictionInputSerializer", PREDICTION_FIELDS,
    "One prediction as a model service sends it (validated by predictions.validation).",
)

class IngestResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()


class IngestErrorsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text="Each bad item's index → {field: message}.",
    )


class IngestConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    prediction_ids = serializers.ListField(child=serializers.CharField())


OUTCOME_FIELD = {spec.name: spec for spec in OUTCOME_FIELDS}
OutcomeSerializer = input_serializer(
    "OutcomeSerializer", [OUTCOME_FIELD["actual_outcome"]], None
)
OutcomeItemSerializer = input_serializer(
    "OutcomeItemSerializer", [OUTCOME_FIELD["prediction_id"]],
    None, base=OutcomeSerializer,
)


class EvaluationSerializer(serializers.Serializer):
    """The legacy library's evaluation of a prediction against its outcome."""

    prediction_id = serializers.CharField()
    model_version = serializers.CharField()
    predicted = serializers.IntegerField()
    actual = serializers.IntegerField()
    correct = serializers.BooleanField()
    confidence = serializers.FloatField()
    calibration_error = serializers.FloatField()
    timestamp = serializers.FloatField(help_text="Epoch seconds of the prediction.")


class OutcomesResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    not_found = serializers.ListField(child=serializers.CharField())


# --- metrics -------------------------------------------------------------------------------


class MetricsQuerySerializer(serializers.Serializer):
    """The window: the last ``window_minutes``, or [start, end) given by date-times."""

    model_version = version_param()
    window_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_WINDOW_MINUTES,
        default=lambda: settings.MONITORING_DEFAULT_WINDOW_MINUTES,
        help_text="Predictions with timestamp ≥ now − window_minutes "
        "(default MONITORING_DEFAULT_WINDOW_MINUTES, 60). Not with start/end.",
    )
    start = AwareDateTimeField(
        required=False, help_text="Window start (ISO 8601 with offset), instead of "
        "window_minutes; with end absent, no upper bound.")
    end = AwareDateTimeField(
        required=False, help_text="Window end, exclusive (ISO 8601 with offset); needs start.")

    def validate(self, attrs):
        given = self.initial_data
        if "end" in attrs and "start" not in attrs:
            raise serializers.ValidationError({"start": ["Give start with end."]})
        if "start" in attrs and "window_minutes" in given:
            raise serializers.ValidationError(
                {"window_minutes": ["Give either window_minutes or start/end, not both."]}
            )
        if "start" in attrs and "end" in attrs and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"start": ["start must be before end."]})
        return attrs


class CalibrationQuerySerializer(MetricsQuerySerializer):
    window_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_WINDOW_MINUTES, default=None,
        help_text="Absent: all time.",
    )
    n_bins = serializers.IntegerField(required=False, min_value=1, max_value=MAX_BINS, default=10)


def nullable_float(**kwargs):
    return serializers.FloatField(allow_null=True, **kwargs)


class PerformanceMetricsSerializer(serializers.Serializer):
    num_predictions = serializers.IntegerField()
    avg_confidence = nullable_float()
    min_confidence = nullable_float()
    max_confidence = nullable_float()
    confidence_std = nullable_float(help_text="Sample standard deviation (ddof = 1).")
    latency_p50_ms = nullable_float()
    latency_p95_ms = nullable_float()
    positive_rate = nullable_float()
    prediction_entropy = nullable_float()


class AccuracyMetricsSerializer(serializers.Serializer):
    accuracy = nullable_float()
    num_with_outcome = serializers.IntegerField()
    num_correct = serializers.IntegerField()


class CalibrationBinSerializer(serializers.Serializer):
    bin = serializers.IntegerField()
    bin_range = serializers.CharField()
    count = serializers.IntegerField()
    mean_confidence = serializers.FloatField()
    accuracy = serializers.FloatField()
    gap = serializers.FloatField()


class CalibrationMetricsSerializer(serializers.Serializer):
    expected_calibration_error = nullable_float()
    max_calibration_error = nullable_float()
    num_bins = serializers.IntegerField()
    total_predictions = serializers.IntegerField()
    bin_metrics = CalibrationBinSerializer(many=True)


class ClassificationMetricsSerializer(serializers.Serializer):
    precision = nullable_float()
    recall = nullable_float()
    f1_score = nullable_float()
    roc_auc = nullable_float()
    brier_score = nullable_float()
    average = serializers.ChoiceField(choices=["binary", "macro"], allow_null=True)
    num_with_outcome = serializers.IntegerField()


# --- health snapshots ------------------------------------------------------------------------


class HealthSnapshotSerializer(serializers.ModelSerializer):
    """A snapshot as stored; recording one checks that figures are finite and in range."""

    model_version = text_field(MAX_MODEL_VERSION, min_length=1)
    metrics = serializers.DictField(
        required=False, help_text="Any further metrics of the window (a JSON object)."
    )

    class Meta:
        model = HealthSnapshot
        fields = [
            "id",
            "timestamp",
            "model_version",
            "window_minutes",
            *HealthSnapshot.METRIC_FIELDS,
            *HealthSnapshot.COUNT_FIELDS,
            *HealthSnapshot.TREND_FIELDS,
            "metrics",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {
            # Every stored metric lies in [0, 1] by its definition (SPEC §4, §8).
            **{name: {"min_value": 0.0, "max_value": 1.0} for name in HealthSnapshot.METRIC_FIELDS},
            "window_minutes": {"min_value": 1, "max_value": MAX_WINDOW_MINUTES},
            **{name: {"min_value": 0, "max_value": MAX_COUNT}
               for name in HealthSnapshot.COUNT_FIELDS},
        }

    def validate_metrics(self, value):
        problem = json_object_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs):
        if attrs.get("num_with_outcome", 0) > attrs.get("num_predictions", 0):
            raise serializers.ValidationError(
                {"num_with_outcome": "Must not exceed num_predictions."}
            )
        return attrs


class HealthSnapshotQuerySerializer(serializers.Serializer):
    model_version = version_param()
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SNAPSHOT_LIMIT, default=100
    )


class TrendQuerySerializer(serializers.Serializer):
    model_version = version_param()
    hours = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_TREND_HOURS, default=24
    )


class TrendSerializer(serializers.Serializer):
    model_version = serializers.CharField(allow_null=True)
    hours = serializers.IntegerField()
    snapshots = HealthSnapshotSerializer(many=True)


class SnapshotSerializer(serializers.ModelSerializer):
    """A snapshot as computed by ``POST health-snapshots/compute/`` (read-only)."""

    class Meta:
        model = HealthSnapshot
        fields = HealthSnapshotSerializer.Meta.fields
        read_only_fields = fields


class ComputeSnapshotsSerializer(serializers.Serializer):
    model_version = serializers.CharField(
        max_length=MAX_MODEL_VERSION, required=False, allow_blank=False
    )
    window_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_WINDOW_MINUTES, required=False
    )


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/Alert"}})
class AlertListField(serializers.ListField):
    """Alerts as the alerting API shows them, filled in by the app that listens to
    predictions.signals. Documented by reference to its ``Alert`` schema: predictions
    does not import alerting."""


class ComputeSnapshotsResultSerializer(serializers.Serializer):
    snapshots = SnapshotSerializer(many=True)
    alerts_fired = AlertListField()
    alerts_resolved = AlertListField()
    deliveries_sent = serializers.IntegerField()
