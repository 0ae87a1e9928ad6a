"""REST views of the model registry, drift reports and retraining decisions (SPEC §8).

Thin faces over predictions.registry and predictions.drift. Computing a drift report
also lets the apps listening to predictions.signals act on it (alerting: the drift rules).
"""
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from monitoring_site.api.exceptions import BadRequest
from predictions.api.common import parse_query
from predictions.api.registry_filters import DriftReportFilter, RetrainingDecisionFilter
from predictions.api.registry_serializers import (
    OVERVIEW_STAGES,
    DecisionSummarySerializer,
    DriftComputeResultSerializer,
    DriftComputeSerializer,
    DriftReportSerializer,
    InsufficientDataSerializer,
    ModelVersionSerializer,
    PromoteSerializer,
    RetrainingDecisionSerializer,
    TimelineSerializer,
    VersionOverviewSerializer,
)
from predictions.drift import DriftWindowError, InsufficientData, compute_drift_report
from predictions.models import DriftReport, ModelVersion, RetrainingDecision
from predictions.registry import (
    RegistryError,
    decision_summary,
    promote,
    record_decision,
    register_version,
    timeline,
    version_exists,
    versions_overview,
)
from predictions.signals import drift_report_computed, receivers_answer

# Version strings carry dots ("1.2.0"): anything but a slash.
VERSION_PATTERN = r"[^/]+"


class VersionListQuerySerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=OVERVIEW_STAGES, required=False)
    model_name = serializers.CharField(required=False, allow_blank=True)


def _overview_of(version: str) -> dict:
    entries = versions_overview(versions=[version])
    if not entries:
        raise NotFound(f"No model version {version!r}.")
    return entries[0]


