"""The approval queue page (SPEC §8): pending actions with Approve/Reject forms.

Reviews go through ``alerting.actions`` like the API and the admin: POST-only,
CSRF-protected, need ``alerting.review_agentaction`` (403 without), record the user, and
the requester of an action can never approve it. A GET never changes anything. On this
page a high-risk approval is confirmed in a second step with a required comment.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from alerting import actions
from alerting.choices import ActionStatus
from alerting.models import AgentAction

REVIEW_PERMISSION = "alerting.review_agentaction"
RECENT_REVIEWS = 25


@require_safe
@login_required
def approval_queue(request):
    """Pending actions (oldest first: they have waited longest), then recent outcomes."""
    pending = AgentAction.objects.filter(status=ActionStatus.PENDING).select_related(
        "alert").order_by("created_at", "id")
    recent = AgentAction.objects.exclude(status=ActionStatus.PENDING).select_related(
        "alert").order_by("-created_at", "-id")[:RECENT_REVIEWS]
    return render(request, "alerting/actions.html", {
        "pending": pending,
        "recent": recent,
        "can_review": request.user.has_perm(REVIEW_PERMISSION),
        "username": request.user.get_username(),
    })


def _confirm_page(request, action, error="", status=200):
    """The second step of approving a high-risk action: the same action, a required comment."""
    return render(request, "alerting/action_confirm.html", {
        "a": action, "error": error, "comment": (request.POST.get("comment") or "").strip(),
    }, status=status)


@require_POST
@login_required
def review_action(request, action_id):
    """Approve or reject one action with a comment, then back to the queue.

    Approving a high-risk action takes two POSTs: the first only asks for confirmation
    (nothing changes), the second (``confirm=yes``) needs a comment and approves it. The
    API approves in one call: its caller has already decided.
    """
    if not request.user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Reviewing actions needs the review permission.")
    decision = request.POST.get("decision")
    if decision not in (actions.APPROVE, actions.REJECT):
        messages.error(request, "Choose Approve or Reject.")
        return redirect("action-queue")
    comment = (request.POST.get("comment") or "").strip()[:5000]
    username = request.user.get_username()
    if decision == actions.APPROVE:
        action = AgentAction.objects.filter(action_id=action_id).first()
        if action is None:
            raise Http404(f"No action {action_id!r}.")
        if actions.needs_confirmation(action) and action.status == ActionStatus.PENDING \
                and action.requested_by != username:
            if request.POST.get("confirm") != "yes":
                return _confirm_page(request, action)
            if not comment:
                return _confirm_page(request, action, status=400, error=(
                    "comment: say why this high-risk action should run; it is required."))
    try:
        reviewed = actions.review(action_id, decision, by=username, comment=comment)
    except AgentAction.DoesNotExist:
        raise Http404(f"No action {action_id!r}.") from None
    except actions.SelfApprovalRefused:
        messages.error(request, f"You requested {action_id}, so another reviewer must approve it.")
    except actions.TransitionRefused as refused:
        messages.warning(request, f"{refused} Someone may have reviewed it meanwhile.")
    else:
        messages.success(
            request, f"{reviewed.action_id} {reviewed.status} by {reviewed.reviewed_by}."
        )
    return redirect("action-queue")
