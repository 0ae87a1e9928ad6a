"""Admin of the approval queue (SPEC §8): reviews go through alerting.actions.

Approve/reject record the admin user; an admin can never approve an action they
requested (four eyes), and an action not pending is reported, not changed.
"""
from django.contrib import admin, messages

from alerting import actions
from alerting.choices import ActionStatus

PAST_TENSE = {actions.APPROVE: "approved", actions.REJECT: "rejected"}


def _review_action(decision, label):
    def review_selected(modeladmin, request, queryset):
        by = request.user.get_username()
        done = 0
        for action_id in queryset.values_list("action_id", flat=True):
            try:
                actions.review(
                    action_id, decision, by=by, comment=f"{PAST_TENSE[decision]} in the admin"
                )
            except actions.SelfApprovalRefused:
                modeladmin.message_user(
                    request,
                    f"{action_id}: you requested this action, so another reviewer must "
                    "approve it.",
                    level=messages.ERROR,
                )
            except actions.TransitionRefused as refused:
                modeladmin.message_user(request, str(refused), level=messages.WARNING)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{done} action(s) {PAST_TENSE[decision]} by {by}.")

    review_selected.__name__ = f"{decision}_selected"
    review_selected.short_description = label
    review_selected.allowed_permissions = ("review",)
    return review_selected


class AgentActionAdmin(admin.ModelAdmin):
    list_display = ["action_id", "action_type", "status", "risk_level", "requested_by",
                    "created_at", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "action_type", "risk_level", "requires_approval"]
    search_fields = ["action_id", "description", "requested_by", "reviewed_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["status", "requested_by", "reviewed_by", "reviewed_at",
                       "review_comment", "executed_at", "execution_result", "created_at"]
    raw_id_fields = ["alert"]
    actions = [_review_action(actions.APPROVE, "Approve selected actions"),
               _review_action(actions.REJECT, "Reject selected actions")]

    def has_review_permission(self, request):
        return request.user.has_perm("alerting.review_agentaction")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.requested_by = request.user.get_username()
            if not obj.requires_approval:
                obj.status = ActionStatus.APPROVED
        super().save_model(request, obj, form, change)
