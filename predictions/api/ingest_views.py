"""REST views of ingestion: predictions (one or a batch) and their outcomes.

Thin faces over predictions.storage and predictions.outcomes: parse, call, answer.
"""
import json

from django.conf import settings
from django.http.request import RawPostDataException
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.exceptions import BadRequest
from monitoring_site.api.pagination import NewestFirstCursorPagination
from monitoring_site.api.schema import TaggedAutoSchema
from predictions.api.common import AUTH_ERRORS, READ_ERRORS
from predictions.api.filters import PredictionFilter
from predictions.api.serializers import (
    DetailSerializer,
    EvaluationSerializer,
    IngestConflictSerializer,
    IngestErrorsSerializer,
    IngestResultSerializer,
    OutcomeItemSerializer,
    OutcomeSerializer,
    OutcomesResultSerializer,
    PredictionInputSerializer,
    PredictionSerializer,
)
from predictions.models import Prediction
from predictions.outcomes import record_outcome, record_outcomes
from predictions.storage import IngestConflict, ingest_predictions
from predictions.validation import IngestValidationError

# A body may hold this many bytes per allowed prediction (features included).
BYTES_PER_PREDICTION = 8 * 1024
PREDICTION_ID_PATTERN = r"[^/]+"

class TooLarge(APIException):
    """413: a body or a batch over MONITORING_MAX_BATCH."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _read_json_body(request):
    """The request body parsed as JSON (413 when too large, 400 when not JSON).

    Parsed with json.loads directly (not a DRF parser): large batches skip a copy, and
    NaN reaches the validator, which names the item and field that carry it.
    """
    limit = max(settings.MONITORING_MAX_BATCH, 1) * BYTES_PER_PREDICTION
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise TooLarge(f"The body is larger than {limit} bytes.")
    try:
        body = request._request.read() if length else b""
    except (RawPostDataException, OSError):
        raise BadRequest("The body could not be read.") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body must be JSON: {exc}") from None


def read_items(request, noun: str, *, one_allowed: bool = True, hint: str = "") -> list:
    """The body's items: a JSON array (or one object, when ``one_allowed``), at most
    MONITORING_MAX_BATCH of them. Every batch endpoint reads its body here."""
    payload = _read_json_body(request)
    if not isinstance(payload, list):
        if not one_allowed:
            raise BadRequest(f"Send a JSON array of {hint or noun}.")
        payload = [payload]
    limit = settings.MONITORING_MAX_BATCH
    if len(payload) > limit:
        raise TooLarge(f"At most {limit} {noun} per request; got {len(payload)}.")
    return payload


def invalid_items(exc: IngestValidationError, total: int, noun: str) -> BadRequest:
    """The 400 for a batch refused whole: how many are bad, and each one's fields."""
    return BadRequest(
        f"{len(exc.errors)} of {total} {noun} are invalid; nothing was stored.",
        errors={str(index): fields for index, fields in exc.errors.items()},
    )


class IngestSchema(TaggedAutoSchema):
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
        items = read_items(request, "predictions")
        try:
            result = ingest_predictions(items)
        except IngestValidationError as exc:
            raise invalid_items(exc, len(items), "predictions") from None
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
        items = read_items(request, "outcomes", one_allowed=False,
                           hint="{prediction_id, actual_outcome}")
        try:
            result = record_outcomes(items)
        except IngestValidationError as exc:
            raise invalid_items(exc, len(items), "outcomes") from None
        return Response(result)
