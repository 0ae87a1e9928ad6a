"""Segments benchmark: ``GET metrics/segments/``'s service over one version's 30 days.

    .venv/bin/python -m bench.segments [--rows 100000] [--other-rows 900000] [--repeat 3]

``measure_segments`` creates its own database (``bench_segments``), writes by SQL one
version's ``rows`` predictions over 30 days (a ``country`` feature of 20 values, a
``user_id`` feature of 10,000 values, a ``channel`` in the metadata, 80 % labelled)
among ``other_rows`` of nine other versions, then times, each the median of ``repeat``:

- ``service_s`` per key: ``segment_metrics`` (the two grouped queries and the figures);
- ``floor_s`` per key: the same two queries as plain SQL through psycopg2, results
  fetched and nothing else (what the database alone costs: the bound);
- ``worst_s``: ``worst_segments`` over every key (what a firing alert adds).

Target: the service within 1.5 × its raw SQL.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench import db

DB_NAME = "bench_segments"
VERSION = "bench-segments"
KEYS = ("country", "user_id", "channel")


def measure_segments(rows: int = 100_000, other_rows: int = 900_000, repeat: int = 3,
                     db_name: str = DB_NAME) -> dict:
    """Time the segments of one version on a fresh PostgreSQL database."""
    url = db.recreate_pg(db_name)
    try:
        db.migrate(url)
        done = subprocess.run(
            [sys.executable, "-m", "bench.segments", "--child", "--rows", str(rows),
             "--other-rows", str(other_rows), "--repeat", str(repeat)],
            cwd=db.ROOT, capture_output=True, text=True, check=False,
            env={**os.environ, "DATABASE_URL": url,
                 "DJANGO_SETTINGS_MODULE": "monitoring_site.settings"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"segments benchmark failed:\n{done.stderr[-3000:]}")
        sys.stderr.write(done.stderr)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        db.drop_pg(db_name)
    for key, entry in figures["keys"].items():
        print(f"    segments by {key} over {rows} rows: service {entry['service_s']:.3f} s, "
              f"raw SQL {entry['floor_s']:.3f} s", flush=True)
    print(f"    worst segments over every key: {figures['worst_s']:.3f} s", flush=True)
    return figures


def _load(rows: int, other_rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for version, count, prefix in ((VERSION, rows, "s"), (None, other_rows, "o")):
            if count <= 0:
                continue
            name = "%s" if version else "'other-' || (g %% 9)"
            cursor.execute(
                "INSERT INTO predictions_prediction (prediction_id, model_version, timestamp, "
                "predicted_outcome, confidence, actual_outcome, features, metadata) "
                f"SELECT %s || g, {name}, now() - interval '30 days' * (g::float8 / %s), "
                "g %% 2, 0.75, CASE WHEN g %% 5 = 0 THEN NULL "
                "WHEN g %% 7 = 0 THEN 1 - g %% 2 ELSE g %% 2 END, "
                "jsonb_build_object('country', 'c' || (g * 7919 %% 20), "
                "'user_id', 'u' || (g * 104729 %% 10000), 'amount', g %% 1000), "
                "jsonb_build_object('channel', CASE WHEN g %% 3 = 0 THEN 'app' ELSE 'web' END) "
                "FROM generate_series(1::bigint, %s) g",
                [prefix, *([version] if version else []), count, count],
            )
        cursor.execute("ANALYZE predictions_prediction")


def _raw_floor(window, key: str) -> float:
    """The service's two queries as plain SQL, fetched: the database's own cost."""
    from django.db import connection

    from predictions.segments import TOP_SEGMENTS, segment_value

    predictions = window.predictions().annotate(segment=segment_value(key))
    top_sql, top_params = (
        predictions.filter(segment__isnull=False).values("segment")
        .order_by().query.sql_with_params()
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT segment, count(*) AS n FROM ({top_sql}) s GROUP BY segment "
            f"ORDER BY n DESC, segment LIMIT {TOP_SEGMENTS}", top_params)
        top = [row[0] for row in cursor.fetchall()]
        sql, params = predictions.values(
            "segment", "predicted_outcome", "actual_outcome").order_by().query.sql_with_params()
        cursor.execute(
            "SELECT CASE WHEN segment = ANY(%s) THEN segment END, segment IS NOT NULL, "
            f"predicted_outcome, actual_outcome, count(*) FROM ({sql}) s GROUP BY 1, 2, 3, 4",
            [top, *params])
        cursor.fetchall()
    return time.perf_counter() - started


def _child(rows: int, other_rows: int, repeat: int) -> dict:
    import django

    django.setup()
    from predictions.metrics import MetricWindow
    from predictions.segments import segment_metrics, worst_segments

    _load(rows, other_rows)
    window = MetricWindow.last(VERSION, 31 * 24 * 60)
    figures = {"rows": rows, "table_rows": rows + other_rows, "repeat": repeat, "keys": {}}
    for key in KEYS:
        services, floors = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = segment_metrics(window, key)
            services.append(time.perf_counter() - started)
            floors.append(_raw_floor(window, key))
        figures["keys"][key] = {
            "service_s": statistics.median(services), "floor_s": statistics.median(floors),
            "segments": len(answer["segments"]),
            "rows": sum(segment["n"] for segment in answer["segments"]),
        }
    worst = []
    for _ in range(repeat):
        started = time.perf_counter()
        worst_segments(window)
        worst.append(time.perf_counter() - started)
    figures["worst_s"] = statistics.median(worst)
    figures["service_s"] = max(e["service_s"] for e in figures["keys"].values())
    figures["ratio_to_floor"] = max(
        e["service_s"] / e["floor_s"] for e in figures["keys"].values() if e["floor_s"])
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--other-rows", type=int, default=900_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=DB_NAME, help="the database to create (and drop)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.rows, args.other_rows, args.repeat)))
    else:
        print(json.dumps(measure_segments(args.rows, args.other_rows, args.repeat, args.db),
                         indent=2))


if __name__ == "__main__":
    main()
