"""Charts as inline SVG, rendered on the server: no JavaScript, nothing fetched.

Each function returns a ``SafeString`` holding one ``<svg>`` element that a template
prints with ``{{ chart }}``. Every text that comes from data is escaped here. The SVGs
carry ``role="img"``, a ``<title>`` and a ``<desc>`` for screen readers, scale with the
width of their container (``viewBox`` + CSS ``width:100%``), and use the CSS classes of
``static/css/site.css`` (``chart``, ``chart-line``, ``chart-bar``, …) for their colours,
so that every chart of the site looks the same.

- ``line_chart_svg(points, …)``: one time series (e.g. accuracy of the snapshots).
- ``reliability_diagram_svg(bins, …)``: the calibration bins of §4 against the diagonal.
- ``bar_chart_svg(labels, values, threshold=None, …)``: a generic bar chart (horizontal
  or vertical) with an optional threshold line; bars at or above the threshold are drawn
  with the ``over`` class (used e.g. for per-feature PSI against the drift threshold).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_chart_ids = itertools.count(1)


def _num(value: float) -> str:
    """A coordinate with at most two decimals (keeps the SVG small)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _open_svg(width: int, height: int, title: str, description: str, css_class: str) -> list:
    chart_id = f"chart-{next(_chart_ids)}"
    return [
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _empty(width: int, height: int, title: str, message: str, css_class: str) -> SafeString:
    parts = _open_svg(width, height, title, message, css_class)
    parts.append(
        f'<text class="chart-empty" x="{width / 2}" y="{height / 2}" '
        f'text-anchor="middle">{escape(message)}</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)


def _nice_range(low: float, high: float) -> tuple[float, float]:
    if low == high:
        pad = abs(low) * 0.1 or 0.1
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 4, 6, 8 × 10^k that is ≥ value (quarters stay round)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if step * scale >= value * (1 - 1e-9):
            return step * scale
    return 10 * scale


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _value_grid(left: float, plot_w: float, y_of, top_value: float, label_gap: int,
                label) -> list[str]:
    """Five horizontal grid lines from 0 to ``top_value``, each labelled ``label(tick)``
    (already escaped) at the left of the plot."""
    lines = []
    for tick in _ticks(0.0, top_value, 5):
        y = _num(y_of(tick))
        lines.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-tick" x="{left - label_gap}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{label(tick)}</text>'
        )
    return lines


def line_chart_svg(
    points: Sequence[tuple[datetime, float | None]],
    title: str,
    y_label: str = "",
    y_min: float | None = None,
    y_max: float | None = None,
    value_format: str = "{:.3f}",
    width: int = 400,
    height: int = 230,
) -> SafeString:
    """A time series as a line with markers; ``None`` values leave a gap in the line.

    ``points`` are ``(datetime, value)`` pairs in time order. ``y_min``/``y_max`` fix the
    vertical range (e.g. 0 and 1 for a rate); otherwise it fits the data.
    """
    known = [(at, value) for at, value in points if _is_number(value)]
    if not known:
        return _empty(width, height, title, "No data yet", "chart-line-chart")
    left, right, top, bottom = 58, 14, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [value for _, value in known]
    low, high = _nice_range(
        min(values) if y_min is None else y_min, max(values) if y_max is None else y_max
    )
    if y_min is not None:
        low = y_min
    if y_max is not None:
        high = y_max
    elif y_min == 0:
        high = _nice_ceiling(max(values))
    if high <= low:
        high = low + 1.0
    first, last = known[0][0], known[-1][0]
    span = (last - first).total_seconds() or 1.0

    def x_of(at):
        if first == last:
            return left + plot_w / 2
        return left + plot_w * (at - first).total_seconds() / span

    def y_of(value):
        clamped = min(max(value, low), high)
        return top + plot_h * (1 - (clamped - low) / (high - low))

    description = (
        f"{len(known)} points from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC; "
        f"latest {value_format.format(known[-1][1])}, "
        f"lowest {value_format.format(min(values))}, highest {value_format.format(max(values))}."
    )
    parts = _open_svg(width, height, title, description, "chart-line-chart")
    parts.append(
        f'<rect class="chart-plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>'
    )
    for tick in _ticks(low, high):
        y = _num(y_of(tick))
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-tick" x="{left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(value_format.format(tick))}</text>'
        )
    same_day = first.date() == last.date()
    time_format = "%H:%M" if same_day else "%m-%d %H:%M"
    for at, anchor in ((first, "start"), (last, "end")) if first != last else ((first, "middle"),):
        parts.append(
            f'<text class="chart-tick" x="{_num(x_of(at))}" y="{height - 10}" '
            f'text-anchor="{anchor}">{escape(at.strftime(time_format))}</text>'
        )
    if y_label:
        parts.append(
            f'<text class="chart-axis-label" x="12" y="{top + plot_h / 2}" '
            f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">'
            f"{escape(y_label)}</text>"
        )
    # One polyline per run of known values, so that a missing value shows as a gap.
    run: list[str] = []
    for _at, value in points:
        if _is_number(value):
            run.append(f"{_num(x_of(_at))},{_num(y_of(value))}")
        elif run:
            parts.append(f'<polyline class="chart-line" points="{" ".join(run)}"/>')
            run = []
    if run:
        parts.append(f'<polyline class="chart-line" points="{" ".join(run)}"/>')
    if len(known) <= 120:
        for at, value in known:
            parts.append(
                f'<circle class="chart-point" cx="{_num(x_of(at))}" cy="{_num(y_of(value))}" '
                f'r="3"><title>{escape(at.strftime("%Y-%m-%d %H:%M"))}: '
                f"{escape(value_format.format(value))}</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)


def reliability_diagram_svg(
    bins: Sequence[dict], title: str = "Reliability diagram", width: int = 420, height: int = 360
) -> SafeString:
    """Accuracy per confidence bin against perfect calibration (the diagonal).

    ``bins`` are the ``calibration_bins``/``bin_metrics`` of ``predictions.metrics``:
    dicts with ``bin_range`` (e.g. ``"[0.70, 0.80)"``), ``count``, ``mean_confidence`` and
    ``accuracy``. Each bin is a bar spanning its confidence range, as tall as its accuracy;
    a dot marks its mean confidence on the diagonal side of the bar.
    """
    usable = [b for b in bins if b.get("count") and _is_number(b.get("accuracy"))]
    if not usable:
        return _empty(width, height, title, "No labelled predictions yet", "chart-reliability")
    left, right, top, bottom = 48, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(confidence):
        return left + plot_w * confidence

    def y_of(rate):
        return top + plot_h * (1 - rate)

    total = sum(b["count"] for b in usable)
    description = "; ".join(
        f"confidence {b.get('bin_range', '')}: accuracy {b['accuracy']:.2f} over "
        f"{b['count']} predictions (mean confidence {b['mean_confidence']:.2f})"
        for b in usable
    )
    parts = _open_svg(width, height, title, f"{total} labelled predictions. {description}.",
                      "chart-reliability")
    parts.append(
        f'<rect class="chart-plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>'
    )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _num(x_of(tick)), _num(y_of(tick))
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-tick" x="{left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{tick:.2f}</text>'
            f'<text class="chart-tick" x="{x}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{tick:.2f}</text>'
        )
    n_bins = max(10, max(int(b.get("bin", 0)) + 1 for b in usable))
    for b in usable:
        index = int(b.get("bin", min(int(b["mean_confidence"] * n_bins), n_bins - 1)))
        x0, x1 = x_of(index / n_bins), x_of((index + 1) / n_bins)
        y = y_of(min(max(b["accuracy"], 0.0), 1.0))
        parts.append(
            f'<rect class="chart-bar" x="{_num(x0 + 1)}" y="{_num(y)}" '
            f'width="{_num(x1 - x0 - 2)}" height="{_num(top + plot_h - y)}">'
            f"<title>{escape(b.get('bin_range', ''))}: accuracy {b['accuracy']:.3f}, "
            f"mean confidence {b['mean_confidence']:.3f}, {b['count']} predictions</title>"
            f"</rect>"
        )
        parts.append(
            f'<circle class="chart-point" cx="{_num(x_of(b["mean_confidence"]))}" '
            f'cy="{_num(y_of(b["mean_confidence"]))}" r="3"/>'
        )
    parts.append(
        f'<line class="chart-diagonal" x1="{left}" y1="{top + plot_h}" '
        f'x2="{left + plot_w}" y2="{top}"><title>Perfect calibration</title></line>'
    )
    parts.append(
        f'<text class="chart-axis-label" x="{left + plot_w / 2}" y="{height - 6}" '
        f'text-anchor="middle">Confidence</text>'
        f'<text class="chart-axis-label" x="12" y="{top + plot_h / 2}" '
        f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">Accuracy</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float | None],
    threshold: float | None = None,
    *,
    title: str = "Bar chart",
    orientation: str = "horizontal",
    value_format: str = "{:.3f}",
    threshold_label: str = "threshold",
    max_value: float | None = None,
    width: int = 640,
    bar_thickness: int = 22,
    height: int = 260,
) -> SafeString:
    """Bars of ``values`` named by ``labels``, with an optional ``threshold`` line.

    - ``orientation``: ``"horizontal"`` (one row per label, labels on the left; best for
      long names such as features) or ``"vertical"`` (columns, fixed ``height``).
    - A ``None`` value is drawn as an empty row labelled "n/a" (e.g. a skipped feature).
    - Bars whose value is ≥ ``threshold`` get the CSS class ``over`` (drawn in the alert
      colour), and the threshold is drawn as a dashed line named ``threshold_label``.
    - ``max_value`` fixes the end of the value axis (default: the largest of the values
      and the threshold). Values below zero are drawn as zero-length bars.

    A horizontal chart is ``bar_thickness`` + spacing tall per label, so its height
    follows the number of labels; ``width`` is the viewBox width (the SVG itself scales).

    Example (the registry page's per-feature PSI chart)::

        bar_chart_svg(["age", "income"], [0.05, 0.31], threshold=0.2,
                      title="PSI per feature", threshold_label="drift threshold 0.2")
    """
    if orientation not in ("horizontal", "vertical"):
        raise ValueError('orientation must be "horizontal" or "vertical"')
    if len(labels) != len(values):
        raise ValueError("labels and values must have the same length")
    css_class = f"chart-bars chart-bars-{orientation}"
    if not labels:
        return _empty(width, 80, title, "No data", css_class)
    known = [v for v in values if _is_number(v)]
    top_value = max_value
    if top_value is None:
        top_value = max([*known, threshold if _is_number(threshold) else 0.0, 0.0])
    if top_value <= 0:
        top_value = 1.0

    def describe(label, value):
        shown = "n/a" if not _is_number(value) else value_format.format(value)
        return f"{label}: {shown}"

    description = "; ".join(describe(label, v) for label, v in zip(labels, values, strict=True))
    if _is_number(threshold):
        description += f". {threshold_label}: {value_format.format(threshold)}"

    def bar_class(value):
        over = _is_number(threshold) and _is_number(value) and value >= threshold
        return "chart-bar over" if over else "chart-bar"

    if orientation == "horizontal":
        label_w = min(200, 24 + 7 * max(len(str(label)) for label in labels))
        left, right, top, bottom = label_w, 64, 10, 28
        row = bar_thickness + 8
        height = top + bottom + row * len(labels)
        plot_w = width - left - right
        parts = _open_svg(width, height, title, description, css_class)

        def x_of(value):
            return left + plot_w * min(max(value, 0.0), top_value) / top_value

        for tick in _ticks(0.0, top_value, 5):
            x = _num(x_of(tick))
            parts.append(
                f'<line class="chart-grid" x1="{x}" x2="{x}" y1="{top}" '
                f'y2="{height - bottom}"/>'
                f'<text class="chart-tick" x="{x}" y="{height - 10}" '
                f'text-anchor="middle">{escape(value_format.format(tick))}</text>'
            )
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            y = top + i * row + 4
            middle = _num(y + bar_thickness / 2)
            parts.append(
                f'<text class="chart-label" x="{left - 8}" y="{middle}" text-anchor="end" '
                f'dominant-baseline="middle">{escape(str(label))}</text>'
            )
            if _is_number(value):
                end = x_of(value)
                parts.append(
                    f'<rect class="{bar_class(value)}" x="{left}" y="{y}" '
                    f'width="{_num(max(end - left, 0.0))}" height="{bar_thickness}">'
                    f"<title>{escape(describe(label, value))}</title></rect>"
                    f'<text class="chart-value" x="{_num(end + 4)}" y="{middle}" '
                    f'dominant-baseline="middle">{escape(value_format.format(value))}</text>'
                )
            else:
                parts.append(
                    f'<text class="chart-value muted" x="{left + 4}" y="{middle}" '
                    f'dominant-baseline="middle">n/a</text>'
                )
        if _is_number(threshold):
            x = _num(x_of(threshold))
            parts.append(
                f'<line class="chart-threshold" x1="{x}" x2="{x}" y1="{top - 4}" '
                f'y2="{height - bottom}"><title>{escape(threshold_label)}: '
                f"{escape(value_format.format(threshold))}</title></line>"
            )
    else:
        left, right, top, bottom = 56, 12, 12, 48
        plot_w, plot_h = width - left - right, height - top - bottom
        parts = _open_svg(width, height, title, description, css_class)
        slot = plot_w / len(labels)

        def y_of(value):
            return top + plot_h * (1 - min(max(value, 0.0), top_value) / top_value)

        parts.extend(_value_grid(left, plot_w, y_of, top_value, 6,
                                 lambda tick: escape(value_format.format(tick))))
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            x = left + i * slot
            center = _num(x + slot / 2)
            parts.append(
                f'<text class="chart-label" x="{center}" y="{top + plot_h + 16}" '
                f'text-anchor="middle">{escape(str(label))}</text>'
            )
            if _is_number(value):
                y = y_of(value)
                parts.append(
                    f'<rect class="{bar_class(value)}" x="{_num(x + slot * 0.15)}" '
                    f'y="{_num(y)}" width="{_num(slot * 0.7)}" '
                    f'height="{_num(top + plot_h - y)}">'
                    f"<title>{escape(describe(label, value))}</title></rect>"
                )
        if _is_number(threshold):
            y = _num(y_of(threshold))
            parts.append(
                f'<line class="chart-threshold" x1="{left}" x2="{left + plot_w}" y1="{y}" '
                f'y2="{y}"><title>{escape(threshold_label)}: '
                f"{escape(value_format.format(threshold))}</title></line>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)
