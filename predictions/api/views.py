"""REST views of the predictions app: thin faces over predictions.storage and metrics."""
import csv
import io
import json
from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, parsers, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.pagination import NewestFirstCursorPagination
from predictions import metrics
from predictions.api.filters import PredictionFilter
from predictions.api.serializers import (
    AccuracyMetricsSerializer,
    CalibrationMetricsSerializer,
    CalibrationQuerySerializer,
    ClassificationMetricsSerializer,
    DetailSerializer,
    EvaluationSerializer,
    HealthSnapshotQuerySerializer,
    HealthSnapshotSerializer,
    IngestConflictSerializer,
    IngestErrorsSerializer,
    IngestResultSerializer,
    MetricsQuerySerializer,
    OutcomeItemSerializer,
    OutcomeSerializer,
    OutcomesResultSerializer,
    PerformanceMetricsSerializer,
    PredictionInputSerializer,
    PredictionSerializer,
    TrendQuerySerializer,
    TrendSerializer,
)
from predictions.models import HealthSnapshot, Prediction
from predictions.outcomes import record_outcome, record_outcomes
from predictions.storage import IngestConflict, ingest_predictions
from predictions.validation import IngestValidationError

# A body may hold this many bytes per allowed prediction (features included).
BYTES_PER_PREDICTION = 8 * 1024
PREDICTION_ID_PATTERN = r"[^/]+"

AUTH_ERRORS = {
    401: OpenApiResponse(DetailSerializer, description="Not authenticated."),
    403: OpenApiResponse(DetailSerializer, description="No permission."),
}
READ_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Bad query parameters."),
    401: AUTH_ERRORS[401],
}


def _bad_request(detail, **extra):
    return Response({"detail": detail, **extra}, status=status.HTTP_400_BAD_REQUEST)


