"""``GET metrics/segments/``: a version's figures per value of one key (SPEC §13).

A thin face over ``predictions.segments``: parse the window and the key, compute, answer.
"""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from predictions import segments
from predictions.api.common import READ_ERRORS
from predictions.api.metric_views import MetricsView
from predictions.api.serializers import (
    MetricsQuerySerializer,
    nullable_float,
    text_field,
)
from predictions.validation import MAX_MODEL_VERSION

# The longest key asked for (a feature or metadata key).
MAX_KEY_LENGTH = 200


class SegmentsQuerySerializer(MetricsQuerySerializer):
    model_version = text_field(MAX_MODEL_VERSION, help_text="The version to segment.")
    key = text_field(
        MAX_KEY_LENGTH,
        help_text="A features key, else a metadata key (features first when both have it).",
    )


class SegmentSerializer(serializers.Serializer):
    value = serializers.CharField(help_text='The value as text, or "(other)" for the rest.')
    n = serializers.IntegerField()
    num_with_outcome = serializers.IntegerField()
    accuracy = nullable_float()
    precision = nullable_float()
    recall = nullable_float()
    f1_score = nullable_float()
    accuracy_gap = nullable_float(help_text="accuracy − overall_accuracy.")


class SegmentsSerializer(serializers.Serializer):
    model_version = serializers.CharField()
    key = serializers.CharField()
    overall_accuracy = nullable_float()
    segments = SegmentSerializer(
        many=True,
        help_text="The 20 most frequent values and (other), lowest accuracy first (null last).",
    )


@extend_schema(
    summary="Accuracy, precision, recall and F1 per value of a feature or metadata key",
    parameters=[SegmentsQuerySerializer],
    responses={200: SegmentsSerializer, **READ_ERRORS},
)
class SegmentsView(MetricsView):
    query_serializer = SegmentsQuerySerializer

    def compute(self, window, params):
        return segments.segment_metrics(window, params["key"])
