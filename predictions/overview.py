"""What the pages show about every model version at once, in grouped queries.

``predictions.metrics`` computes one version's window; the dashboard needs the same
figures for every version, so this module computes them in ONE query grouped by
(version, calibration bin) instead of a query per version. The figures follow SPEC §4
exactly (tests compare them with ``window_metrics``).
"""
from __future__ import annotations

from datetime import timedelta

from django.db import connections, router
from django.db.models import Avg, Count, Max
from django.utils import timezone

from predictions.metrics import CORRECT, LABELLED, calibration_bin
from predictions.models import HealthSnapshot, Prediction

DASHBOARD_WINDOW_MINUTES = 24 * 60


def version_overview(
    window_minutes: int = DASHBOARD_WINDOW_MINUTES, now=None, n_bins: int = 10
) -> list[dict]:
    """Per model version with predictions in the window, sorted by version:

    ``model_version, num_predictions, num_with_outcome, accuracy,
    expected_calibration_error, last_seen`` (accuracy and ECE None without labels).
    """
    now = now or timezone.now()
    rows = (
        Prediction.objects.filter(timestamp__gte=now - timedelta(minutes=window_minutes))
        .annotate(calibration_bin=calibration_bin(n_bins))
        .values("model_version", "calibration_bin")
        .annotate(
            count=Count("id"),
            labelled=Count("id", filter=LABELLED),
            correct=Count("id", filter=CORRECT),
            labelled_confidence=Avg("confidence", filter=LABELLED),
            last_seen=Max("timestamp"),
        )
        .order_by("model_version", "calibration_bin")
    )
    versions: dict[str, dict] = {}
    for row in rows:
        version = versions.setdefault(
            row["model_version"],
            {"model_version": row["model_version"], "num_predictions": 0,
             "num_with_outcome": 0, "num_correct": 0, "last_seen": None, "bins": []},
        )
        version["num_predictions"] += row["count"]
        version["num_with_outcome"] += row["labelled"]
        version["num_correct"] += row["correct"]
        if version["last_seen"] is None or row["last_seen"] > version["last_seen"]:
            version["last_seen"] = row["last_seen"]
        if row["labelled"]:
            version["bins"].append(row)
    overview = []
    for version in versions.values():
        labelled = version["num_with_outcome"]
        bins = version.pop("bins")
        version["accuracy"] = version["num_correct"] / labelled if labelled else None
        version["expected_calibration_error"] = (
            sum(
                b["labelled"] / labelled
                * abs(b["correct"] / b["labelled"] - b["labelled_confidence"])
                for b in bins
            )
            if labelled
            else None
        )
        overview.append(version)
    return overview


def snapshot_series(model_version: str, limit: int = 200) -> list[HealthSnapshot]:
    """The version's newest ``limit`` snapshots, oldest first (for trend charts)."""
    newest = (
        HealthSnapshot.objects.filter(model_version=model_version)
        .order_by("-timestamp", "-id")
        .only("timestamp", "accuracy", "f1_score", "expected_calibration_error",
              "num_predictions", "num_with_outcome")[:limit]
    )
    return list(reversed(newest))


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
