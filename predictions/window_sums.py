"""The sums a window's §4 figures are made of, and the figures made from them.

A window's sums come from the hourly aggregates (``PredictionHour``/``OutcomeHour``), from
a grouped scan of rows (the partial hours at a window's edges), or both added together;
``figures()`` turns them into every figure that sums determine (all of §4/§8 except ROC
AUC and the latency percentiles, which rank rows). Series points, trailing windows for
rule previews and the metric endpoints all go through it, so a figure has one formula.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from predictions.choices import MetricName
from predictions.models import CALIBRATION_BINS

M = MetricName


def sample_std(n: int, shifted_sum: float, shifted_squares: float, low, high) -> float | None:
    """Sample standard deviation (ddof = 1) of n confidences from their sums around ½.

    Why this form: it needs only sums (and min/max), which add up across groups and across
    stored per-hour buckets, with no second pass over the rows. Sums of c and c² would
    cancel catastrophically; around a fixed shift in the middle of [0, 1] the terms stay
    small, so the error of the variance is ~1e-17, far below 1e-12 for any real spread of
    confidences. What remains is the square root of that noise when every confidence is
    the same (4.97e-09 for ten 0.8s): the spread of identical values is exactly 0.
    """
    if n < 2:
        return None
    if low == high:
        return 0.0
    variance = (shifted_squares - shifted_sum * shifted_sum / n) / (n - 1)
    return math.sqrt(max(0.0, variance))


def confusion_scores(labelled: list[dict]) -> dict:
    """Precision, recall and F1 of labelled cells (``predicted_outcome``, ``actual_outcome``,
    ``n``): binary with class 1 positive when every class is 0 or 1, else the macro average
    over the classes present, zero division giving 0 — as scikit-learn computes them.
    """
    classes = sorted(
        {g["predicted_outcome"] for g in labelled} | {g["actual_outcome"] for g in labelled}
    )
    true_pos = dict.fromkeys(classes, 0)
    predicted = dict.fromkeys(classes, 0)
    actual = dict.fromkeys(classes, 0)
    for g in labelled:
        predicted[g["predicted_outcome"]] += g["n"]
        actual[g["actual_outcome"]] += g["n"]
        if g["predicted_outcome"] == g["actual_outcome"]:
            true_pos[g["actual_outcome"]] += g["n"]

    def scores(label):
        tp, p_count, a_count = true_pos[label], predicted[label], actual[label]
        precision = tp / p_count if p_count else 0.0
        recall = tp / a_count if a_count else 0.0
        f1 = 2 * tp / (p_count + a_count) if p_count + a_count else 0.0
        return precision, recall, f1

    binary = set(classes) <= {0, 1}
    if binary:
        precision, recall, f1 = scores(1) if 1 in classes else (0.0, 0.0, 0.0)
    else:
        per_class = [scores(label) for label in classes]
        precision, recall, f1 = (
            sum(column) / len(classes) for column in zip(*per_class, strict=True)
        )
    return {
        M.PRECISION.value: precision,
        M.RECALL.value: recall,
        M.F1_SCORE.value: f1,
        "average": "binary" if binary else "macro",
        "both_classes": binary and bool(actual.get(0)) and bool(actual.get(1)),
    }


@dataclass
class WindowSums:
    """Additive sums over a set of predictions (and min/max, which only ever grow)."""

    n: int = 0
    confidence_sum: float = 0.0
    shifted_sum: float = 0.0
    shifted_squares: float = 0.0
    entropy_sum: float = 0.0
    positives: int = 0
    with_latency: int = 0
    low: float | None = None
    high: float | None = None
    # (predicted, actual) → [count, confidence sum, squared error of the class-1 score]
    cells: dict = field(default_factory=dict)
    # Labelled predictions per equal-width calibration bin: count, correct, confidence sum.
    n_bins: int = CALIBRATION_BINS
    bin_count: list = field(default=None)
    bin_correct: list = field(default=None)
    bin_confidence: list = field(default=None)

    def __post_init__(self):
        self.bin_count = self.bin_count or [0] * self.n_bins
        self.bin_correct = self.bin_correct or [0] * self.n_bins
        self.bin_confidence = self.bin_confidence or [0.0] * self.n_bins

    def add_label_free(self, n, confidence_sum, shifted_sum, shifted_squares, entropy_sum,
                       positives, with_latency, low, high, sign: int = 1) -> None:
        self.n += sign * n
        self.confidence_sum += sign * confidence_sum
        self.shifted_sum += sign * shifted_sum
        self.shifted_squares += sign * shifted_squares
        self.entropy_sum += sign * entropy_sum
        self.positives += sign * positives
        self.with_latency += sign * with_latency
        if sign > 0 and low is not None:
            self.low = low if self.low is None else min(self.low, low)
            self.high = high if self.high is None else max(self.high, high)

    def add_cell(self, predicted, actual, n, confidence_sum, squared_error, sign=1) -> None:
        cell = self.cells.setdefault((predicted, actual), [0, 0.0, 0.0])
        cell[0] += sign * n
        cell[1] += sign * confidence_sum
        cell[2] += sign * squared_error

    def add_bin(self, index, count, correct, confidence_sum, sign=1) -> None:
        self.bin_count[index] += sign * count
        self.bin_correct[index] += sign * correct
        self.bin_confidence[index] += sign * confidence_sum

    def merge(self, other: WindowSums, sign: int = 1) -> None:
        """Add (or, with sign −1, take away) another set's sums; min/max only grow."""
        self.add_label_free(other.n, other.confidence_sum, other.shifted_sum,
                            other.shifted_squares, other.entropy_sum, other.positives,
                            other.with_latency, other.low, other.high, sign)
        for (predicted, actual), (n, confidence_sum, squared_error) in other.cells.items():
            self.add_cell(predicted, actual, n, confidence_sum, squared_error, sign)
        for i in range(self.n_bins):
            self.add_bin(i, other.bin_count[i], other.bin_correct[i], other.bin_confidence[i],
                         sign)

    # --- the figures ----------------------------------------------------------------

    def labelled_cells(self) -> list[dict]:
        return [
            {"predicted_outcome": p, "actual_outcome": a, "n": n, "confidence_sum": c,
             "squared_error": e}
            for (p, a), (n, c, e) in sorted(self.cells.items()) if n
        ]

    def calibration_bins(self) -> list[dict]:
        """The reliability bins of the labelled predictions (empty bins left out)."""
        bins, n_bins = [], self.n_bins
        for i in range(n_bins):
            count = self.bin_count[i]
            if not count:
                continue
            accuracy = self.bin_correct[i] / count
            mean_confidence = self.bin_confidence[i] / count
            closing = "]" if i == n_bins - 1 else ")"
            bins.append({
                "bin": i,
                "bin_range": f"[{i / n_bins:.2f}, {(i + 1) / n_bins:.2f}{closing}",
                "count": count,
                "mean_confidence": mean_confidence,
                "accuracy": accuracy,
                "gap": abs(accuracy - mean_confidence),
            })
        return bins

    def figures(self) -> dict:
        """Every figure the sums determine, keyed by metric name; None where undefined."""
        n = self.n
        cells = self.labelled_cells()
        labelled = sum(cell["n"] for cell in cells)
        correct = sum(c["n"] for c in cells if c["predicted_outcome"] == c["actual_outcome"])
        result = {
            M.NUM_PREDICTIONS.value: n,
            "num_with_outcome": labelled,
            "num_correct": correct,
            M.AVG_CONFIDENCE.value: self.confidence_sum / n if n else None,
            M.MIN_CONFIDENCE.value: self.low if n else None,
            M.MAX_CONFIDENCE.value: self.high if n else None,
            M.CONFIDENCE_STD.value: sample_std(
                n, self.shifted_sum, self.shifted_squares, self.low, self.high
            ),
            M.POSITIVE_RATE.value: self.positives / n if n else None,
            M.PREDICTION_ENTROPY.value: self.entropy_sum / n if n else None,
            M.LABEL_COVERAGE.value: labelled / n if n else None,
            M.ACCURACY.value: None,
            M.PRECISION.value: None,
            M.RECALL.value: None,
            M.F1_SCORE.value: None,
            M.BRIER_SCORE.value: None,
            M.EXPECTED_CALIBRATION_ERROR.value: None,
            "max_calibration_error": None,
            M.OVERCONFIDENCE_GAP.value: None,
            "average": None,
        }
        if not labelled:
            return result
        accuracy = correct / labelled
        scores = confusion_scores(cells)
        bins = self.calibration_bins()
        result.update({
            M.ACCURACY.value: accuracy,
            M.PRECISION.value: scores[M.PRECISION.value],
            M.RECALL.value: scores[M.RECALL.value],
            M.F1_SCORE.value: scores[M.F1_SCORE.value],
            "average": scores["average"],
            # Σ count/N · |accuracy − mean confidence| = Σ |correct − Σ confidence| / N.
            M.EXPECTED_CALIBRATION_ERROR.value: sum(
                abs(self.bin_correct[i] - self.bin_confidence[i]) for i in range(self.n_bins)
            ) / labelled,
            "max_calibration_error": max(b["gap"] for b in bins) if bins else None,
            M.OVERCONFIDENCE_GAP.value: sum(c["confidence_sum"] for c in cells) / labelled
            - accuracy,
        })
        if scores["average"] == "binary":
            result[M.BRIER_SCORE.value] = sum(c["squared_error"] for c in cells) / labelled
        return result