def _read_json_body(request):
    """The request body parsed as JSON, or a 400/413 Response.

    Parsed with json.loads directly (not a DRF parser): large batches skip a copy, and
    NaN reaches the validator, which names the item and field that carry it.
    """
    limit = max(settings.MONITORING_MAX_BATCH, 1) * BYTES_PER_PREDICTION
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return Response(
            {"detail": f"The body is larger than {limit} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    try:
        body = request._request.read() if length else b""
    except (RawPostDataException, OSError):
        return _bad_request("The body could not be read.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _bad_request(f"The body must be JSON: {exc}")


def _query(serializer_class, request):
    """Validated query parameters (each given at most once)."""
    repeated = {
        name: ["Give this parameter once."]
        for name in serializer_class().fields
        if len(request.query_params.getlist(name)) > 1
    }
    if repeated:
        raise ValidationError(repeated)
    # A plain dict, not the QueryDict: DRF would drop blank values of optional fields
    # silently, where the schema says they are invalid.
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


class IngestSchema(AutoSchema):
    """Marks the ingest body as required (a one-or-many body has no required list)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body and getattr(self.view, "action", None) == "create":
            body["required"] = True
        return body


@extend_schema_view(
    list=extend_schema(summary="Predictions, newest first", responses={
        200: PredictionSerializer(many=True), **READ_ERRORS,
        404: OpenApiResponse(DetailSerializer, description="Invalid cursor.")}),
    retrieve=extend_schema(summary="One prediction", responses={
        200: PredictionSerializer, 401: AUTH_ERRORS[401],
        404: OpenApiResponse(DetailSerializer, description="Unknown prediction.")}),
)
class PredictionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Predictions: ingest a batch, list and read them, record the outcome of one."""

    schema = IngestSchema()

    queryset = Prediction.objects.all()
    serializer_class = PredictionSerializer
    filterset_class = PredictionFilter
    pagination_class = NewestFirstCursorPagination
    lookup_field = "prediction_id"
    lookup_value_regex = PREDICTION_ID_PATTERN
    parser_classes = [parsers.JSONParser]
    # Set per action (the outcome action needs change_prediction, not add_prediction).
    write_permissions = None

    @extend_schema(
        summary="Ingest one prediction or a batch (all or nothing)",
        request=PolymorphicProxySerializer(
            component_name="PredictionBatch",
            serializers=[PredictionInputSerializer, PredictionInputSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: IngestResultSerializer,
            400: OpenApiResponse(
                IngestErrorsSerializer,
                description="Invalid items (by index and field) or a body that is not JSON.",
            ),
            409: OpenApiResponse(
                IngestConflictSerializer,
                description="These ids exist with different content; nothing was stored.",
            ),
            413: OpenApiResponse(DetailSerializer, description="Too many predictions."),
            **AUTH_ERRORS,
        },
        examples=[
            OpenApiExample(
                "A batch",
                value=[{"prediction_id": "req-1", "model_version": "v3",
                        "predicted_outcome": 1, "confidence": 0.91,
                        "features": {"age": 41}, "timestamp": "2026-11-24T10:00:00Z"}],
                request_only=True,
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        payload = _read_json_body(request)
        if isinstance(payload, Response):
            return payload
        items = payload if isinstance(payload, list) else [payload]
        limit = settings.MONITORING_MAX_BATCH
        if len(items) > limit:
            return Response(
                {"detail": f"At most {limit} predictions per request; got {len(items)}."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            result = ingest_predictions(items)
        except IngestValidationError as exc:
            return _bad_request(
                f"{len(exc.errors)} of {len(items)} predictions are invalid; nothing was stored.",
                errors={str(index): fields for index, fields in exc.errors.items()},
            )
        except IngestConflict as exc:
            return Response(
                {
                    "detail": "These prediction ids exist with different content; "
                    "nothing was stored.",
                    "prediction_ids": exc.prediction_ids,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {"created": result.created, "duplicates": result.duplicates},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Record the actual outcome of one prediction",
        request=OutcomeSerializer,
        responses={
            200: EvaluationSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid outcome."),
            404: OpenApiResponse(DetailSerializer, description="Unknown prediction."),
            **AUTH_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="outcome",
        write_permissions=["predictions.change_prediction"],
    )
    def outcome(self, request, prediction_id=None):
        params = OutcomeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        evaluation = record_outcome(prediction_id, params.validated_data["actual_outcome"])
        if evaluation is None:
            raise NotFound(f"No prediction {prediction_id!r}.")
        return Response(evaluation)


class OutcomesView(APIView):
    """Ground truth for many predictions at once, all or nothing."""

    write_permissions = ["predictions.change_prediction"]
    parser_classes = [parsers.JSONParser]

    @extend_schema(
        summary="Record the actual outcomes of many predictions",
        request=OutcomeItemSerializer(many=True),
        responses={
            200: OutcomesResultSerializer,
            400: OpenApiResponse(IngestErrorsSerializer, description="Invalid items."),
            413: OpenApiResponse(DetailSerializer, description="Too many outcomes."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request):
        payload = _read_json_body(request)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, list):
            return _bad_request("Send a JSON array of {prediction_id, actual_outcome}.")
        limit = settings.MONITORING_MAX_BATCH
        if len(payload) > limit:
            return Response(
                {"detail": f"At most {limit} outcomes per request; got {len(payload)}."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            result = record_outcomes(payload)
        except IngestValidationError as exc:
            return _bad_request(
                f"{len(exc.errors)} of {len(payload)} outcomes are invalid; nothing was stored.",
                errors={str(index): fields for index, fields in exc.errors.items()},
            )
        return Response(result)


# --- metrics ---------------------------------------------------------------------------------


class MetricsView(APIView):
    """Base of the metrics endpoints: parse the window, compute, answer."""

    query_serializer = MetricsQuerySerializer

    def compute(self, predictions, params):
        raise NotImplementedError

    def get(self, request):
        params = _query(self.query_serializer, request)
        predictions = metrics.window_predictions(
            params.get("model_version") or None, params["window_minutes"]
        )
        return Response(self.compute(predictions, params))


@extend_schema(
    summary="Confidence, latency and label-free figures over a window",
    parameters=[MetricsQuerySerializer],
    responses={200: PerformanceMetricsSerializer, **READ_ERRORS},
)
class PerformanceMetricsView(MetricsView):
    def compute(self, predictions, params):
        return metrics.performance_metrics(predictions)


@extend_schema(
    summary="True accuracy over the labelled predictions of a window",
    parameters=[MetricsQuerySerializer],
    responses={200: AccuracyMetricsSerializer, **READ_ERRORS},
)
class AccuracyMetricsView(MetricsView):
    def compute(self, predictions, params):
        return metrics.accuracy_metrics(predictions)


@extend_schema(
    summary="Calibration bins, ECE and MCE (window absent: all time)",
    parameters=[CalibrationQuerySerializer],
    responses={200: CalibrationMetricsSerializer, **READ_ERRORS},
)
class CalibrationMetricsView(MetricsView):
    query_serializer = CalibrationQuerySerializer

    def compute(self, predictions, params):
        return metrics.calibration_metrics(predictions, n_bins=params["n_bins"])


@extend_schema(
    summary="Precision, recall, F1, ROC AUC and Brier score over a window",
    parameters=[MetricsQuerySerializer],
    responses={200: ClassificationMetricsSerializer, **READ_ERRORS},
)
class ClassificationMetricsView(MetricsView):
    def compute(self, predictions, params):
        return metrics.classification_metrics(predictions)


TREND_COLUMNS = [
    "timestamp",
    "model_version",
    "window_minutes",
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "roc_auc",
    "brier_score",
    "expected_calibration_error",
    "num_predictions",
    "num_with_outcome",
    "prediction_accuracy_trend",
    "degradation_detected",
]


class TrendCSVRenderer(renderers.BaseRenderer):
    """``?format=csv`` (or Accept: text/csv): the trend's snapshots as CSV rows.

    DRF reserves the ``format`` query parameter for choosing a renderer, so CSV is a
    renderer here rather than a branch in the view. Errors render as a one-row table.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        if isinstance(data, dict) and "snapshots" in data:
            writer = csv.DictWriter(out, fieldnames=TREND_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(data["snapshots"])
        else:
            writer = csv.writer(out)
            errors = data if isinstance(data, dict) else {"detail": data}
            writer.writerow(list(errors))
            writer.writerow([str(value) for value in errors.values()])
        return out.getvalue().encode(self.charset)


class TrendView(APIView):
    """Health snapshots of the last hours, oldest first, as JSON or CSV."""

    renderer_classes = [renderers.JSONRenderer, TrendCSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        # DRF answers an unknown ?format= with 404 (and ignores a blank one): both are
        # bad parameters (400).
        bad_format = ValidationError({"format": ["Choose json or csv."]})
        if not force and request.query_params.get("format", "json") not in ("json", "csv"):
            raise bad_format
        try:
            return super().perform_content_negotiation(request, force)
        except (Http404, NotFound):
            raise bad_format from None

    @extend_schema(
        summary="Health snapshots over the last hours, in time order (JSON or CSV)",
        parameters=[
            TrendQuerySerializer,
            OpenApiParameter(
                "format", str, enum=["json", "csv"], description="csv: a CSV table."
            ),
        ],
        responses={
            (200, "application/json"): TrendSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **READ_ERRORS,
        },
    )
    def get(self, request):
        params = _query(TrendQuerySerializer, request)
        since = timezone.now() - timedelta(hours=params["hours"])
        snapshots = HealthSnapshot.objects.filter(timestamp__gte=since)
        if params.get("model_version"):
            snapshots = snapshots.filter(model_version=params["model_version"])
        snapshots = snapshots.order_by("timestamp", "id")
        return Response(
            {
                "model_version": params.get("model_version") or None,
                "hours": params["hours"],
                "snapshots": HealthSnapshotSerializer(snapshots, many=True).data,
            }
        )


@extend_schema_view(
    list=extend_schema(
        summary="Health snapshots, newest first",
        parameters=[HealthSnapshotQuerySerializer],
        responses={200: HealthSnapshotSerializer(many=True), **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Record one given health snapshot",
        responses={
            201: HealthSnapshotSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid fields."),
            **AUTH_ERRORS,
        },
    ),
)
class HealthSnapshotViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                            viewsets.GenericViewSet):
    """Stored health snapshots; ``compute/`` (the alerting app) computes new ones."""

    queryset = HealthSnapshot.objects.all()
    serializer_class = HealthSnapshotSerializer
    pagination_class = None
    filter_backends = []
    lookup_value_regex = r"\d+"

    def list(self, request, *args, **kwargs):
        params = _query(HealthSnapshotQuerySerializer, request)
        snapshots = self.get_queryset()
        if params.get("model_version"):
            snapshots = snapshots.filter(model_version=params["model_version"])
        snapshots = snapshots.order_by("-timestamp", "-id")[: params["limit"]]
        return Response(self.get_serializer(snapshots, many=True).data)
