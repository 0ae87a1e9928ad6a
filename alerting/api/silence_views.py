"""REST views of silences (SPEC §10): thin faces over alerting.silences."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from alerting import silences
from alerting.api.serializers import SilenceRequestSerializer, SilenceSerializer
from alerting.api.views import BAD_INPUT, NOT_FOUND, NOT_SIGNED_IN, WRITE_ERRORS
from alerting.models import Silence


@extend_schema_view(
    list=extend_schema(summary="Silences, newest first",
                       responses={200: SilenceSerializer(many=True), 401: NOT_SIGNED_IN}),
    retrieve=extend_schema(summary="One silence",
                           responses={200: SilenceSerializer, 401: NOT_SIGNED_IN,
                                      404: NOT_FOUND}),
)
class SilenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Silences: create (needs alerting.add_silence) and expire (alerting.change_silence)."""

    queryset = Silence.objects.select_related("rule", "alert")
    serializer_class = SilenceSerializer
    lookup_value_regex = r"[^/]+"  # unknown ids get a JSON 404, not the HTML one
    write_permissions = None  # Django model permissions (add_silence for a create)

    @extend_schema(
        summary="Silence matching alerts until an end, or one alert until it resolves",
        request=SilenceRequestSerializer,
        responses={201: SilenceSerializer, 400: BAD_INPUT, **WRITE_ERRORS},
    )
    def create(self, request):
        params = SilenceRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            silence = silences.create_silence(
                silences.SilenceRequest(**params.validated_data),
                by=request.user.get_username(),
            )
        except DjangoValidationError as exc:
            # The codes go along: a rule or alert that does not exist is a 409.
            raise ValidationError(as_serializer_error(exc)) from None
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="End a silence now", request=None,
                   responses={200: SilenceSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"], write_permissions=[silences.CHANGE_PERMISSION])
    def expire(self, request, pk=None):
        if not str(pk).isdigit():
            raise NotFound(f"No silence {pk!r}.")
        outcome = silences.expire_silence(int(pk), by=request.user.get_username())
        if outcome.silence is None:
            raise NotFound(outcome.message)
        return Response(SilenceSerializer(outcome.silence).data)
