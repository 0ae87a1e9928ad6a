"""``GET metrics/series/``: a version's figures per step, from the hourly aggregates (§9)."""
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.fields import AwareDateTimeField
from monitoring_site.api.schema import PYTHON_WHITESPACE
from predictions.api.common import parse_query
from predictions.series import SERIES_METRICS, STEP_HOURS, SeriesError, metric_series

DEFAULT_RANGE = timedelta(hours=24)


_NAME = "(" + "|".join(SERIES_METRICS) + ")"


_BLANK = f"[{PYTHON_WHITESPACE}]*"  # what str.strip() takes off each name
_ONE = f"{_BLANK}{_NAME}{_BLANK}"


@extend_schema_field({"type": "string", "pattern": f"^{_ONE}(,{_ONE})*$"})
class MetricListField(serializers.CharField):
    """A comma-separated list of series metric names."""

    def to_internal_value(self, value):
        names = [name.strip() for name in super().to_internal_value(value).split(",")]
        unknown = [name for name in names if name not in SERIES_METRICS]
        if unknown or not names:
            raise ValidationError(
                f"Unknown metric(s) {', '.join(unknown) or '(empty)'}; "
                f"known: {', '.join(SERIES_METRICS)}."
            )
        return names


class SeriesQuerySerializer(serializers.Serializer):
    model_version = serializers.CharField(max_length=64)
    start = AwareDateTimeField(required=False, help_text="ISO 8601 with offset; "
                               "default: 24 h before end.")
    end = AwareDateTimeField(required=False, help_text="ISO 8601 with offset; default: now.")
    step = serializers.ChoiceField(choices=list(STEP_HOURS), default="1h")
    metrics = MetricListField(required=False, help_text="Comma list; default: all of "
                              + ", ".join(SERIES_METRICS))


class SeriesPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    num_predictions = serializers.IntegerField(required=False)
    num_with_outcome = serializers.IntegerField(required=False)
    label_coverage = serializers.FloatField(allow_null=True, required=False)
    accuracy = serializers.FloatField(allow_null=True, required=False)
    precision = serializers.FloatField(allow_null=True, required=False)
    recall = serializers.FloatField(allow_null=True, required=False)
    f1_score = serializers.FloatField(allow_null=True, required=False)
    expected_calibration_error = serializers.FloatField(allow_null=True, required=False)
    brier_score = serializers.FloatField(allow_null=True, required=False)
    avg_confidence = serializers.FloatField(allow_null=True, required=False)
    positive_rate = serializers.FloatField(allow_null=True, required=False)
    prediction_entropy = serializers.FloatField(allow_null=True, required=False)


class SeriesSerializer(serializers.Serializer):
    model_version = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    step = serializers.CharField()
    points = SeriesPointSerializer(many=True)


class SeriesView(APIView):
    """A version's §9 figures per step over [start, end); empty buckets are kept."""

    @extend_schema(
        summary="Metric series per step (hourly aggregates)",
        parameters=[SeriesQuerySerializer],
        responses={
            200: SeriesSerializer,
            400: OpenApiResponse(description="A bad parameter, named in the answer."),
        },
        tags=["metrics"],
    )
    def get(self, request):
        query = parse_query(SeriesQuerySerializer, request)
        end = query.get("end") or timezone.now()
        start = query.get("start") or end - DEFAULT_RANGE
        try:
            points = metric_series(
                query["model_version"], start, end, query["step"], query.get("metrics")
            )
        except SeriesError as exc:
            raise ValidationError({exc.parameter: [str(exc)]}) from None
        return Response({
            "model_version": query["model_version"],
            "start": start,
            "end": end,
            "step": query["step"],
            "points": points,
        })
