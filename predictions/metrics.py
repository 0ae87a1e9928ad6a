"""The metrics of SPEC §4 and §8 over a window, computed in the database.

A window's figures come from its sums (``predictions.window_sums``): whole hours from the
hourly aggregates that every write keeps (``predictions.rollups``), and the partial hours
at its edges from one grouped scan of their rows, so the cost does not grow with the
length of the window or the number of stored predictions. Only the ROC AUC (a ranking of
scores) and the latency percentiles (``percentile_disc`` on PostgreSQL, ROW_NUMBER on
SQLite) read the window's rows. Nothing loads the rows into Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Floor, Least, Ln, RowNumber
from django.utils import timezone

from predictions.choices import MetricName
from predictions.models import CALIBRATION_BINS, Prediction
from predictions.rollups import HOUR_SECONDS, hour_start
from predictions.series import hour_sums
from predictions.window_sums import WindowSums

LABELLED = Q(actual_outcome__isnull=False)
CORRECT = Q(actual_outcome__isnull=False, predicted_outcome=F("actual_outcome"))
# The confidence spread comes from sums over (c − SHIFT): see window_sums.sample_std.
CONFIDENCE_SHIFT = 0.5
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


# --- SQL expressions ---------------------------------------------------------------------


def _class_one_score():
    """The score of class 1: confidence when class 1 was predicted, else 1 − confidence."""
    return Case(
        When(predicted_outcome=1, then=F("confidence")),
        default=Value(1.0) - F("confidence"),
        output_field=FloatField(),
    )


def _entropy():
    """−c·ln c − (1−c)·ln(1−c), with 0·ln 0 = 0 (the CASE keeps ln away from zero)."""
    c = F("confidence")
    return Case(
        When(Q(confidence__lte=0.0) | Q(confidence__gte=1.0), then=Value(0.0)),
        default=-(c * Ln(c)) - (Value(1.0) - c) * Ln(Value(1.0) - c),
        output_field=FloatField(),
    )


def calibration_bin(n_bins: int):
    """A prediction's calibration bin (SPEC §4): min(floor(confidence · n_bins), n_bins − 1)."""
    return Least(
        Cast(Floor(F("confidence") * Value(float(n_bins))), IntegerField()),
        Value(n_bins - 1),
        output_field=IntegerField(),
    )


# --- the queries -------------------------------------------------------------------------


def _aggregates() -> dict:
    shifted = F("confidence") - Value(CONFIDENCE_SHIFT)
    error = _class_one_score() - Cast("actual_outcome", FloatField())
    return {
        "confidence_sum": Sum("confidence"),
        "shifted_sum": Sum(shifted, output_field=FloatField()),
        "shifted_squares": Sum(shifted * shifted, output_field=FloatField()),
        "low": Min("confidence"),
        "high": Max("confidence"),
        "entropy_sum": Sum(_entropy()),
        "with_latency": Count("latency_ms"),
        # Null in unlabelled groups; the Brier score's numerator in labelled ones.
        "squared_error": Sum(error * error, output_field=FloatField()),
    }


def scan_sums_by(predictions: QuerySet[Prediction], key: str | None = None,
                 n_bins: int = CALIBRATION_BINS) -> dict:
    """The sums of a set of rows per value of ``key`` (a column, e.g. model_version; None:
    one group keyed None), from one grouped pass (key × bin × predicted × actual class).

    At most keys × n_bins × classes² rows come back, whatever the number of predictions.
    """
    columns = ("calibration_bin", "predicted_outcome", "actual_outcome")
    sums: dict = {}
    for g in (
        predictions.annotate(calibration_bin=calibration_bin(n_bins))
        .values(*((key,) if key else ()), *columns)
        .annotate(n=Count("id"), **_aggregates())
        .order_by()
    ):
        group = sums.setdefault(g[key] if key else None, WindowSums(n_bins=n_bins))
        predicted, actual, n = g["predicted_outcome"], g["actual_outcome"], g["n"]
        group.add_label_free(
            n, g["confidence_sum"], g["shifted_sum"], g["shifted_squares"], g["entropy_sum"],
            n if predicted == 1 else 0, g["with_latency"], g["low"], g["high"],
        )
        if actual is not None:
            group.add_cell(predicted, actual, n, g["confidence_sum"], g["squared_error"])
            group.add_bin(g["calibration_bin"], n, n if predicted == actual else 0,
                          g["confidence_sum"])
    return sums


def scan_sums(predictions: QuerySet[Prediction], n_bins: int = CALIBRATION_BINS) -> WindowSums:
    """The sums of a set of rows, from one grouped pass."""
    return scan_sums_by(predictions, None, n_bins).get(None) or WindowSums(n_bins=n_bins)


def _ceil_hour(moment: datetime) -> int:
    return -(-int(moment.timestamp()) // HOUR_SECONDS)


def window_sums(window: MetricWindow) -> WindowSums:
    """The window's sums: whole hours from the aggregates, partial edge hours scanned."""
    first_hour = None if window.start is None else _ceil_hour(window.start)
    end_hour = None if window.end is None else int(window.end.timestamp()) // HOUR_SECONDS
    if first_hour is not None and end_hour is not None and first_hour >= end_hour:
        return scan_sums(window.predictions())  # no whole hour inside: a short scan
    sums = hour_sums(window.model_version, first_hour, end_hour)
    edges = []
    if first_hour is not None and hour_start(first_hour) > window.start:
        edges.append(MetricWindow(window.model_version, window.start, hour_start(first_hour)))
    if end_hour is not None and hour_start(end_hour) < window.end:
        edges.append(MetricWindow(window.model_version, hour_start(end_hour), window.end))
    for edge in edges:
        sums.merge(scan_sums(edge.predictions()))
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


def _roc_auc(labelled: QuerySet[Prediction]) -> float | None:
    """Mann–Whitney AUC with ties counted half (= scikit-learn), ranked in SQL."""
    grouped = (
        labelled.annotate(score=_class_one_score())
        .values("score")
        .annotate(
            # Counts a NOT NULL column the covering index holds (Django allows no
            # COUNT(*) with a filter): COUNT(id) would send PostgreSQL to the table.
            pos=Count("confidence", filter=Q(actual_outcome=1)),
            neg=Count("confidence", filter=Q(actual_outcome=0)),
        )
        .order_by()
    )
    sql, params = grouped.query.sql_with_params()
    ranked = (
        "SELECT SUM(pos * ((cum_neg - neg) + 0.5 * neg)), SUM(pos), SUM(neg) FROM ("
        "SELECT pos, neg, SUM(neg) OVER (ORDER BY score) AS cum_neg "
        f"FROM ({sql}) grouped_scores) ranked_scores"
    )
    with connections[labelled.db].cursor() as cursor:
        cursor.execute(ranked, params)
        wins, positives, negatives = cursor.fetchone()
    if not positives or not negatives:
        return None
    return float(wins) / (float(positives) * float(negatives))


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
    return _roc_auc(window.predictions().filter(LABELLED))


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
        sums = scan_sums(window.predictions().filter(LABELLED), n_bins)
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
