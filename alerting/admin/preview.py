"""The admin rule form's preview: the form's values replayed over the history, as a chart.

The change form POSTs its fields here (fetch, with its CSRF token); the rule is validated
by the same AlertRuleForm and replayed by ``alerting.preview`` (what
``POST alert-rules/preview/`` answers); nothing is saved. The answer is an HTML fragment:
the incident count and one inline SVG chart per version.
"""
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from alerting.forms import AlertRuleForm
from alerting.preview import MAX_DAYS, MIN_DAYS, preview_rule
from predictions.charts import line_chart_svg

MAX_CHARTS = 10


@require_POST
def preview_view(request):
    if not request.user.has_perm("alerting.view_alertrule"):
        return HttpResponse("You may not view alert rules.", status=403)
    data = request.POST.copy()
    data["rule_id"] = data.get("rule_id") or "preview"
    form = AlertRuleForm(data)
    form.fields["rule_id"].validators = []  # the rule is not saved: any id will do
    form.instance.pk = None
    problems = {}
    if not form.is_valid():
        problems = {name: " ".join(errors) for name, errors in form.errors.items()
                    if name != "rule_id" or "already exists" not in " ".join(errors)}
    try:
        days = int(request.POST.get("days", 7))
    except ValueError:
        days = 0
    if not MIN_DAYS <= days <= MAX_DAYS:
        problems["days"] = f"days must be from {MIN_DAYS} to {MAX_DAYS}."
    if problems:
        html = render_to_string("admin/alerting/alertrule/_preview.html",
                                {"problems": problems})
        return HttpResponse(html, status=400)
    rule = form.instance
    previews = preview_rule(rule, days)
    charts = [
        {
            "model_version": p["model_version"],
            "incidents": p["incidents"],
            "svg": line_chart_svg(
                [(point["start"], point["value"]) for point in p["series"]],
                title=f"{rule.metric_name} of {p['model_version']} (threshold "
                      f"{rule.comparison} {rule.threshold:g})",
                width=640, height=220,
            ),
        }
        for p in previews[:MAX_CHARTS]
    ]
    return HttpResponse(render_to_string("admin/alerting/alertrule/_preview.html", {
        "charts": charts, "days": days,
        "incident_count": sum(len(p["incidents"]) for p in previews),
        "versions_left_out": max(len(previews) - MAX_CHARTS, 0),
    }))
