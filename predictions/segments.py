"""Where a model fails: its figures per value of one feature or metadata key (SPEC §13).

``segment_metrics`` answers ``GET metrics/segments/``: the window's predictions grouped
by the key's value (a ``features`` key first, else a ``metadata`` key; values compared
as strings), the 20 most frequent values and the rest as ``(other)``, each with its
accuracy, precision, recall and F1 as §4 defines them (``window_sums.confusion_scores``).
``worst_segments`` gives a performance alert its version's five worst segments over every
key. Everything is grouped in the database, JSON keys extracted by SQL (PostgreSQL
``->>``, SQLite JSON1): however many values a key has, a bounded number of rows comes
back.
"""
from __future__ import annotations

import json
from collections import Counter

from django.conf import settings
from django.db.models import Case, CharField, Count, F, FloatField, Func, Q, Value, When
from django.db.models.functions import Cast, Coalesce

from predictions.metrics import MetricWindow
from predictions.window_sums import confusion_scores

TOP_SEGMENTS = 20
OTHER = "(other)"
WORST_SEGMENTS = 5
# Rows whose keys name the candidate keys of the worst segments (the newest ones).
KEY_SAMPLE_ROWS = 500
LABELLED = Q(actual_outcome__isnull=False)
CORRECT = Q(actual_outcome__isnull=False, predicted_outcome=F("actual_outcome"))


class JSONValueText(Func):
    """The value of one key of a JSON object column as text (null when absent or null).

    Strings give their text, everything else its JSON text (``1``, ``1.5``, ``true``), so
    that values compare as strings on both databases.
    """

    output_field = CharField()

    def __init__(self, column: str, key: str):
        self.key = key
        super().__init__(F(column))

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} ->> %s)", (*params, self.key)

    def as_sqlite(self, compiler, connection):
        column, params = compiler.compile(self.source_expressions[0])
        path = f"$.{json.dumps(self.key)}"
        # json_extract gives 1 for true: the JSON type says which text to give instead.
        sql = (
            f"CASE json_type({column}, %s) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"WHEN 'null' THEN NULL ELSE CAST(json_extract({column}, %s) AS TEXT) END"
        )
        return sql, (*params, path, *params, path)


def segment_value(key: str):
    """The key's value per row: the ``features`` one, else the ``metadata`` one."""
    return Coalesce(JSONValueText("features", key), JSONValueText("metadata", key))


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else None


def _segment_figures(value, cells: list[dict], overall_accuracy) -> dict:
    """One segment's counts and §4 scores from its (predicted, actual, n) cells."""
    labelled = [cell for cell in cells if cell["actual_outcome"] is not None]
    num_with_outcome = sum(cell["n"] for cell in labelled)
    correct = sum(c["n"] for c in labelled if c["predicted_outcome"] == c["actual_outcome"])
    accuracy = _ratio(correct, num_with_outcome)
    scores = confusion_scores(labelled) if labelled else {}
    return {
        "value": value,
        "n": sum(cell["n"] for cell in cells),
        "num_with_outcome": num_with_outcome,
        "accuracy": accuracy,
        "precision": scores.get("precision"),
        "recall": scores.get("recall"),
        "f1_score": scores.get("f1_score"),
        "accuracy_gap": None if accuracy is None or overall_accuracy is None
        else accuracy - overall_accuracy,
    }


def _worst_first(segment: dict):
    accuracy = segment["accuracy"]
    return (accuracy is None, accuracy if accuracy is not None else 0.0, -segment["n"],
            segment["value"])


def segment_metrics(window: MetricWindow, key: str) -> dict:
    """The window's figures per value of ``key``, worst accuracy first (null last).

    Two grouped queries: the 20 most frequent values (ties by value), then every row's
    (bucket, predicted, actual) counts, the bucket being one of those values, the rest, or
    the key's absence (which counts in the overall accuracy only).
    """
    predictions = window.predictions().annotate(segment=segment_value(key))
    top = list(
        predictions.filter(segment__isnull=False)
        .values("segment").annotate(n=Count("id")).order_by("-n", "segment")
        .values_list("segment", flat=True)[:TOP_SEGMENTS]
    )
    cells = (
        predictions.annotate(
            bucket=Case(When(segment__in=top, then=F("segment")), default=Value(None),
                        output_field=CharField()),
            has_key=Case(When(segment__isnull=False, then=Value(1)), default=Value(0)),
        )
        .values("bucket", "has_key", "predicted_outcome", "actual_outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_segment: dict = {}
    every_cell = []
    for cell in cells:
        every_cell.append(cell)
        if cell["has_key"]:
            by_segment.setdefault(cell["bucket"] if cell["bucket"] is not None else OTHER,
                                  []).append(cell)
    overall = _segment_figures(None, every_cell, None)["accuracy"]
    segments = [_segment_figures(value, segment_cells, overall)
                for value, segment_cells in by_segment.items()]
    return {
        "model_version": window.model_version,
        "key": key,
        "overall_accuracy": overall,
        "segments": sorted(segments, key=_worst_first),
    }


def candidate_keys(window: MetricWindow, limit: int | None = None) -> list[str]:
    """The ``features`` and ``metadata`` keys of the window's newest rows, the most common
    first, at most ``MONITORING_SEGMENT_MAX_KEYS`` (a bounded look, not a full scan)."""
    limit = limit or settings.MONITORING_SEGMENT_MAX_KEYS
    newest = window.predictions().order_by("-timestamp").values_list("features", "metadata")
    seen = Counter()
    for features, metadata in newest[:KEY_SAMPLE_ROWS]:
        for document in (features, metadata):
            if isinstance(document, dict):
                seen.update(document.keys())
    return sorted(seen, key=lambda name: (-seen[name], name))[:limit]


def worst_segments(window: MetricWindow, count: int = WORST_SEGMENTS,
                   min_samples: int | None = None) -> list[dict]:
    """The ``count`` segments of lowest accuracy over every candidate key, each with at
    least ``min_samples`` (``MONITORING_SEGMENT_MIN_SAMPLES``) labelled rows.

    One grouped query per key, each giving back at most ``count`` rows.
    """
    if min_samples is None:
        min_samples = settings.MONITORING_SEGMENT_MIN_SAMPLES
    found = []
    for key in candidate_keys(window):
        rows = (
            window.predictions().annotate(segment=segment_value(key))
            .filter(segment__isnull=False)
            .values("segment")
            .annotate(n=Count("id"), num_with_outcome=Count("id", filter=LABELLED),
                      correct=Count("id", filter=CORRECT))
            .filter(num_with_outcome__gte=max(min_samples, 1))
            .annotate(accuracy=Cast(F("correct"), FloatField()) / F("num_with_outcome"))
            .order_by("accuracy", "-num_with_outcome", "segment")[:count]
        )
        found.extend({"key": key, "value": row["segment"], "n": row["n"],
                      "num_with_outcome": row["num_with_outcome"],
                      "accuracy": row["correct"] / row["num_with_outcome"]} for row in rows)
    found.sort(key=lambda s: (s["accuracy"], -s["num_with_outcome"], s["key"], s["value"]))
    return found[:count]
