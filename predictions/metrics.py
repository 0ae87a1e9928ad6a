"""The metrics of SPEC §4 and §8 over a window, computed in the database.

A window's figures come from its sums (``predictions.window_sums``): whole hours from the
hourly aggregates that every write keeps (``predictions.rollups``), and the partial hours
at its edges from one grouped scan of their rows (``predictions.row_scans``), so the cost
does not grow with the length of the window or the number of stored predictions. Only the
ROC AUC (a ranking of scores, ``row_scans.roc_auc``) and the latency percentiles
(``percentile_disc`` on PostgreSQL, ROW_NUMBER on SQLite) read the window's rows. Nothing
loads the rows into Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from predictions.choices import MetricName
from predictions.models import CALIBRATION_BINS, Prediction
from predictions.rollups import HOUR_SECONDS, hour_start
from predictions.row_scans import roc_auc, scan_sums
from predictions.series import hour_sums
from predictions.window_sums import WindowSums

# The longest window a caller may ask for: a century (beyond it, dates overflow).
MAX_WINDOW_MINUTES = 100 * 366 * 24 * 60
M = MetricName


@dataclass(frozen=True)
class MetricWindow:
    """Predictions of one version (None: all) with timestamp in [start, end).

    ``start`` None: from the first; ``end`` None: no upper bound (a window "the last N
    minutes" also counts predictions stamped in the future, as §4 defines it).
    """

    model_version: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def last(cls, model_version: str | None = None, window_minutes: int | None = 60,
             now: datetime | None = None) -> MetricWindow:
        if window_minutes is None:
            return cls(model_version)
        now = now or timezone.now()
        return cls(model_version, now - timedelta(minutes=window_minutes))

    def predictions(self) -> QuerySet[Prediction]:
        rows = Prediction.objects.all()
        if self.model_version is not None:
            rows = rows.filter(model_version=self.model_version)
        if self.start is not None:
            rows = rows.filter(timestamp__gte=self.start)
        if self.end is not None:
            rows = rows.filter(timestamp__lt=self.end)
        return rows.order_by()


def window_predictions(
    model_version: str | None = None,
    window_minutes: int | None = 60,
    now: datetime | None = None,
) -> QuerySet[Prediction]:
    """Predictions with timestamp ≥ now − window (None: all time), of one version or all."""
    return MetricWindow.last(model_version, window_minutes, now).predictions()


def _ceil_hour(moment: datetime) -> int:
    return -(-int(moment.timestamp()) // HOUR_SECONDS)


def window_sums(window: MetricWindow) -> WindowSums:
    """The window's sums: whole hours from the aggregates, partial edge hours scanned."""
    first_hour = None if window.start is None else _ceil_hour(window.start)
    end_hour = None if window.end is None else int(window.end.timestamp()) // HOUR_SECONDS
    if first_hour is not None and end_hour is not None and first_hour >= end_hour:
        # No whole hour inside: a short scan.
        return scan_sums(window.model_version, [(window.start, window.end)])
    sums = hour_sums(window.model_version, first_hour, end_hour)
    edges = []
    if first_hour is not None and hour_start(first_hour) > window.start:
        edges.append((window.start, hour_start(first_hour)))
    if end_hour is not None and hour_start(end_hour) < window.end:
        edges.append((hour_start(end_hour), window.end))
    if edges:  # both edges in one statement
        sums.merge(scan_sums(window.model_version, edges))
    return sums


def _percentiles(predictions: QuerySet[Prediction], n: int, percents: tuple[int, ...]) -> list:
    """Nearest-rank percentiles (the ⌈p·n⌉-th smallest latency), with one sort in SQL."""
    # Integer ceiling: no float rounding surprises (0.95 · n is not always exact).
    ranks = [max(1, -(-percent * n // 100)) for percent in percents]
    with_latency = predictions.filter(latency_ms__isnull=False)
    if connections[predictions.db].vendor == "postgresql":
        # One ordered-set aggregate: a single sort, no row numbers materialised.
        # percentile_disc(f) takes row ceil(f·n); (rank − ½)/n lands on `rank` whatever
        # the float rounding of the division and the product.
        sql, params = with_latency.values("latency_ms").order_by().query.sql_with_params()
        with connections[predictions.db].cursor() as cursor:
            cursor.execute(
                "SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY latency_ms) "
                f"FROM ({sql}) window_latencies",
                [[(rank - 0.5) / n for rank in ranks], *params],
            )
            return list(cursor.fetchone()[0])
    ranked = (
        with_latency.annotate(
            latency_rank=Window(RowNumber(), order_by=F("latency_ms").asc())
        )
        .filter(latency_rank__in=sorted(set(ranks)))
        .values_list("latency_rank", "latency_ms")
    )
    by_rank = dict(ranked)
    return [by_rank[rank] for rank in ranks]


# --- the public functions -----------------------------------------------------------------


def _latency(window: MetricWindow, sums: WindowSums) -> dict:
    p50 = p95 = None
    if sums.with_latency:
        p50, p95 = _percentiles(window.predictions(), sums.with_latency, (50, 95))
    return {M.LATENCY_P50_MS.value: p50, M.LATENCY_P95_MS.value: p95}


def _ranked(window: MetricWindow, sums: WindowSums, figures: dict) -> float | None:
    if figures["average"] != "binary":
        return None
    actual = {a for (_, a), cell in sums.cells.items() if cell[0]}
    if actual != {0, 1}:
        return None
    return roc_auc(window.model_version, [(window.start, window.end)])


PERFORMANCE_FIGURES = (
    M.NUM_PREDICTIONS.value, M.AVG_CONFIDENCE.value, M.MIN_CONFIDENCE.value,
    M.MAX_CONFIDENCE.value, M.CONFIDENCE_STD.value, M.POSITIVE_RATE.value,
    M.PREDICTION_ENTROPY.value,
)


def performance_metrics(window: MetricWindow) -> dict:
    """Label-free figures: counts, confidence spread, latency percentiles, entropy."""
    sums = window_sums(window)
    figures = sums.figures()
    return {**{name: figures[name] for name in PERFORMANCE_FIGURES}, **_latency(window, sums)}


def accuracy_metrics(window: MetricWindow) -> dict:
    """True accuracy over the labelled predictions (never confidence as a stand-in)."""
    figures = window_sums(window).figures()
    return {name: figures[name] for name in (M.ACCURACY.value, "num_with_outcome", "num_correct")}


def calibration_metrics(window: MetricWindow, n_bins: int = CALIBRATION_BINS) -> dict:
    """Equal-width reliability bins over the labelled predictions, ECE and MCE."""
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    if n_bins == CALIBRATION_BINS:
        sums = window_sums(window)
    else:  # the aggregates keep ten bins; any other count reads the labelled rows
        sums = scan_sums(window.model_version, [(window.start, window.end)], labelled=True,
                         n_bins=n_bins)
    figures = sums.figures()
    return {
        M.EXPECTED_CALIBRATION_ERROR.value: figures[M.EXPECTED_CALIBRATION_ERROR.value],
        "max_calibration_error": figures["max_calibration_error"],
        "num_bins": n_bins,
        "total_predictions": figures["num_with_outcome"],
        "bin_metrics": sums.calibration_bins(),
    }


CLASSIFICATION_FIGURES = (
    M.PRECISION.value, M.RECALL.value, M.F1_SCORE.value, M.BRIER_SCORE.value, "average",
    "num_with_outcome",
)


def classification_metrics(window: MetricWindow) -> dict:
    """Precision, recall, F1 (binary or macro, as scikit-learn), ROC AUC and Brier score."""
    sums = window_sums(window)
    figures = sums.figures()
    return {
        **{name: figures[name] for name in CLASSIFICATION_FIGURES},
        M.ROC_AUC.value: _ranked(window, sums, figures),
    }


def metrics_of(window: MetricWindow, n_bins: int = CALIBRATION_BINS) -> dict:
    """Every §4/§8 prediction metric of one window, keyed by MetricName, plus the bins."""
    sums = window_sums(window)
    figures = sums.figures()
    figures.update(_latency(window, sums))
    figures[M.ROC_AUC.value] = _ranked(window, sums, figures)
    figures["calibration_bins"] = sums.calibration_bins()
    if n_bins != CALIBRATION_BINS:
        calibration = calibration_metrics(window, n_bins)
        figures[M.EXPECTED_CALIBRATION_ERROR.value] = calibration[
            M.EXPECTED_CALIBRATION_ERROR.value
        ]
        figures["max_calibration_error"] = calibration["max_calibration_error"]
        figures["calibration_bins"] = calibration["bin_metrics"]
    return figures


def window_metrics(
    model_version: str | None,
    window_minutes: int | None,
    now: datetime | None = None,
    n_bins: int = CALIBRATION_BINS,
) -> dict:
    """``metrics_of`` the window "the last ``window_minutes`` before ``now``"."""
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    return metrics_of(MetricWindow.last(model_version, window_minutes, now), n_bins)
