"""What the pages show about every model version at once, in grouped queries.

``predictions.metrics`` computes one version's window; the dashboard and the registry need
the same figures for every version, so this module reads the hourly aggregates grouped by
version (and scans the partial first hour grouped by version) instead of a query per
version. The figures come from the same ``WindowSums`` (tests compare them with
``metrics_of``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connections, router
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from predictions.metrics import MetricWindow
from predictions.models import Prediction, PredictionHour
from predictions.rollups import epoch_hour, hour_start
from predictions.row_scans import scan_sums_by
from predictions.series import hour_sums_by_version
from predictions.window_sums import WindowSums

DASHBOARD_WINDOW_MINUTES = 24 * 60
# The windows a page offers for its per-version figures (?window=): minutes, label.
WINDOW_CHOICES = {"1h": (60, "1 h"), "24h": (24 * 60, "24 h"), "7d": (7 * 24 * 60, "7 d"),
                  "30d": (30 * 24 * 60, "30 d")}
DEFAULT_WINDOW = "24h"
OVERVIEW_FIGURES = (
    "num_predictions", "num_with_outcome", "accuracy", "f1_score",
    "expected_calibration_error", "label_coverage",
)


def window_figures_by_version(
    window_minutes: int = DASHBOARD_WINDOW_MINUTES, now: datetime | None = None,
    versions: list[str] | None = None,
) -> dict[str, dict]:
    """{version: its figures over the last ``window_minutes``} for the versions with
    predictions in that window — what ``metrics_of(MetricWindow.last(version, …))`` gives,
    in three queries whatever the number of versions: the whole hours from the aggregates
    (two grouped reads), the partial first hour from one grouped scan of its rows.
    """
    window = MetricWindow.last(None, window_minutes, now)
    first_whole = -(-int(window.start.timestamp()) // 3600)
    sums = hour_sums_by_version(first_whole, None, versions)
    if hour_start(first_whole) > window.start:
        edge = [(window.start, hour_start(first_whole))]
        for version, edge_sums in scan_sums_by(None, edge, "model_version", versions).items():
            sums.setdefault(version, WindowSums()).merge(edge_sums)
    figures = {}
    for version, version_sums in sorted(sums.items()):
        if version_sums.n:
            figures[version] = version_sums.figures()
    return figures


def version_overview(
    window_minutes: int = DASHBOARD_WINDOW_MINUTES, now: datetime | None = None
) -> list[dict]:
    """Per model version with predictions in the last ``window_minutes``, sorted by version:

    ``model_version, num_predictions, num_with_outcome, accuracy, f1_score,
    expected_calibration_error, label_coverage, last_seen`` (labelled figures None
    without labels), from the same engine as every other figure (``WindowSums``).
    """
    now = now or timezone.now()
    figures = window_figures_by_version(window_minutes, now)
    newest = (
        Prediction.objects.filter(model_version=OuterRef("model_version"))
        .order_by("-timestamp").values("timestamp")[:1]
    )
    # The newest prediction of each version, one index probe each, in one query.
    last_seen = dict(
        PredictionHour.objects.filter(
            model_version__in=list(figures),
            hour__gte=epoch_hour(now - timedelta(minutes=window_minutes)),
        )
        .values("model_version")
        .annotate(hours=Sum("n"), last_seen=Subquery(newest))
        .values_list("model_version", "last_seen")
        .order_by()
    )
    return [
        {"model_version": version,
         **{name: version_figures[name] for name in OVERVIEW_FIGURES},
         "last_seen": last_seen.get(version)}
        for version, version_figures in figures.items()
    ]


def distinct_model_versions(model=Prediction, limit: int = 500) -> list[str]:
    """The distinct ``model_version`` values of a (possibly huge) table, sorted.

    A "loose index scan": one index probe per distinct version (a recursive query that
    asks for the smallest version greater than the previous one), instead of reading
    every row as ``SELECT DISTINCT`` does. Needs an index that starts with
    ``model_version`` (Prediction and HealthSnapshot have one). Works on PostgreSQL and
    SQLite.
    """
    table = model._meta.db_table
    using = router.db_for_read(model)
    connection = connections[using]
    quoted_table = connection.ops.quote_name(table)
    column = connection.ops.quote_name("model_version")
    sql = (
        f"WITH RECURSIVE versions(v) AS ("
        f"SELECT MIN({column}) FROM {quoted_table} "
        f"UNION ALL "
        f"SELECT (SELECT MIN(t.{column}) FROM {quoted_table} t WHERE t.{column} > versions.v) "
        f"FROM versions WHERE versions.v IS NOT NULL"
        f") SELECT v FROM versions WHERE v IS NOT NULL LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]
