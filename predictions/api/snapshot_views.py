"""REST views of health snapshots: list, record one measured elsewhere, compute now.

Thin faces over predictions.snapshots. Computing also lets the apps listening to
predictions.signals (alerting: the rules) act on the new snapshots and add to the answer.
"""
from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from predictions.api.common import AUTH_ERRORS, READ_ERRORS, parse_query
from predictions.api.serializers import (
    ComputeSnapshotsResultSerializer,
    ComputeSnapshotsSerializer,
    HealthSnapshotQuerySerializer,
    HealthSnapshotSerializer,
    SnapshotSerializer,
)
from predictions.models import HealthSnapshot
from predictions.signals import receivers_answer, snapshots_computed
from predictions.snapshots import compute_snapshots, record_snapshot

BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, by field.")


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
    """Stored health snapshots: listed, recorded as given, or computed now."""

    queryset = HealthSnapshot.objects.all()
    serializer_class = HealthSnapshotSerializer
    pagination_class = None
    filter_backends = []
    lookup_value_regex = r"\d+"
    # Set per action (compute); None = the model permissions.
    write_permissions = None

    def list(self, request, *args, **kwargs):
        params = parse_query(HealthSnapshotQuerySerializer, request)
        snapshots = self.get_queryset()
        if params.get("model_version"):
            snapshots = snapshots.filter(model_version=params["model_version"])
        snapshots = snapshots.order_by("-timestamp", "-id")[: params["limit"]]
        return Response(self.get_serializer(snapshots, many=True).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        snapshot = record_snapshot(serializer.validated_data)
        return Response(self.get_serializer(snapshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Compute snapshots for one version or every active one, then evaluate rules",
        request=ComputeSnapshotsSerializer,
        responses={201: ComputeSnapshotsResultSerializer, 400: BAD_INPUT,
                   401: AUTH_ERRORS[401], 403: AUTH_ERRORS[403]},
    )
    @action(detail=False, methods=["post"], write_permissions=["predictions.add_healthsnapshot"])
    def compute(self, request):
        """Compute health snapshots now, evaluate the rules on them, return what happened."""
        params = ComputeSnapshotsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        now = timezone.now()
        snapshots = compute_snapshots(
            model_version=params.validated_data.get("model_version"),
            window_minutes=params.validated_data.get(
                "window_minutes", settings.MONITORING_DEFAULT_WINDOW_MINUTES
            ),
            now=now,
        )
        answer = {
            "snapshots": SnapshotSerializer(snapshots, many=True).data,
            # Filled in by the listening apps; empty when none listens.
            "alerts_fired": [],
            "alerts_resolved": [],
            "deliveries_sent": 0,
            **receivers_answer(snapshots_computed, HealthSnapshot, snapshots=snapshots, now=now),
        }
        return Response(answer, status=status.HTTP_201_CREATED)