@extend_schema_view(
    list=extend_schema(
        summary="Registered and seen-but-unregistered versions with their figures",
        parameters=[VersionListQuerySerializer],
        responses={200: VersionOverviewSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One version", responses={200: VersionOverviewSerializer}),
    create=extend_schema(
        summary="Register a version",
        request=ModelVersionSerializer,
        responses={201: VersionOverviewSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a registered version's details (not its stage: promote it)",
        request=ModelVersionSerializer,
        responses={200: VersionOverviewSerializer},
    ),
)
class ModelVersionViewSet(viewsets.GenericViewSet):
    """The model registry: versions, their promotion between stages and their timeline."""

    queryset = ModelVersion.objects.all()
    serializer_class = ModelVersionSerializer
    lookup_field = "version"
    lookup_value_regex = VERSION_PATTERN
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]
    # Set per action (promote); None = the model permissions.
    write_permissions = None

    def list(self, request):
        params = parse_query(VersionListQuerySerializer, request)
        overview = versions_overview(
            stage=params.get("stage"), model_name=params.get("model_name") or None
        )
        page = self.paginate_queryset(overview)
        return self.get_paginated_response(VersionOverviewSerializer(page, many=True).data)

    def retrieve(self, request, version=None):
        return Response(VersionOverviewSerializer(_overview_of(version)).data)

    def create(self, request):
        serializer = ModelVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            created = register_version(serializer.validated_data, by=request.user.get_username())
        except IntegrityError:  # registered by a racing request meanwhile
            raise ValidationError(
                {"version": ["model version with this version already exists."]}, code="unique"
            ) from None
        return Response(
            VersionOverviewSerializer(_overview_of(created.version)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, version=None):
        instance = self.get_object()
        serializer = ModelVersionSerializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            # Moving a production version under a model that already has one.
            raise ValidationError({"model_name": [
                f"{serializer.validated_data.get('model_name')!r} already has a version in "
                "production; archive one of them first."
            ]}) from None
        return Response(VersionOverviewSerializer(_overview_of(instance.version)).data)

    @extend_schema(
        summary="Move a version to a stage (production archives the previous one)",
        request=PromoteSerializer,
        responses={200: VersionOverviewSerializer},
    )
    @action(detail=True, methods=["post"], write_permissions=["predictions.change_modelversion"])
    def promote(self, request, version=None):
        params = PromoteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            promote(
                version,
                params.validated_data["stage"],
                by=request.user.get_username(),
                note=params.validated_data["note"],
            )
        except ModelVersion.DoesNotExist:
            raise NotFound(f"No registered model version {version!r}.") from None
        except RegistryError as error:
            raise BadRequest(str(error)) from None
        return Response(VersionOverviewSerializer(_overview_of(version)).data)

    @extend_schema(
        summary="Stage changes, decisions and snapshots of a version, oldest first",
        responses={200: TimelineSerializer},
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, version=None):
        if not version_exists(version):
            raise NotFound(f"No model version {version!r}.")
        return Response(TimelineSerializer({"version": version, "events": timeline(version)}).data)


@extend_schema_view(
    list=extend_schema(summary="Drift reports, newest first"),
    retrieve=extend_schema(summary="One drift report"),
)
class DriftReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Stored drift reports (computed by the monitor or ``POST drift-reports/compute/``)."""

    queryset = DriftReport.objects.all()
    serializer_class = DriftReportSerializer
    filterset_class = DriftReportFilter
    # Numeric ids only, so that drift-reports/compute/ is never taken for a report.
    lookup_value_regex = r"[0-9]+"
    # Set per action (compute); None = the model permissions.
    write_permissions = None

    @extend_schema(
        summary="Compute a drift report for a version (default: the last window against "
        "the version's reference) and evaluate the drift rules",
        request=DriftComputeSerializer,
        responses={
            201: DriftComputeResultSerializer,
            400: OpenApiResponse(description="Invalid or overlapping windows."),
            404: OpenApiResponse(description="Unknown model version."),
            422: InsufficientDataSerializer,
        },
    )
    @action(detail=False, methods=["post"], write_permissions=["predictions.add_driftreport"])
    def compute(self, request):
        """Compute and store one drift report now, then evaluate the drift rules on it."""
        params = DriftComputeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        window = params.validated_data
        version = window["model_version"]
        if not version_exists(version):
            raise NotFound(f"No model version {version!r}.")
        now = timezone.now()
        try:
            current_end = window.get("current_end") or now
            current_start = window.get("current_start") or current_end - timedelta(
                minutes=settings.MONITORING_DEFAULT_WINDOW_MINUTES
            )
            if current_start >= current_end:
                raise BadRequest("current_start must be before current_end.")
            report = compute_drift_report(
                version, current_start, current_end,
                reference_start=window.get("reference_start"),
                reference_end=window.get("reference_end"),
                now=now,
            )
        except InsufficientData as short:
            return Response(
                {"detail": str(short), "side": short.side, "rows": short.rows,
                 "needed": short.needed},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        except DriftWindowError as error:
            raise BadRequest(str(error)) from None
        except OverflowError:
            raise BadRequest("The windows fall outside the dates this site handles.") from None
        answer = {
            "report": DriftReportSerializer(DriftReport.objects.get(pk=report.pk)).data,
            "alerts_fired": [],  # filled in by the listening apps; empty when none listens
            **receivers_answer(drift_report_computed, DriftReport, report=report, now=now),
        }
        return Response(answer, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Retraining decisions, newest first"),
    create=extend_schema(
        summary="Record a retraining gate decision (apply: promote the candidate)",
        responses={201: RetrainingDecisionSerializer},
    ),
)
class RetrainingDecisionViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The retraining pipeline's gate decisions, and their summary."""

    queryset = RetrainingDecision.objects.select_related("action_ref")
    serializer_class = RetrainingDecisionSerializer
    filterset_class = RetrainingDecisionFilter

    def create(self, request):
        serializer = RetrainingDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.get("apply") and not request.user.has_perm(
            "predictions.change_modelversion"
        ):
            raise PermissionDenied(
                "Applying a decision promotes a version: that needs "
                '"predictions.change_modelversion".'
            )
        try:
            decision = record_decision(serializer.validated_data, by=request.user.get_username())
        except RegistryError as error:  # an unregistered candidate too: SPEC §8 says 400
            raise BadRequest(str(error)) from None
        return Response(
            RetrainingDecisionSerializer(decision).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Counts of decisions (same filters as the list)", filters=True,
        responses={200: DecisionSummarySerializer},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        decisions = self.filter_queryset(self.get_queryset())
        return Response(DecisionSummarySerializer(decision_summary(decisions)).data)

