"""REST views of the stored health snapshots."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from predictions.api.common import AUTH_ERRORS, READ_ERRORS, parse_query
from predictions.api.serializers import HealthSnapshotQuerySerializer, HealthSnapshotSerializer
from predictions.models import HealthSnapshot


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
        params = parse_query(HealthSnapshotQuerySerializer, request)
        snapshots = self.get_queryset()
        if params.get("model_version"):
            snapshots = snapshots.filter(model_version=params["model_version"])
        snapshots = snapshots.order_by("-timestamp", "-id")[: params["limit"]]
        return Response(self.get_serializer(snapshots, many=True).data)
