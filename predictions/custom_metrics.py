"""Named metrics that services push beside predictions (SPEC §9 "Metrics a service pushes").

``record_custom_metrics`` validates a batch (all or nothing) and stores it as
PerformanceMetric rows with their hourly aggregates in one transaction; the series and a
rule's window value come from those aggregates (``CustomMetricHour``) plus, for a window
that does not start or end on the hour, the few rows of its partial hours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from predictions import rollups
from predictions.models import CustomMetricHour, PerformanceMetric
from predictions.series import bucket_span
from predictions.unknown_fields import ingest_is_strict, unknown_field_errors
from predictions.validation import (
    IngestValidationError,
    InvalidValue,
    clean_text,
    clean_timestamp,
    finite_float,
    json_object_problem,
)

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
FIELDS = dict.fromkeys(("metric_name", "value", "model_version", "timestamp", "metadata")).keys()
AGGREGATES = ("avg", "min", "max", "sum", "count")
MAX_MODEL_VERSION = PerformanceMetric._meta.get_field("model_version").max_length


@dataclass
class CustomMetricResult:
    created: int


def _clean_item(raw, now, index: int, strict: bool) -> tuple[dict | None, dict]:
    if not isinstance(raw, dict):
        return None, {"non_field_errors": "Must be a JSON object."}
    errors = unknown_field_errors(raw, FIELDS, index) if strict else {}
    row = {"model_version": "", "timestamp": now, "metadata": {}}
    name = raw.get("metric_name")
    if name is None:
        errors["metric_name"] = "This field is required."
    elif not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        errors["metric_name"] = (
            "Must be 1–64 letters, digits, '_', '.' or '-' (e.g. api_latency)."
        )
    else:
        row["metric_name"] = name
    checks = (
        ("value", finite_float, True),
        ("model_version", lambda v: clean_text(v, MAX_MODEL_VERSION), False),
        ("timestamp", clean_timestamp, False),
    )
    for field, cleaner, required in checks:
        if raw.get(field) is None:
            if required:
                errors[field] = "This field is required."
            continue
        try:
            row[field] = cleaner(raw[field])
        except InvalidValue as exc:
            errors[field] = str(exc)
    if raw.get("metadata") is not None:
        problem = json_object_problem(raw["metadata"])
        if problem:
            errors["metadata"] = problem
        else:
            row["metadata"] = raw["metadata"]
    return (None, errors) if errors else (row, {})


def record_custom_metrics(items: list, strict: bool | None = None) -> CustomMetricResult:
    """Store named metric values, all or nothing; raises IngestValidationError naming items.

    ``strict`` (default: MONITORING_INGEST_STRICT) makes an unknown key an error.
    """
    strict = ingest_is_strict() if strict is None else strict
    now = timezone.now()
    rows, errors = [], {}
    for index, raw in enumerate(items):
        row, item_errors = _clean_item(raw, now, index, strict)
        if item_errors:
            errors[index] = item_errors
        elif not errors:
            rows.append(row)
    if errors:
        raise IngestValidationError(errors)
    with transaction.atomic():
        created = PerformanceMetric.objects.bulk_create(
            [PerformanceMetric(window_size=0, **row) for row in rows]
        )
        rollups.add_custom_metrics([metric.pk for metric in created])
    return CustomMetricResult(created=len(rows))


def metric_names() -> list[dict]:
    """Every metric name seen, with its versions, value count and last hour."""
    names: dict[str, dict] = {}
    for row in (
        CustomMetricHour.objects.values("metric_name", "model_version")
        .annotate(count=Sum("count"), last_hour=Max("hour"))
        .order_by("metric_name", "model_version")
    ):
        entry = names.setdefault(
            row["metric_name"],
            {"metric_name": row["metric_name"], "model_versions": [], "count": 0,
             "last_seen": None},
        )
        if row["model_version"]:
            entry["model_versions"].append(row["model_version"])
        entry["count"] += row["count"]
        last = rollups.hour_start(row["last_hour"])
        entry["last_seen"] = max(entry["last_seen"] or last, last)
    return list(names.values())


def _figures(count, total, low, high) -> dict:
    return {
        "count": count or 0,
        "sum": total if count else None,
        "avg": total / count if count else None,
        "min": low if count else None,
        "max": high if count else None,
    }


def custom_series(metric_name: str, model_version: str | None, start: datetime,
                  end: datetime, step: str = "1h") -> list[dict]:
    """count/avg/min/max/sum per aligned bucket of [start, end); every bucket present."""
    first, stop, hours = bucket_span(start, end, step)
    hours_of = CustomMetricHour.objects.filter(
        metric_name=metric_name, hour__gte=first * hours, hour__lt=stop * hours
    )
    if model_version is not None:
        hours_of = hours_of.filter(model_version=model_version)
    per_bucket: dict[int, list] = {}
    for hour, count, total, low, high in hours_of.values_list(
        "hour", "count", "value_sum", "low", "high"
    ):
        bucket = per_bucket.setdefault(hour // hours, [0, 0.0, None, None])
        bucket[0] += count
        bucket[1] += total
        bucket[2] = low if bucket[2] is None else min(bucket[2], low)
        bucket[3] = high if bucket[3] is None else max(bucket[3], high)
    return [
        {"start": rollups.hour_start(bucket * hours),
         **_figures(*per_bucket.get(bucket, (0, 0.0, None, None)))}
        for bucket in range(first, stop)
    ]


def window_value(metric_name: str, model_version: str, start: datetime, end: datetime,
                 aggregate: str = "avg") -> float | None:
    """One aggregate of the metric over [start, end): whole hours from the aggregates, the
    partial hours at either edge from the rows (at most two hours of them)."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}")
    first_full = -(-int(start.timestamp()) // rollups.HOUR_SECONDS)
    end_full = int(end.timestamp()) // rollups.HOUR_SECONDS
    parts = []
    rows = PerformanceMetric.objects.filter(metric_name=metric_name, model_version=model_version)
    if first_full < end_full:
        parts.append(
            CustomMetricHour.objects.filter(
                metric_name=metric_name, model_version=model_version,
                hour__gte=first_full, hour__lt=end_full,
            ).aggregate(c=Sum("count"), s=Sum("value_sum"), lo=Min("low"), hi=Max("high"))
        )
        edges = [(start, rollups.hour_start(first_full)), (rollups.hour_start(end_full), end)]
    else:
        edges = [(start, end)]
    for lo, hi in edges:
        if lo < hi:
            parts.append(
                rows.filter(timestamp__gte=lo, timestamp__lt=hi).aggregate(
                    c=Count("id"), s=Sum("value"), lo=Min("value"), hi=Max("value")
                )
            )
    count = sum(part["c"] or 0 for part in parts)
    total = sum(part["s"] or 0.0 for part in parts if part["c"])
    lows = [part["lo"] for part in parts if part["c"]]
    highs = [part["hi"] for part in parts if part["c"]]
    figures = _figures(count, total, min(lows, default=None), max(highs, default=None))
    return figures[aggregate] if aggregate != "count" else float(count)
