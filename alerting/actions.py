"""The approval queue of automated actions: proposals and their transitions (SPEC §8).

pending → approved | rejected; approved → executed | failed. Every transition is ONE
conditional update (``filter(pk=…, status=expected).update(…)``): racing reviewers leave
exactly one decision, and a transition from any other state changes nothing and raises
TransitionRefused (the API's 409). The requester of an action can never approve it
(four eyes), whatever their permissions. The API, the admin and the pages call these.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from alerting.choices import ActionStatus, RiskLevel
from alerting.models import AgentAction, new_action_id

APPROVE, REJECT, EXECUTED, FAILED = "approve", "reject", "executed", "failed"

# transition → (the status it starts from, the status it leads to)
TRANSITIONS = {
    APPROVE: (ActionStatus.PENDING, ActionStatus.APPROVED),
    REJECT: (ActionStatus.PENDING, ActionStatus.REJECTED),
    EXECUTED: (ActionStatus.APPROVED, ActionStatus.EXECUTED),
    FAILED: (ActionStatus.APPROVED, ActionStatus.FAILED),
}


class TransitionRefused(Exception):
    """The action is not in the state the transition starts from; nothing changed."""

    def __init__(self, action: AgentAction, transition: str):
        self.action, self.transition = action, transition
        expected = TRANSITIONS[transition][0]
        super().__init__(
            f"Cannot {transition} action {action.action_id}: it is {action.status}, "
            f"not {expected}."
        )


class SelfApprovalRefused(Exception):
    """Four eyes: the user who requested an action cannot approve it."""

    def __init__(self, action: AgentAction, by: str):
        self.action, self.by = action, by
        super().__init__(
            f"{by} requested action {action.action_id} and cannot approve it: "
            "another reviewer must."
        )


def needs_confirmation(action: AgentAction) -> bool:
    """Whether a person approving it on the pages confirms in a second step, with a
    comment (high risk); the API's caller has already decided and approves in one call."""
    return action.risk_level == RiskLevel.HIGH


def propose(data: dict, by: str, now=None) -> AgentAction:
    """Store a proposed action requested by ``by``; without ``requires_approval`` it
    starts approved."""
    fields = dict(data)
    if not fields.get("action_id"):
        fields["action_id"] = new_action_id()
    requires_approval = fields.get("requires_approval", True)
    fields["status"] = ActionStatus.PENDING if requires_approval else ActionStatus.APPROVED
    fields.setdefault("created_at", now or timezone.now())
    return AgentAction.objects.create(requested_by=by, **fields)


def _transition(action_id: str, transition: str, values: dict, by: str | None = None):
    """Apply one transition as a single conditional update; the action as it is now."""
    expected, target = TRANSITIONS[transition]
    action = AgentAction.objects.get(action_id=action_id)
    if transition == APPROVE and by is not None and action.requested_by == by:
        raise SelfApprovalRefused(action, by)
    claimed = AgentAction.objects.filter(pk=action.pk, status=expected)
    if transition == APPROVE and by is not None:
        claimed = claimed.exclude(requested_by=by)
    with transaction.atomic():
        changed = claimed.update(status=target, **values)
    action.refresh_from_db()
    if not changed:
        raise TransitionRefused(action, transition)
    return action


def approve(action_id: str, by: str, comment: str = "", now=None) -> AgentAction:
    """pending → approved, by a reviewer other than the requester."""
    now = now or timezone.now()
    return _transition(
        action_id, APPROVE,
        {"reviewed_by": by, "reviewed_at": now, "review_comment": comment or ""}, by=by,
    )


def reject(action_id: str, by: str, comment: str = "", now=None) -> AgentAction:
    """pending → rejected (the requester may withdraw their own)."""
    now = now or timezone.now()
    return _transition(
        action_id, REJECT,
        {"reviewed_by": by, "reviewed_at": now, "review_comment": comment or ""},
    )


def mark_executed(action_id: str, result: dict | None = None, now=None) -> AgentAction:
    """approved → executed, with what the executor reports."""
    now = now or timezone.now()
    return _transition(
        action_id, EXECUTED, {"executed_at": now, "execution_result": result or {}}
    )


def mark_failed(action_id: str, result: dict | None = None, now=None) -> AgentAction:
    """approved → failed, with what the executor reports."""
    now = now or timezone.now()
    return _transition(
        action_id, FAILED, {"executed_at": now, "execution_result": result or {}}
    )


def review(action_id: str, decision: str, by: str, comment: str = "", now=None):
    """approve or reject by name (pages and admin actions)."""
    if decision == APPROVE:
        return approve(action_id, by, comment, now=now)
    if decision == REJECT:
        return reject(action_id, by, comment, now=now)
    raise ValueError(f"unknown review decision {decision!r}")
