"""Feature drift of a model version: its current window against its reference (SPEC §8).

One service, ``compute_drift_report``, used by the snapshot service (so that
``run_monitor`` and ``compute_snapshots`` produce reports), by ``POST
drift-reports/compute/`` and by the benchmark. Each side is read once, only the
``features`` column, up to ``MONITORING_DRIFT_SAMPLE`` rows (beyond it, an evenly spread
sample by id, so the same rows give the same report); the statistics are numpy and scipy
on whole arrays: PSI over the reference's deciles, Kolmogorov–Smirnov for numbers, and
PSI with a chi-squared test over the categories for strings and booleans.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

import numpy as np
from django.conf import settings
from django.db.models import F, Min, Window
from django.db.models.functions import Mod, RowNumber
from django.utils import timezone
from scipy import stats

from predictions.choices import MetricName
from predictions.models import DriftReport, ModelVersion, Prediction

# The 9 inner deciles of the reference: exactly 0.1, 0.2, …, 0.9.
DECILES = np.arange(1, 10) / 10
SHARE_FLOOR = 1e-4
READ_CHUNK_ROWS = 5000

NUMERIC = "numeric"
CATEGORICAL = "categorical"
REFERENCE = "reference"
CURRENT = "current"


class InsufficientData(Exception):
    """One side of the comparison has fewer rows than ``MONITORING_DRIFT_MIN_ROWS``."""

    def __init__(self, side: str, rows: int, needed: int):
        self.side, self.rows, self.needed = side, rows, needed
        super().__init__(
            f"Too little data in the {side} window: {rows} prediction(s), {needed} needed."
        )


class DriftWindowError(ValueError):
    """The windows asked for cannot be compared (empty, or overlapping the reference)."""


@dataclass(frozen=True)
class TimeWindow:
    """A time window of one version's predictions: [start, end), or [start, end] when
    ``closed`` (a snapshot's window ends at its moment, inclusive)."""

    start: datetime
    end: datetime
    closed: bool = False

    def overlaps(self, other: TimeWindow) -> bool:
        starts_before_other_ends = self.start <= other.end if other.closed else (
            self.start < other.end
        )
        other_starts_before_end = other.start <= self.end if self.closed else (
            other.start < self.end
        )
        return starts_before_other_ends and other_starts_before_end


# --- Windows ------------------------------------------------------------------------
def _version_string(model_version) -> str:
    return model_version.version if isinstance(model_version, ModelVersion) else model_version


def reference_window(model_version) -> TimeWindow | None:
    """The version's drift reference: its registered window, else its first N days.

    N is ``MONITORING_DRIFT_REFERENCE_DAYS``; a missing start is the version's first
    prediction. None when the version has no prediction to start from.
    """
    if not isinstance(model_version, ModelVersion):
        model_version = ModelVersion.objects.filter(version=model_version).first() or str(
            model_version
        )
    version = _version_string(model_version)
    start = end = None
    if isinstance(model_version, ModelVersion):
        start, end = model_version.reference_start, model_version.reference_end
    if start is None:
        start = Prediction.objects.filter(model_version=version).aggregate(
            first=Min("timestamp")
        )["first"]
        if start is None:
            return None
        if end is not None and end <= start:
            return None
    if end is None:
        end = start + timedelta(days=settings.MONITORING_DRIFT_REFERENCE_DAYS)
    return TimeWindow(start, end)


# --- Reading --------------------------------------------------------------------------
def _side_predictions(version: str, window: TimeWindow):
    until = {"timestamp__lte" if window.closed else "timestamp__lt": window.end}
    return Prediction.objects.filter(
        model_version=version, timestamp__gte=window.start, **until
    ).order_by()


def _count(version: str, window: TimeWindow) -> int:
    return _side_predictions(version, window).count()


def read_features(version: str, window: TimeWindow, rows: int, sample: int) -> list:
    """The ``features`` of the window's predictions: all of them, or an even sample.

    Beyond ``sample`` rows, every k-th row by id (k = ⌈rows / sample⌉), at most
    ``sample`` of them: deterministic, and spread over the whole window.
    """
    predictions = _side_predictions(version, window)
    if rows > sample:
        stride = -(-rows // sample)
        predictions = (
            predictions.annotate(position=Window(RowNumber(), order_by=F("id").asc()))
            .annotate(stride_slot=Mod(F("position") - 1, stride))
            .filter(stride_slot=0)
            .order_by("id")[:sample]
        )
    return list(predictions.values_list("features", flat=True).iterator(chunk_size=READ_CHUNK_ROWS))


def feature_columns(feature_rows: list) -> dict[str, list]:
    """Feature name → its value in every dict row (None where absent), built a column at a
    time by C loops. A key whose values are all null is still a feature.

    Rows usually all carry the same keys. When every row has as many keys as the first
    and each of the first row's keys is found in every row, no row can have another key;
    otherwise the names are the union of every row's keys.
    """
    rows = feature_rows
    if set(map(type, rows)) != {dict}:
        rows = [features for features in rows if isinstance(features, dict)]
    if not rows:
        return {}
    first = rows[0]
    if set(map(len, rows)) == {len(first)}:
        try:
            return {name: list(map(itemgetter(name), rows)) for name in sorted(first)}
        except KeyError:
            pass  # same number of keys, not the same keys
    return {
        name: [row.get(name) for row in rows] for name in sorted(set().union(*rows))
    }


def present_values(column: list) -> tuple[list, set]:
    """The non-null values of a column and the set of their types (one pass if no null)."""
    value_types = set(map(type, column))
    if NONE_TYPE in value_types:
        value_types.discard(NONE_TYPE)
        column = [value for value in column if value is not None]
    return column, value_types


# --- Statistics ----------------------------------------------------------------------
def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Σ (cur − ref)·ln(cur/ref) with both sides' shares floored at 1e-4."""
    ref = np.maximum(reference_shares, SHARE_FLOOR)
    cur = np.maximum(current_shares, SHARE_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_drift(reference: np.ndarray, current: np.ndarray) -> dict:
    """PSI over the reference's deciles, and scipy's two-sample KS test."""
    cut_points = np.quantile(reference, DECILES)
    # A value's bin is the number of cut points strictly below it.
    reference_bins = np.searchsorted(cut_points, reference, side="left")
    current_bins = np.searchsorted(cut_points, current, side="left")
    reference_shares = np.bincount(reference_bins, minlength=10) / reference.size
    current_shares = np.bincount(current_bins, minlength=10) / current.size
    ks = stats.ks_2samp(reference, current)
    return {
        "kind": NUMERIC,
        "psi": psi(reference_shares, current_shares),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def categorical_drift(reference: list[str], current: list[str]) -> dict:
    """PSI over the union of categories, and the chi-squared test on the 2 × k counts."""
    reference_counts, current_counts = Counter(reference), Counter(current)
    categories = sorted(set(reference_counts) | set(current_counts))
    table = np.array(
        [
            [reference_counts.get(c, 0) for c in categories],
            [current_counts.get(c, 0) for c in categories],
        ],
        dtype=float,
    )
    chi2 = stats.chi2_contingency(table)
    return {
        "kind": CATEGORICAL,
        "psi": psi(table[0] / len(reference), table[1] / len(current)),
        "chi2_pvalue": float(chi2.pvalue),
        "categories": len(categories),
    }


NUMBER_TYPES = frozenset({int, float})  # not bool: True is a category, not 1.0
NONE_TYPE = type(None)


def _as_category(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def feature_drift(reference_column: list, current_column: list, rows: tuple[int, int]) -> dict:
    """The drift entry of one feature (or why it is skipped).

    The columns hold the feature's value per row (None when absent); ``rows`` are each
    side's row counts, rows that are not objects counting as missing.
    """
    reference, reference_types = present_values(reference_column)
    current, current_types = present_values(current_column)
    for side, values, total in ((REFERENCE, reference, rows[0]), (CURRENT, current, rows[1])):
        missing = total - len(values)
        if missing * 2 > total:
            return {
                "skipped": True,
                "reason": f"missing from {missing} of {total} {side} rows (more than half)",
            }
    value_types = reference_types | current_types
    if value_types <= NUMBER_TYPES:
        entry = numeric_drift(np.asarray(reference, dtype=float), np.asarray(current, dtype=float))
        p_value = entry["ks_pvalue"]
    else:
        if not value_types <= {str}:
            reference = [_as_category(v) for v in reference]
            current = [_as_category(v) for v in current]
        entry = categorical_drift(reference, current)
        p_value = entry["chi2_pvalue"]
    entry["drifted"] = bool(
        entry["psi"] >= settings.MONITORING_DRIFT_PSI or p_value < settings.MONITORING_DRIFT_PVALUE
    )
    entry["psi"] = _finite_or_none(entry["psi"])
    return entry


def compare_features(reference_rows: list, current_rows: list) -> dict:
    """Per-feature entries and the dataset summary for two lists of ``features`` dicts."""
    reference_columns = feature_columns(reference_rows)
    current_columns = feature_columns(current_rows)
    rows = (len(reference_rows), len(current_rows))
    features = {
        name: feature_drift(
            reference_columns.get(name, []), current_columns.get(name, []), rows
        )
        for name in sorted(set(reference_columns) | set(current_columns))
    }
    compared = [entry for entry in features.values() if not entry.get("skipped")]
    drifted = sum(1 for entry in compared if entry["drifted"])
    ratio = drifted / len(compared) if compared else None
    scores = [entry["psi"] for entry in compared if entry["psi"] is not None]
    return {
        "features": features,
        "num_features": len(compared),
        "num_drifted_features": drifted,
        "feature_drift_ratio": ratio,
        "drift_score": max(scores) if scores else None,
        "dataset_drift_detected": ratio is not None
        and ratio >= settings.MONITORING_DRIFT_SHARE,
    }


# --- The report ------------------------------------------------------------------------
def compute_drift_report(
    model_version,
    current_start: datetime,
    current_end: datetime,
    reference_start: datetime | None = None,
    reference_end: datetime | None = None,
    now: datetime | None = None,
) -> DriftReport:
    """Compare ``model_version``'s current window with its reference; store the report.

    ``model_version`` is a version string or a ModelVersion. Without an explicit
    reference, the version's own (``reference_window``) is used. Raises
    ``InsufficientData`` (nothing stored) when either side has fewer than
    ``MONITORING_DRIFT_MIN_ROWS`` predictions, ``DriftWindowError`` when the windows are
    empty or overlap.
    """
    now = now or timezone.now()
    version = _version_string(model_version)
    current = TimeWindow(current_start, current_end, closed=True)
    if current.start >= current.end:
        raise DriftWindowError("current_start must be before current_end.")
    if reference_start is not None and reference_end is not None:
        reference = TimeWindow(reference_start, reference_end)
    else:
        reference = reference_window(model_version)
        if reference is None:
            raise InsufficientData(REFERENCE, 0, settings.MONITORING_DRIFT_MIN_ROWS)
        reference = TimeWindow(
            reference_start or reference.start, reference_end or reference.end
        )
    if reference.start >= reference.end:
        raise DriftWindowError("The reference window must start before it ends.")
    if current.overlaps(reference):
        raise DriftWindowError(
            f"The current window ({current.start.isoformat()} – {current.end.isoformat()}) "
            f"overlaps the reference window ({reference.start.isoformat()} – "
            f"{reference.end.isoformat()})."
        )

    needed = settings.MONITORING_DRIFT_MIN_ROWS
    sample = settings.MONITORING_DRIFT_SAMPLE
    counts = {}
    for side, window in ((REFERENCE, reference), (CURRENT, current)):
        counts[side] = _count(version, window)
        if counts[side] < needed:
            raise InsufficientData(side, counts[side], needed)
    reference_rows = read_features(version, reference, counts[REFERENCE], sample)
    current_rows = read_features(version, current, counts[CURRENT], sample)
    summary = compare_features(reference_rows, current_rows)
    return DriftReport.objects.create(
        model_version=version,
        created_at=now,
        reference_start=reference.start,
        reference_end=reference.end,
        reference_rows=len(reference_rows),
        current_start=current.start,
        current_end=current.end,
        current_rows=len(current_rows),
        **summary,
    )


def report_metrics(report: DriftReport) -> dict:
    """The rule metrics a drift report gives a snapshot (component ``drift``)."""
    return {
        MetricName.FEATURE_DRIFT_RATIO.value: report.feature_drift_ratio,
        MetricName.NUM_DRIFTED_FEATURES.value: report.num_drifted_features,
        MetricName.DATASET_DRIFT_DETECTED.value: 1.0 if report.dataset_drift_detected else 0.0,
        MetricName.DRIFT_SCORE.value: report.drift_score,
    }


def snapshot_drift_metrics(model_version: str, window_minutes: int, now: datetime) -> dict:
    """Drift figures for a snapshot's window, storing the report; {} when there is none.

    A report needs a reference window that does not overlap the snapshot's window and
    enough rows on both sides; otherwise there is no report and no drift metric.
    """
    current = TimeWindow(now - timedelta(minutes=window_minutes), now, closed=True)
    reference = reference_window(model_version)
    if reference is None or current.overlaps(reference):
        return {}
    try:
        report = compute_drift_report(
            model_version, current.start, current.end, reference.start, reference.end, now=now
        )
    except (InsufficientData, DriftWindowError):
        return {}
    return {**report_metrics(report), "drift_report_id": report.pk}
