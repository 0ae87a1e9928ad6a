"""Named metrics a service pushes (SPEC §9): POST and list ``metrics/custom/``, their series."""
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.fields import AwareDateTimeField
from predictions.api.common import parse_query
from predictions.api.ingest_views import invalid_items, read_items
from predictions.api.serializers import TimestampInputField
from predictions.api.series_views import DEFAULT_RANGE
from predictions.custom_metrics import custom_series, metric_names, record_custom_metrics
from predictions.series import STEP_HOURS, SeriesError
from predictions.validation import IngestValidationError


class CustomMetricInputSerializer(serializers.Serializer):
    metric_name = serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,64}$", max_length=64)
    value = serializers.FloatField()
    # null is absent to the validator (predictions.custom_metrics).
    model_version = serializers.CharField(max_length=64, required=False, allow_null=True,
                                          trim_whitespace=False)
    timestamp = TimestampInputField(required=False, help_text="ISO 8601 or epoch seconds; "
                                    "default now.")
    metadata = serializers.DictField(required=False, allow_null=True)


class CustomMetricNameSerializer(serializers.Serializer):
    metric_name = serializers.CharField()
    model_versions = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()
    last_seen = serializers.DateTimeField()


class CustomSeriesQuerySerializer(serializers.Serializer):
    metric_name = serializers.CharField(max_length=64)
    model_version = serializers.CharField(max_length=64, required=False)
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)
    step = serializers.ChoiceField(choices=list(STEP_HOURS), default="1h")


class CustomPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    count = serializers.IntegerField()
    avg = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    sum = serializers.FloatField(allow_null=True)


class CustomSeriesSerializer(serializers.Serializer):
    metric_name = serializers.CharField()
    model_version = serializers.CharField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    step = serializers.CharField()
    points = CustomPointSerializer(many=True)


class CustomMetricsView(APIView):
    """Push named metric values (one or an array, all or nothing); list the names seen."""

    write_permissions = ["predictions.add_performancemetric"]
    parser_classes = [parsers.JSONParser]

    @extend_schema(
        summary="Names of the pushed metrics", tags=["metrics"],
        responses={200: CustomMetricNameSerializer(many=True)},
    )
    def get(self, request):
        parse_query(serializers.Serializer, request)
        return Response(metric_names())

    @extend_schema(
        summary="Push named metric values (one object or an array)", tags=["ingestion"],
        request=CustomMetricInputSerializer(many=True),
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, description='{"created": n}'),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid items by index."),
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="Too many items."),
        },
    )
    def post(self, request):
        items = read_items(request, "metric values")
        try:
            result = record_custom_metrics(items)
        except IngestValidationError as exc:
            raise invalid_items(exc, len(items), "metric values") from None
        return Response({"created": result.created}, status=status.HTTP_201_CREATED)


class CustomSeriesView(APIView):
    """count/avg/min/max/sum of one pushed metric per aligned step."""

    @extend_schema(
        summary="Series of a pushed metric", tags=["metrics"],
        parameters=[CustomSeriesQuerySerializer],
        responses={200: CustomSeriesSerializer,
                   400: OpenApiResponse(description="A bad parameter, named.")},
    )
    def get(self, request):
        query = parse_query(CustomSeriesQuerySerializer, request)
        end = query.get("end") or timezone.now()
        start = query.get("start") or end - DEFAULT_RANGE
        try:
            points = custom_series(
                query["metric_name"], query.get("model_version"), start, end, query["step"]
            )
        except SeriesError as exc:
            raise ValidationError({exc.parameter: [str(exc)]}) from None
        return Response({
            "metric_name": query["metric_name"], "model_version": query.get("model_version"),
            "start": start, "end": end, "step": query["step"], "points": points,
        })
