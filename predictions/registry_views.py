"""Pages of the model registry and drift reports (SPEC §8): thin views over the services.

``/registry/`` lists every version (registered or only seen), ``/registry/<version>/``
leads to the version's page (``/models/<version>/``: stage, timeline, latest drift
report beside the metrics), ``/drift/<id>/`` one drift report in full.
"""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from predictions.choices import STAGE_BADGES
from predictions.drift_charts import drift_feature_charts, features_by_psi, psi_chart
from predictions.models import DriftReport
from predictions.overview import DEFAULT_WINDOW, WINDOW_CHOICES, window_figures_by_version
from predictions.registry import versions_overview


def _with_window_figures(entries, window_key):
    """Each entry's accuracy and labelled count over the ?window= (as on the dashboard)."""
    minutes = WINDOW_CHOICES[window_key][0]
    figures = window_figures_by_version(minutes, versions=[e["version"] for e in entries])
    for entry in entries:
        version_figures = figures.get(entry["version"], {})
        entry["window_accuracy"] = version_figures.get("accuracy")
        entry["window_labelled"] = version_figures.get("num_with_outcome", 0)
    return entries


def _window_key(request):
    return request.GET.get("window") or DEFAULT_WINDOW


def _with_badge(entry):
    entry["badge"] = STAGE_BADGES.get(entry["stage"], "delivery-pending")
    return entry


def _feature_rows(report: DriftReport):
    rows = []
    for name, entry in features_by_psi(report):
        rows.append({
            "name": name,
            "skipped": bool(entry.get("skipped")),
            "reason": entry.get("reason", ""),
            "kind": entry.get("kind", ""),
            "psi": entry.get("psi"),
            "statistic": entry.get("ks_statistic"),
            "pvalue": entry.get("ks_pvalue", entry.get("chi2_pvalue")),
            "test": "KS" if "ks_pvalue" in entry else ("χ²" if "chi2_pvalue" in entry else ""),
            "drifted": entry.get("drifted"),
            "missing_rate": entry.get("missing_rate"),
            "out_of_range_rate": entry.get("out_of_range_rate"),
            "new_categories": entry.get("new_categories") or [],
        })
    return rows


@require_safe
@login_required
def registry(request):
    """Every model version: stage, prediction figures, accuracy over a window."""
    window_key = _window_key(request)
    context = {"window_choices": [(k, label) for k, (_, label) in WINDOW_CHOICES.items()],
               "window_key": window_key}
    if window_key not in WINDOW_CHOICES:
        context.update(window_key=DEFAULT_WINDOW, versions=[], window_error=(
            f"window: {window_key!r} is not one of {', '.join(WINDOW_CHOICES)}."))
        return render(request, "predictions/registry.html", context, status=400)
    # Grouped by model name (unregistered versions, without one, last).
    entries = sorted(versions_overview(), key=lambda e: (
        e["model_name"] is None, e["model_name"] or "", e["version"]))
    versions = _with_window_figures([_with_badge(entry) for entry in entries], window_key)
    context.update(versions=versions, window_label=WINDOW_CHOICES[window_key][1])
    return render(request, "predictions/registry.html", context)


@require_safe
@login_required
def version_page(request, version):
    """The version's own page (``/models/<version>/``) shows its stage, timeline and drift
    beside its metrics: this URL, kept for links and bookmarks, leads there."""
    target = reverse("model-detail", args=[version])
    query = request.GET.urlencode()
    return redirect(f"{target}?{query}" if query else target)


@require_safe
@login_required
def drift_report(request, report_id):
    """One drift report: windows, per-feature statistics and the PSI chart."""
    report = get_object_or_404(DriftReport, pk=report_id)
    return render(request, "predictions/drift_report.html", {
        "report": report,
        "psi_chart": psi_chart(report),
        "feature_rows": _feature_rows(report),
        **drift_feature_charts(report),
        "psi_threshold": settings.MONITORING_DRIFT_PSI,
        "pvalue_threshold": settings.MONITORING_DRIFT_PVALUE,
    })
