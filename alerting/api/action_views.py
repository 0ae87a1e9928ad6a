"""REST views of the approval queue, and drift computation with its rules (SPEC §8).

Thin faces over alerting.actions (the state machine) and predictions.drift; a transition
from the wrong state answers 409, approving one's own action 403.
"""
from datetime import timedelta

import django_filters
from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from alerting import actions
from alerting.api.action_serializers import (
    AgentActionSerializer,
    DriftComputeResultSerializer,
    ExecutionSerializer,
    ReviewSerializer,
)
from alerting.choices import ActionStatus, ActionType, RiskLevel
from alerting.drift_rules import evaluate_drift_rules
from alerting.models import AgentAction, Alert
from monitoring_site.api.filters import UTCDateTimeFilter
from predictions.api.registry_serializers import DriftComputeSerializer, InsufficientDataSerializer
from predictions.drift import DriftWindowError, InsufficientData, compute_drift_report
from predictions.models import DriftReport
from predictions.registry import version_exists


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The action is not in a state that allows this."
    default_code = "conflict"


class BadRequest(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"


class AgentActionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    action_type = django_filters.ChoiceFilter(choices=ActionType.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    requested_by = django_filters.CharFilter()
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = AgentAction
        fields = ["status", "action_type", "risk_level", "requested_by", "since"]


_TRANSITION_RESPONSES = {
    200: AgentActionSerializer,
    404: OpenApiResponse(description="No such action."),
    409: OpenApiResponse(description="The action is not in the state this transition needs."),
}


@extend_schema_view(
    list=extend_schema(summary="Proposed actions, newest first"),
    retrieve=extend_schema(summary="One action"),
    create=extend_schema(summary="Propose an action (requested by the caller)"),
)
class AgentActionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The approval queue: proposals, reviews (four eyes) and the executor's reports."""

    queryset = AgentAction.objects.select_related("alert")
    serializer_class = AgentActionSerializer
    filterset_class = AgentActionFilter
    lookup_field = "action_id"
    lookup_value_regex = r"[^/]+"
    # Set per action (promote, reviews, executor reports); None = the model permissions.
    write_permissions = None

    def create(self, request):
        serializer = AgentActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposed = actions.propose(serializer.validated_data, by=request.user.get_username())
        return Response(AgentActionSerializer(proposed).data, status=status.HTTP_201_CREATED)

    def _run(self, transition, action_id, *args, **kwargs):
        try:
            changed = transition(action_id, *args, **kwargs)
        except AgentAction.DoesNotExist:
            raise NotFound(f"No action {action_id!r}.") from None
        except actions.TransitionRefused as refused:
            raise Conflict(str(refused)) from None
        except actions.SelfApprovalRefused as refused:
            raise PermissionDenied(str(refused)) from None
        return Response(AgentActionSerializer(changed).data)

    def _review(self, request, transition, action_id):
        params = ReviewSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return self._run(
            transition, action_id, request.user.get_username(), params.validated_data["comment"]
        )

    def _execution(self, request, transition, action_id):
        params = ExecutionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return self._run(transition, action_id, params.validated_data["result"])

    @extend_schema(summary="Approve a pending action (not one's own)", request=ReviewSerializer,
                   responses={**_TRANSITION_RESPONSES,
                              403: OpenApiResponse(description="Requester or no permission.")})
    @action(detail=True, methods=["post"], write_permissions=["alerting.review_agentaction"])
    def approve(self, request, action_id=None):
        return self._review(request, actions.approve, action_id)

    @extend_schema(summary="Reject a pending action", request=ReviewSerializer,
                   responses=_TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"], write_permissions=["alerting.review_agentaction"])
    def reject(self, request, action_id=None):
        return self._review(request, actions.reject, action_id)

    @extend_schema(summary="Report an approved action as executed", request=ExecutionSerializer,
                   responses=_TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"], write_permissions=["alerting.change_agentaction"])
    def executed(self, request, action_id=None):
        return self._execution(request, actions.mark_executed, action_id)

    @extend_schema(summary="Report an approved action as failed", request=ExecutionSerializer,
                   responses=_TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"], write_permissions=["alerting.change_agentaction"])
    def failed(self, request, action_id=None):
        return self._execution(request, actions.mark_failed, action_id)


class DriftComputeView(APIView):
    """Compute and store one drift report now, then evaluate the drift rules on it."""

    write_permissions = ["predictions.add_driftreport"]

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
    def post(self, request):
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
        fired = evaluate_drift_rules(report, now=now)
        document = {
            "report": DriftReport.objects.get(pk=report.pk),
            "alerts_fired": Alert.objects.filter(pk__in=[a.pk for a in fired])
            .select_related("rule").prefetch_related("deliveries"),
        }
        return Response(DriftComputeResultSerializer(document).data, status=status.HTTP_201_CREATED)
