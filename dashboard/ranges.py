"""The time range a page shows, read from its query string: presets or custom dates.

``?range=24h|7d|30d|90d`` (default 24 h) ends now; ``?start=YYYY-MM-DD&end=YYYY-MM-DD``
(or ISO datetimes) is a custom range, the end date included. The step of the charts
follows the length, so that a chart never has more than ``MAX_CHART_POINTS`` points.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from predictions.overview import DEFAULT_WINDOW, WINDOW_CHOICES
from predictions.series import STEP_HOURS

MAX_CHART_POINTS = 400
# Preset → (length, step of its charts): 24, 168, 120 and 90 points.
PRESETS = {
    "24h": (timedelta(hours=24), "1h"),
    "7d": (timedelta(days=7), "1h"),
    "30d": (timedelta(days=30), "6h"),
    "90d": (timedelta(days=90), "1d"),
}
DEFAULT_PRESET = "24h"
PRESET_LABELS = {"24h": "24 h", "7d": "7 d", "30d": "30 d", "90d": "90 d"}
CUSTOM = "custom"


class RangeError(ValueError):
    """A range the page cannot show: ``parameter`` names the query parameter at fault."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class TimeRange:
    key: str  # a preset name or "custom"
    start: datetime
    end: datetime
    step: str
    label: str

    @property
    def step_delta(self) -> timedelta:
        return timedelta(hours=STEP_HOURS[self.step])


def step_for(length: timedelta) -> str:
    """The shortest step that keeps the chart within MAX_CHART_POINTS points."""
    hours = length.total_seconds() / 3600
    for step, step_hours in sorted(STEP_HOURS.items(), key=lambda item: item[1]):
        if hours / step_hours <= MAX_CHART_POINTS:
            return step
    raise RangeError(
        "end", f"end: the range is too long; at most {MAX_CHART_POINTS} days can be shown."
    )


def _moment(parameter: str, text: str, is_end: bool) -> datetime:
    text = text.strip()
    day = None
    try:
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:
        moment = None
    if day is None and moment is None:
        raise RangeError(parameter, f"{parameter}: {text!r} is not a date (YYYY-MM-DD).")
    if not date(1970, 1, 2) <= (day or moment.date()) <= date(9998, 12, 31):
        raise RangeError(parameter, f"{parameter}: {text!r} is out of range.")
    if day is not None:
        # A date means the whole day: an end date is included up to its midnight.
        return datetime.combine(day + timedelta(days=1) if is_end else day, time(), UTC)
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def custom_label(start: datetime, end: datetime) -> str:
    whole_days = start.time() == time() and end.time() == time()
    if whole_days:
        last_day = (end - timedelta(days=1)).date()
        if last_day == start.date():
            return f"{start:%Y-%m-%d}"
        return f"{start:%Y-%m-%d} – {last_day:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def parse_range(query, now: datetime | None = None) -> TimeRange:
    """The TimeRange of a query string (a QueryDict or dict); RangeError if it is bad."""
    now = now or timezone.now()
    key = (query.get("range") or "").strip()
    start_text = (query.get("start") or "").strip()
    end_text = (query.get("end") or "").strip()
    if not key:
        key = CUSTOM if (start_text or end_text) else DEFAULT_PRESET
    if key in PRESETS:
        length, step = PRESETS[key]
        return TimeRange(key, now - length, now, step, f"last {PRESET_LABELS[key]}")
    if key != CUSTOM:
        raise RangeError(
            "range", f"range: {key!r} is not one of {', '.join([*PRESETS, CUSTOM])}."
        )
    if not start_text:
        raise RangeError("start", "start: a custom range needs a start date.")
    start = _moment("start", start_text, is_end=False)
    end = _moment("end", end_text, is_end=True) if end_text else now
    if start >= end:
        raise RangeError("start", "start: the start must be before the end.")
    return TimeRange(CUSTOM, start, end, step_for(end - start), custom_label(start, end))


def parse_window(query) -> tuple[str, int]:
    """The dashboard's ``?window=`` → (key, minutes); RangeError if it is not a choice."""
    key = (query.get("window") or DEFAULT_WINDOW).strip()
    if key not in WINDOW_CHOICES:
        raise RangeError("window", f"window: {key!r} is not one of {', '.join(WINDOW_CHOICES)}.")
    return key, WINDOW_CHOICES[key][0]
