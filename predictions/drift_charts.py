"""What the drift pages draw (SPEC §13): each feature's reference against its current
distribution, and each feature's PSI per day. Inline SVG in the look of
``predictions.charts`` (its helpers, its CSS classes), plus the context builders the
include templates ``predictions/_drift_feature_charts.html`` and
``predictions/_psi_history.html`` expect, so that any page can show them.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from predictions.charts import (
    _empty,
    _is_number,
    _nice_ceiling,
    _num,
    _open_svg,
    _value_grid,
    bar_chart_svg,
    line_chart_svg,
)
from predictions.models import DriftReport

PSI_HISTORY_DAYS = 30
LABEL_CHARACTERS = 10


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def _bin_labels(edges: list[float]) -> list[str]:
    """``≤e1``, ``≤e2``, …, ``>e9``: each bin by its upper cut point (the last by its lower)."""
    return [*(f"≤{edge:.2g}" for edge in edges), f">{edges[-1]:.2g}"] if edges else []


def distribution_svg(labels: list[str], reference: list[float], current: list[float],
                     title: str, width: int = 420, height: int = 210) -> SafeString:
    """Two bars per bin or category: the reference's share beside the current's."""
    css_class = "chart-distribution"
    if not labels:
        return _empty(width, 80, title, "No distribution kept", css_class)
    description = "; ".join(
        f"{label}: reference {ref:.1%}, current {cur:.1%}"
        for label, ref, cur in zip(labels, reference, current, strict=True)
    )
    top_share = min(_nice_ceiling(max([*reference, *current, 0.01])), 1.0)
    left, right, top, bottom = 44, 8, 22, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(labels)
    parts = _open_svg(width, height, title, description, css_class)

    def y_of(share):
        return top + plot_h * (1 - min(max(share, 0.0), top_share) / top_share)

    parts.extend(_value_grid(left, plot_w, y_of, top_share, 4, lambda tick: f"{tick:.0%}"))
    for i, label in enumerate(labels):
        x = left + i * slot
        for side, share, offset in (("reference", reference[i], 0.1),
                                    ("current", current[i], 0.5)):
            if not _is_number(share):
                continue
            y = y_of(share)
            parts.append(
                f'<rect class="chart-bar chart-{side}" x="{_num(x + slot * offset)}" '
                f'y="{_num(y)}" width="{_num(slot * 0.4)}" height="{_num(top + plot_h - y)}">'
                f"<title>{escape(label)}: {side} {share:.2%}</title></rect>"
            )
        parts.append(
            f'<text class="chart-label" x="{_num(x + slot / 2)}" y="{top + plot_h + 14}" '
            f'text-anchor="middle" font-size="9">{escape(_short(label))}</text>'
        )
    parts.append(
        f'<rect class="chart-bar chart-reference" x="{left}" y="4" width="10" height="10"/>'
        f'<text class="chart-label" x="{left + 14}" y="13">reference</text>'
        f'<rect class="chart-bar chart-current" x="{left + 90}" y="4" width="10" height="10"/>'
        f'<text class="chart-label" x="{left + 104}" y="13">current</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)


def _psi_order(item):
    _, entry = item
    psi = entry.get("psi") if not entry.get("skipped") else None
    return (psi is None, -(psi or 0.0))


def features_by_psi(report: DriftReport) -> list[tuple[str, dict]]:
    """The report's (name, entry) pairs, largest PSI first, skipped features last."""
    return sorted(sorted(report.features.items()), key=_psi_order)


def feature_chart(name: str, entry: dict) -> SafeString | None:
    """One feature's reference-against-current chart, or None (skipped, or a report from
    before the distributions were kept)."""
    title = f"{name}: reference against current"
    if entry.get("bins"):
        bins = entry["bins"]
        return distribution_svg(_bin_labels(bins["edges"]), bins["reference"], bins["current"],
                                title)
    if entry.get("category_shares"):
        shares = entry["category_shares"]
        return distribution_svg([str(v) for v in shares["values"]], shares["reference"],
                                shares["current"], title)
    return None


def drift_feature_charts(report: DriftReport) -> dict:
    """Context of ``_drift_feature_charts.html``: one entry per feature, most drifted first."""
    return {"feature_charts": [
        {
            "name": name,
            "kind": entry.get("kind", ""),
            "psi": entry.get("psi"),
            "drifted": entry.get("drifted"),
            "skipped": bool(entry.get("skipped")),
            "reason": entry.get("reason", ""),
            "missing_rate": entry.get("missing_rate"),
            "out_of_range_rate": entry.get("out_of_range_rate"),
            "new_categories": entry.get("new_categories") or [],
            "chart": feature_chart(name, entry),
        }
        for name, entry in features_by_psi(report)
    ]}


def psi_history(version: str, now: datetime | None = None, days: int = PSI_HISTORY_DAYS) -> dict:
    """Feature → [(day, PSI)] from the version's last report of each of the last ``days``
    days (a report a pass would give hundreds a day: one per day is read, not all)."""
    now = now or timezone.now()
    since = timezone.make_aware(datetime.combine((now - timedelta(days=days - 1)).date(), time()),
                                timezone.get_current_timezone())
    recent = DriftReport.objects.filter(model_version=version, created_at__gte=since)
    last_of_day = list(
        recent.annotate(day=TruncDate("created_at")).values("day")
        .annotate(last=Max("created_at")).values_list("last", flat=True)
    )
    reports = recent.filter(created_at__in=last_of_day).order_by("created_at", "id")
    history: dict[str, list] = {}
    for report in reports.only("created_at", "features"):
        for name, entry in report.features.items():
            psi = None if entry.get("skipped") else entry.get("psi")
            history.setdefault(name, []).append((report.created_at, psi))
    return history


def psi_history_context(version: str, now: datetime | None = None) -> dict:
    """Context of ``_psi_history.html``: a PSI-per-day chart per feature, the feature with
    the largest latest PSI first."""
    history = psi_history(version, now)
    threshold = settings.MONITORING_DRIFT_PSI

    def latest(points):
        known = [psi for _, psi in points if psi is not None]
        return known[-1] if known else None

    features = sorted(history.items(), key=lambda item: (latest(item[1]) is None,
                                                         -(latest(item[1]) or 0.0), item[0]))
    return {"psi_history": {
        "days": PSI_HISTORY_DAYS,
        "threshold": threshold,
        "features": [
            {"name": name, "latest": latest(points),
             "chart": line_chart_svg(points, title=f"{name}: PSI per day", y_label="PSI",
                                     y_min=0.0, value_format="{:.3f}", height=150)}
            for name, points in features
        ],
    }}


def psi_chart(report: DriftReport):
    """The per-feature PSI bar chart of a report, largest first (skipped features n/a)."""
    ordered = features_by_psi(report)
    names = [name for name, _ in ordered]
    values = [None if entry.get("skipped") else entry.get("psi") for _, entry in ordered]
    threshold = settings.MONITORING_DRIFT_PSI
    return bar_chart_svg(
        names, values, threshold=threshold, title=f"PSI per feature, {report.model_version}",
        threshold_label=f"drift threshold {threshold:g}",
    )
