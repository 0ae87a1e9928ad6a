"""REST views of the alerting app: thin faces over alerting.lifecycle and rules."""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from alerting.api.filters import AlertFilter, AlertRuleFilter
from alerting.api.serializers import (
    AcknowledgedAlertSerializer,
    AlertNoteSerializer,
    AlertRuleSerializer,
    AlertSerializer,
    AlertStatisticsSerializer,
    DetailSerializer,
    EvaluateRuleSerializer,
    ResolvedAlertSerializer,
    RulePreviewRequestSerializer,
    RulePreviewSerializer,
    RuleStatisticsSerializer,
)
from alerting.lifecycle import (
    ACKNOWLEDGE,
    CHANGE_PERMISSION,
    RESOLVE,
    acting_person,
    alert_statistics,
    take_step,
)
from alerting.models import Alert, AlertRule
from alerting.preview import preview_rule
from alerting.rules import evaluate_rule
from alerting.statistics import rule_statistics

ALERT_ID_PATTERN = r"[^/]+"

# Error answers, documented so that the schema covers every status a client can get.
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, by field.")
NOT_SIGNED_IN = OpenApiResponse(DetailSerializer, description="Not authenticated.")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="No permission.")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="Not found.")
READ_ERRORS = {400: BAD_INPUT, 401: NOT_SIGNED_IN}
WRITE_ERRORS = {400: BAD_INPUT, 401: NOT_SIGNED_IN, 403: FORBIDDEN, 404: NOT_FOUND}


def _alerts():
    return Alert.objects.select_related("rule").prefetch_related("deliveries")


@extend_schema_view(
    list=extend_schema(summary="Alerts, newest first", responses={
        200: AlertSerializer(many=True), **READ_ERRORS, 404: NOT_FOUND}),
    retrieve=extend_schema(summary="One alert", responses={
        200: AlertSerializer, 401: NOT_SIGNED_IN, 404: NOT_FOUND}),
)
class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, their acknowledgment and resolution; statistics over the same filters."""

    queryset = _alerts()
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_field = "alert_id"
    lookup_value_regex = ALERT_ID_PATTERN
    # Acknowledging and resolving change an alert.
    write_permissions = [CHANGE_PERMISSION]

    @extend_schema(
        summary="Acknowledge an alert (the first acknowledger is kept)",
        request=AlertNoteSerializer,
        responses={200: AcknowledgedAlertSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, alert_id=None):
        return self._take_step(request, alert_id, ACKNOWLEDGE, AcknowledgedAlertSerializer)

    @extend_schema(
        summary="Resolve an alert with a note",
        request=AlertNoteSerializer,
        responses={200: ResolvedAlertSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, alert_id=None):
        return self._take_step(request, alert_id, RESOLVE, ResolvedAlertSerializer)

    def _take_step(self, request, alert_id, step, answer_serializer):
        params = AlertNoteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        outcome = take_step(step, alert_id, by=acting_person(request.user),
                            note=params.validated_data["note"])
        if outcome.alert is None:
            raise NotFound(outcome.message)
        alert = _alerts().get(pk=outcome.alert.pk)
        alert.already = outcome.already
        return Response(answer_serializer(alert).data)

    @extend_schema(
        summary="Counts of alerts (same filters as the list)", filters=True,
        responses={200: AlertStatisticsSerializer, **READ_ERRORS},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def statistics(self, request):
        alerts = self.filter_queryset(Alert.objects.all())
        return Response(AlertStatisticsSerializer(alert_statistics(alerts)).data)


@extend_schema_view(
    list=extend_schema(responses={200: AlertRuleSerializer(many=True), **READ_ERRORS,
                                  404: NOT_FOUND}),
    create=extend_schema(responses={201: AlertRuleSerializer, 400: BAD_INPUT,
                                    401: NOT_SIGNED_IN, 403: FORBIDDEN}),
    retrieve=extend_schema(responses={200: AlertRuleSerializer, 401: NOT_SIGNED_IN,
                                      404: NOT_FOUND}),
    update=extend_schema(responses={200: AlertRuleSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: AlertRuleSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, 401: NOT_SIGNED_IN, 403: FORBIDDEN,
                                     404: NOT_FOUND}),
)
class AlertRuleViewSet(viewsets.ModelViewSet):
    """Alert rules (the admin edits the same rows, with the same validation)."""

    queryset = AlertRule.objects.prefetch_related("states")
    serializer_class = AlertRuleSerializer
    filterset_class = AlertRuleFilter
    lookup_field = "rule_id"
    lookup_value_regex = r"[^/]+"  # unknown ids get a JSON 404, not the HTML one
    # None: Django model permissions; the evaluate action sets its own.
    write_permissions = None

    @extend_schema(
        summary="Run the rule on a value pushed from outside",
        description="Returns the alert it fired (201), or null (200) when it did not fire.",
        request=EvaluateRuleSerializer,
        responses={
            201: AlertSerializer,
            200: OpenApiResponse(
                {"type": "object", "nullable": True, "enum": [None]},
                description="The rule did not fire: the body is null.",
            ),
            **WRITE_ERRORS,
        },
    )
    @action(detail=True, methods=["post"], write_permissions=["alerting.add_alert"])
    def evaluate(self, request, rule_id=None):
        rule = self.get_object()
        params = EvaluateRuleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        alert = evaluate_rule(
            rule,
            params.validated_data["metric_value"],
            params.validated_data["model_version"],
            num_with_outcome=params.validated_data.get("num_with_outcome"),
        )
        if alert is None:
            return HttpResponse(b"null", content_type="application/json")
        return Response(
            AlertSerializer(_alerts().get(pk=alert.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="How noisy the rule is: incidents, notifications, time to acknowledge/resolve",
        responses={200: RuleStatisticsSerializer, 401: NOT_SIGNED_IN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def statistics(self, request, rule_id=None):
        return Response(RuleStatisticsSerializer(rule_statistics(self.get_object())).data)

    @extend_schema(
        summary="Replay a rule (validated, not saved) over the stored history",
        description="Per model version: the incidents the rule would have opened, hour by "
                    "hour over `days` (1–90) with pending, recovery and cooldown as the "
                    "engine applies them, and the values it would have seen.",
        request=RulePreviewRequestSerializer, filters=False,  # a list, but not of stored rules
        responses={200: RulePreviewSerializer(many=True), 400: BAD_INPUT, 401: NOT_SIGNED_IN},
    )
    # Nothing is stored: any signed-in user may preview.
    @action(detail=False, methods=["post"], write_permissions=[], pagination_class=None)
    def preview(self, request):
        params = RulePreviewRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        previews = preview_rule(params.to_rule(), params.validated_data["days"])
        return Response(RulePreviewSerializer(previews, many=True).data)
