"""The alert pages: the alert list and one alert's page, and the Acknowledge/Resolve forms.

Views stay thin: they parse input, call ``alerting.lifecycle`` and render what it says.
Acknowledge and resolve are POST-only, CSRF-protected, and need the lifecycle's change
permission (403 without); a GET never changes anything. The dashboard and the model
pages, which show alerts beside the metrics, are in the ``dashboard`` app.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from alerting import lifecycle
from alerting.forms import AlertFilterForm, AlertNoteForm
from alerting.models import Alert

ALERTS_PER_PAGE = 25


def alert_forms_context(user) -> dict:
    """What the Acknowledge/Resolve forms of a page need (alerting/_alert_forms.html)."""
    return {
        "can_change_alerts": lifecycle.may_change_alerts(user),
        "note_max_length": lifecycle.NOTE_MAX_LENGTH,
    }


@require_safe
@login_required
def alert_list(request):
    """Alerts, newest first, with filters, pagination and the ack/resolve forms."""
    filters = AlertFilterForm(request.GET or None)
    alerts = filters.filter(Alert.objects.all()) if request.GET else Alert.objects.all()
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(request, "alerting/alert_list.html", {
        "filters": filters if request.GET else AlertFilterForm(),
        "page": page,
        "alerts": page.object_list,
        "filter_query": kept.urlencode(),
        **alert_forms_context(request.user),
    })


@require_safe
@login_required
def alert_detail(request, alert_id):
    """One alert and its history: created, acknowledged, resolved, deliveries."""
    alert = get_object_or_404(Alert.objects.select_related("rule"), alert_id=alert_id)
    return render(request, "alerting/alert_detail.html", {
        "alert": alert,
        "deliveries": alert.deliveries.all(),
        **alert_forms_context(request.user),
    })


def _back(request, alert_id):
    """Where to go after an action: the page the form was on, if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("alert-detail", args=[alert_id])


def _take_step(request, alert_id, step):
    """Parse the note, take the step as the signed-in user, say what happened."""
    by = lifecycle.acting_person(request.user)  # 403 before anything is said or done
    note_form = AlertNoteForm(request.POST)
    if not note_form.is_valid():
        problems = "; ".join(e for errors in note_form.errors.values() for e in errors)
        messages.error(request, f"Alert {alert_id} was not {step.done}: {problems}")
        return redirect(_back(request, alert_id))
    outcome = lifecycle.take_step(step, alert_id, by=by, note=note_form.cleaned_data["note"])
    if outcome.alert is None:
        raise Http404(outcome.message)
    (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect(_back(request, alert_id))


@require_POST
@login_required
def acknowledge(request, alert_id):
    """Acknowledge one alert with an optional note (the first acknowledger is kept)."""
    return _take_step(request, alert_id, lifecycle.ACKNOWLEDGE)


@require_POST
@login_required
def resolve(request, alert_id):
    """Resolve one alert with an optional note (resolving twice keeps the first)."""
    return _take_step(request, alert_id, lifecycle.RESOLVE)
