"""REST views of the approval queue (SPEC §8).

Thin faces over alerting.actions (the state machine); a transition from the wrong state
answers 409, approving one's own action 403.
"""
import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.response import Response

from alerting import actions
from alerting.api.action_serializers import (
    AgentActionSerializer,
    ExecutionSerializer,
    ReviewSerializer,
)
from alerting.choices import ActionStatus, ActionType, RiskLevel
from alerting.models import AgentAction
from monitoring_site.api.filters import UTCDateTimeFilter


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The action is not in a state that allows this."
    default_code = "conflict"


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
