"""A metric series over a time range as inline SVG: gaps, threshold lines, alert markers.

The sibling of ``charts.line_chart_svg`` for the series of §9: the x axis spans the whole
range (not only the points that have values), so a stretch without data shows as a gap
in the line; each rule watching the metric is a dashed horizontal line with its label;
each alert is a marker at its time. A second series (e.g. label coverage beside volume)
may share the chart on a 0–1 axis at the right. Same CSS classes as the other charts, no
JavaScript, nothing fetched.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from predictions.charts import _is_number, _nice_ceiling, _nice_range, _num, _open_svg, _ticks

MAX_MARKERS = 200
X_TICKS = 5


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str


@dataclass(frozen=True)
class Marker:
    at: datetime
    label: str


@dataclass(frozen=True)
class Secondary:
    """A second line on a fixed 0–1 axis at the right (a share, such as label coverage)."""

    points: Sequence[tuple[datetime, float | None]]
    label: str
    thresholds: Sequence[Threshold] = ()


def _x_ticks(axis_start: datetime, axis_end: datetime, step: timedelta) -> list[tuple]:
    """(time, label) of the x axis: hours within a day or three, midnights beyond."""
    span = axis_end - axis_start
    if span <= timedelta(days=3):
        time_format = "%H:%M" if span <= timedelta(hours=26) else "%m-%d %H:%M"
        count = X_TICKS if span <= timedelta(hours=26) else 3
        buckets = span / step
        # On bucket boundaries, so that the labels read as round times.
        return [(at, at.strftime(time_format)) for at in (
            axis_start + step * round(buckets * i / (count - 1)) for i in range(count))]
    days = span.days
    every = max(1, -(-days // (X_TICKS - 1)))
    first = datetime.combine(axis_start.date(), datetime.min.time(), axis_start.tzinfo)
    if first < axis_start:
        first += timedelta(days=1)
    time_format = "%m-%d" if days <= 120 else "%Y-%m-%d"
    ticks = []
    at = first
    while at <= axis_end:
        ticks.append((at, at.strftime(time_format)))
        at += timedelta(days=every)
    return ticks


def _runs(points, x_of, y_of) -> list[list[str]]:
    """Runs of consecutive known values: a None (no data) ends a run."""
    runs, run = [], []
    for at, value in points:
        if _is_number(value):
            run.append(f"{_num(x_of(at))},{_num(y_of(value))}")
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def series_chart_svg(
    points: Sequence[tuple[datetime, float | None]],
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    title: str,
    y_label: str = "",
    y_min: float | None = 0.0,
    y_max: float | None = None,
    value_format: str = "{:.3f}",
    thresholds: Sequence[Threshold] = (),
    markers: Sequence[Marker] = (),
    secondary: Secondary | None = None,
    width: int = 480,
    height: int = 220,
) -> SafeString:
    """``points`` are (bucket start, value or None) in time order over [start, end).

    A value is drawn at the middle of its bucket. ``y_min``/``y_max`` fix the vertical
    range (None: fit the data and the thresholds).
    """
    left, right, top, bottom = 58, 44 if secondary else 14, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [(at, value) for at, value in points if _is_number(value)]
    values = [value for _, value in known]
    levels = [t.value for t in thresholds if _is_number(t.value)]
    data_low = min([*values, *levels], default=0.0)
    data_high = max([*values, *levels], default=1.0)
    low, high = _nice_range(data_low if y_min is None else y_min,
                            data_high if y_max is None else y_max)
    if y_min is not None:
        low = y_min
    if y_max is not None:
        high = y_max
    elif y_min == 0:
        high = _nice_ceiling(data_high)
    if high <= low:
        high = low + 1.0
    # The whole range, stretched to the aligned buckets that hold its ends.
    axis_start = min([start, *(at for at, _ in points[:1])])
    axis_end = max([end, axis_start + step, *(at + step for at, _ in points[-1:])])
    span = (axis_end - axis_start).total_seconds()

    def x_of(at):
        seconds = (at - axis_start).total_seconds()
        return left + plot_w * min(max(seconds / span, 0.0), 1.0)

    def x_of_bucket(at):
        return x_of(at + step / 2)

    def y_of(value, lo=low, hi=high):
        clamped = min(max(value, lo), hi)
        return top + plot_h * (1 - (clamped - lo) / (hi - lo))

    if known:
        description = (
            f"{len(known)} of {len(points)} buckets with data from {axis_start:%Y-%m-%d %H:%M} "
            f"to {axis_end:%Y-%m-%d %H:%M} UTC; latest {value_format.format(known[-1][1])}, "
            f"lowest {value_format.format(min(values))}, "
            f"highest {value_format.format(max(values))}."
        )
    else:
        description = "No data in this range."
    for threshold in thresholds:
        description += f" {threshold.label}."
    if markers:
        description += f" {len(markers)} alert{'s' if len(markers) != 1 else ''}."
    parts = _open_svg(width, height, title, description, "chart-line-chart chart-series")
    parts[0] = parts[0].replace(
        "<svg ", f'<svg data-points="{len(points)}" data-known="{len(known)}" ', 1
    )
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
    for at, label in _x_ticks(axis_start, axis_end, step):
        x = x_of(at)
        anchor = "start" if x < left + 24 else "end" if x > left + plot_w - 24 else "middle"
        parts.append(
            f'<text class="chart-tick chart-x-tick" x="{_num(x)}" y="{height - 10}" '
            f'text-anchor="{anchor}">{escape(label)}</text>'
            f'<line class="chart-grid" x1="{_num(x)}" x2="{_num(x)}" y1="{top + plot_h}" '
            f'y2="{top + plot_h + 4}"/>'
        )
    if y_label:
        parts.append(
            f'<text class="chart-axis-label" x="12" y="{top + plot_h / 2}" '
            f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">'
            f"{escape(y_label)}</text>"
        )
    if not known:
        parts.append(
            f'<text class="chart-empty" x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
            f'text-anchor="middle">No data in this range</text>'
        )
    if secondary is not None:
        parts += _secondary(secondary, x_of_bucket, top, plot_h, left, plot_w)
    for run in _runs(points, x_of_bucket, y_of):
        if len(run) == 1:  # a lone bucket between gaps: a dot, not an invisible line
            x, y = run[0].split(",")
            parts.append(f'<circle class="chart-point" cx="{x}" cy="{y}" r="2.5"/>')
        else:
            parts.append(f'<polyline class="chart-line" points="{" ".join(run)}"/>')
    if 1 < len(known) <= 60:
        for at, value in known:
            parts.append(
                f'<circle class="chart-point" cx="{_num(x_of_bucket(at))}" '
                f'cy="{_num(y_of(value))}" r="3"><title>{escape(at.strftime("%Y-%m-%d %H:%M"))}'
                f": {escape(value_format.format(value))}</title></circle>"
            )
    for threshold in thresholds:
        parts += _threshold(threshold, y_of(threshold.value), left, plot_w)
    for marker in list(markers)[:MAX_MARKERS]:
        x = _num(x_of(marker.at))
        parts.append(
            f'<g class="chart-marker"><title>{escape(marker.label)}</title>'
            f'<line x1="{x}" x2="{x}" y1="{top}" y2="{top + plot_h}"/>'
            f'<path d="M{x} {top + 9} l-5 -9 h10 z"/></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every data text is escaped above)


def _threshold(threshold: Threshold, y: float, left: int, plot_w: int) -> list[str]:
    label_y = y - 4 if y > 24 else y + 12
    return [
        f'<g class="chart-threshold-group"><title>{escape(threshold.label)}</title>'
        f'<line class="chart-threshold" x1="{left}" x2="{left + plot_w}" '
        f'y1="{_num(y)}" y2="{_num(y)}"/>'
        f'<text class="chart-threshold-label" x="{left + plot_w - 4}" y="{_num(label_y)}" '
        f'text-anchor="end">{escape(threshold.label)}</text></g>'
    ]


def _secondary(secondary: Secondary, x_of, top: int, plot_h: int, left: int,
               plot_w: int) -> list[str]:
    right_edge = left + plot_w

    def y_of(value):
        return top + plot_h * (1 - min(max(value, 0.0), 1.0))

    parts = []
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text class="chart-tick chart-secondary-tick" x="{right_edge + 4}" '
            f'y="{_num(y_of(tick))}" dominant-baseline="middle">{tick:.0%}</text>'
        )
    for run in _runs(secondary.points, x_of, y_of):
        if len(run) == 1:
            x, y = run[0].split(",")
            parts.append(f'<circle class="chart-point chart-secondary" cx="{x}" cy="{y}" r="2"/>')
        else:
            parts.append(
                f'<polyline class="chart-line chart-secondary" points="{" ".join(run)}">'
                f"<title>{escape(secondary.label)}</title></polyline>"
            )
    for threshold in secondary.thresholds:
        parts += _threshold(threshold, y_of(threshold.value), left, plot_w)
    return parts
