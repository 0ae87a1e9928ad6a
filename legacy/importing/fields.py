"""Reading one field of a legacy record: (problem or None, value), the problem phrased for
the report ("name: what is wrong")."""
from __future__ import annotations

from legacy.formats import from_epoch
from predictions.validation import INT_MAX, InvalidValue, finite_float


def epoch_field(record: dict, name: str, required: bool = True):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), None
    try:
        seconds = finite_float(value)
    except InvalidValue:
        return f"{name}: must be epoch seconds (a number), got {value!r}", None
    try:
        return None, from_epoch(seconds)
    except (OverflowError, OSError, ValueError):
        return f"{name}: {value!r} is not a usable timestamp", None


def text_field(record, name, max_length, required=True, default=""):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), default
    if not isinstance(value, str):
        return f"{name}: must be a string, got {type(value).__name__}", None
    if required and not value.strip():
        return f"{name}: must not be empty", None
    if len(value) > max_length:
        return f"{name}: longer than {max_length} characters", None
    return None, value


def number_field(record, name, required=True):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), None
    try:
        return None, finite_float(value)
    except InvalidValue:
        return f"{name}: must be a finite number, got {value!r}", None


def count_field(record, name, required=True, default=0):
    value = record.get(name)
    if value is None:
        return (f"{name}: missing" if required else None), default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or value < 0 or value > INT_MAX:
        return f"{name}: must be a whole number ≥ 0, got {value!r}", None
    return None, value


def collect(checks) -> tuple[list[str], dict]:
    """[(name, (problem, value))] → (problems, {name: value} of the good ones)."""
    problems, row = [], {}
    for name, (problem, value) in checks:
        if problem:
            problems.append(problem)
        else:
            row[name] = value
    return problems, row
