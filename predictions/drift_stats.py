"""The statistics of a drift report, on feature columns already read (SPEC §8, §13).

Per feature: PSI over the reference's deciles with Kolmogorov–Smirnov for numbers, PSI
with a chi-squared test over the categories for strings and booleans; the bins and the
category shares the pages draw; and the data-quality figures (missing, out of range, new
categories) from the same columns, so that one read serves both. numpy and scipy on whole
arrays; nothing here touches the database.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
from django.conf import settings
from scipy import stats

# The 9 inner deciles of the reference: exactly 0.1, 0.2, …, 0.9.
DECILES = np.arange(1, 10) / 10
SHARE_FLOOR = 1e-4
# Categories whose shares a report keeps (the rest summed as OTHER), and how many of the
# new categories it names (a free-text feature could bring thousands; the count is exact).
TOP_CATEGORIES = 20
OTHER = "(other)"
NEW_CATEGORIES_LISTED = 100

NUMERIC = "numeric"
CATEGORICAL = "categorical"
REFERENCE = "reference"
CURRENT = "current"

NUMBER_TYPES = frozenset({int, float})  # not bool: True is a category, not 1.0
NONE_TYPE = type(None)


@dataclass
class Weighted:
    """A column as distinct values and how many rows hold each (``drift_read`` counts the
    rows' identical JSON texts instead of decoding each): the same statistics as the
    column written out, for a fraction of the work when values repeat."""

    values: list
    counts: np.ndarray

    def __len__(self) -> int:
        return int(self.counts.sum())

    def map(self, function) -> Weighted:
        return Weighted([function(value) for value in self.values], self.counts)

    def numbers(self) -> np.ndarray:
        return np.repeat(np.asarray(self.values, dtype=float), self.counts)

    def tally(self) -> Counter:
        tally = Counter()
        for value, count in zip(self.values, self.counts.tolist(), strict=True):
            tally[value] += count
        return tally


# --- Columns ---------------------------------------------------------------------------
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


def present_values(column) -> tuple[list, set]:
    """The non-null values of a column and the set of their types (one pass if no null).

    A float64 array (numbers read packed, ``drift_read``) has no null."""
    if isinstance(column, np.ndarray):
        return column, {float} if column.size else set()
    if isinstance(column, Weighted):
        kept = [i for i, value in enumerate(column.values) if value is not None]
        present = Weighted([column.values[i] for i in kept], column.counts[kept])
        return present, set(map(type, present.values))
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
    """PSI over the reference's deciles, scipy's two-sample KS test, the bins (shares
    before the floor) and the share of current values outside the reference's range."""
    cut_points = np.quantile(reference, DECILES)
    # A value's bin is the number of cut points strictly below it.
    reference_bins = np.searchsorted(cut_points, reference, side="left")
    current_bins = np.searchsorted(cut_points, current, side="left")
    reference_shares = np.bincount(reference_bins, minlength=10) / reference.size
    current_shares = np.bincount(current_bins, minlength=10) / current.size
    ks = stats.ks_2samp(reference, current)
    outside = np.count_nonzero((current < reference.min()) | (current > reference.max()))
    return {
        "kind": NUMERIC,
        "psi": psi(reference_shares, current_shares),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "bins": {
            "edges": cut_points.tolist(),
            "reference": reference_shares.tolist(),
            "current": current_shares.tolist(),
        },
        "out_of_range_rate": outside / current.size,
    }


def category_shares(categories: list[str], table: np.ndarray, totals: tuple[int, int]) -> dict:
    """Both sides' shares of the most frequent categories (by the sum of the two sides'
    shares, ties by name), the rest summed as ``(other)`` when there are more."""
    shares = table / np.asarray(totals, dtype=float)[:, None]
    order = sorted(range(len(categories)), key=lambda i: (-(shares[0, i] + shares[1, i]),
                                                          categories[i]))
    top = order[:TOP_CATEGORIES]
    values = [categories[i] for i in top]
    reference = [float(shares[0, i]) for i in top]
    current = [float(shares[1, i]) for i in top]
    rest = order[TOP_CATEGORIES:]
    if rest:
        values.append(OTHER)
        reference.append(float(table[0, rest].sum() / totals[0]))
        current.append(float(table[1, rest].sum() / totals[1]))
    return {"values": values, "reference": reference, "current": current}


def categorical_drift(reference: list[str], current: list[str]) -> dict:
    """PSI over the union of categories, the chi-squared test on the 2 × k counts, the
    category shares, and the current categories the reference never saw."""
    reference_counts, current_counts = _tally(reference), _tally(current)
    categories = sorted(set(reference_counts) | set(current_counts))
    table = np.array(
        [
            [reference_counts.get(c, 0) for c in categories],
            [current_counts.get(c, 0) for c in categories],
        ],
        dtype=float,
    )
    chi2 = stats.chi2_contingency(table)
    new = sorted(set(current_counts) - set(reference_counts))
    return {
        "kind": CATEGORICAL,
        "psi": psi(table[0] / len(reference), table[1] / len(current)),
        "chi2_pvalue": float(chi2.pvalue),
        "categories": len(categories),
        "category_shares": category_shares(categories, table, (len(reference), len(current))),
        "new_categories": new[:NEW_CATEGORIES_LISTED],
        "new_category_count": len(new),
    }


def _tally(column) -> Counter:
    return column.tally() if isinstance(column, Weighted) else Counter(column)


def _numbers(column) -> np.ndarray:
    return column.numbers() if isinstance(column, Weighted) else np.asarray(column, dtype=float)


def _as_category(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def feature_drift(reference_column: list, current_column: list, rows: tuple[int, int]) -> dict:
    """The drift and data-quality entry of one feature (or why drift is skipped).

    The columns hold the feature's value per row (None when absent); ``rows`` are each
    side's row counts, rows that are not objects counting as missing. ``missing_rate`` is
    the current side's, and is there even when the feature is skipped.
    """
    reference, reference_types = present_values(reference_column)
    current, current_types = present_values(current_column)
    missing_rate = (rows[1] - len(current)) / rows[1] if rows[1] else None
    for side, values, total in ((REFERENCE, reference, rows[0]), (CURRENT, current, rows[1])):
        missing = total - len(values)
        if missing * 2 > total:
            return {
                "skipped": True,
                "reason": f"missing from {missing} of {total} {side} rows (more than half)",
                "missing_rate": missing_rate,
            }
    value_types = reference_types | current_types
    if value_types <= NUMBER_TYPES:
        entry = numeric_drift(_numbers(reference), _numbers(current))
        p_value = entry["ks_pvalue"]
    else:
        if not value_types <= {str}:
            reference, current = (
                column.map(_as_category) if isinstance(column, Weighted)
                else [_as_category(v) for v in column] for column in (reference, current)
            )
        entry = categorical_drift(reference, current)
        p_value = entry["chi2_pvalue"]
    entry["drifted"] = bool(
        entry["psi"] >= settings.MONITORING_DRIFT_PSI or p_value < settings.MONITORING_DRIFT_PVALUE
    )
    entry["psi"] = _finite_or_none(entry["psi"])
    entry["missing_rate"] = missing_rate
    return entry


def _largest(values):
    values = [value for value in values if value is not None]
    return max(values) if values else None


def data_quality_summary(features: dict) -> dict:
    """The report's data-quality figures (SPEC §13), from its feature entries: the largest
    missing rate (skipped features too), the largest out-of-range rate (numeric features),
    and the number of new categories over every categorical feature."""
    entries = features.values()
    return {
        "max_feature_missing_rate": _largest(e.get("missing_rate") for e in entries),
        "max_out_of_range_rate": _largest(e.get("out_of_range_rate") for e in entries),
        "new_category_count": sum(e.get("new_category_count", 0) for e in entries),
    }


def compare_columns(reference_columns: dict, current_columns: dict,
                    rows: tuple[int, int]) -> dict:
    """Per-feature entries, the dataset summary and data quality for two sides' columns."""
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
        **data_quality_summary(features),
    }


def compare_features(reference_rows: list, current_rows: list) -> dict:
    """``compare_columns`` for two lists of ``features`` dicts."""
    return compare_columns(
        feature_columns(reference_rows), feature_columns(current_rows),
        (len(reference_rows), len(current_rows)),
    )
