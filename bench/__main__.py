"""`make bench`: the site against this machine's raw database limits, in one run.

    .venv/bin/python -m bench [--scale 1.0] [--db-prefix bench] [--only STEP,…]

Steps (all by default): raw-pg, rest-pg, raw-sqlite, rest-sqlite, metrics, legacy,
import, drift, segments, volume, peers. At --scale 1 the metric dataset, the legacy file and the
import file hold 1,000,000 predictions each; the volume curve (bench/volume.py) grows one
version to 100,000, 1,000,000 and 5,000,000 predictions beside 900,000 others.

The peers step (bench/peers.py) times Evidently and NannyML on the same rows. They are
not the project's dependencies: it runs them with the interpreter of a separate venv
(--peers-python, else $BENCH_PEERS_PYTHON, else .venv-peers/bin/python) and is skipped
with a note when there is none. To create it:

    python3 -m venv .venv-peers && .venv-peers/bin/pip install -r bench/requirements-peers.txt
 Prints a table of every target as a ratio (met or not) and
writes it to bench/results/ as JSON and Markdown. PostgreSQL is reached through
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres); the benchmark creates
and drops its own databases `<prefix>_ingest` and `<prefix>_data` there.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import client as client_bench
from bench import data, db, endpoints, legacy_store, raw, report
from bench.server import gunicorn

RESULTS = db.ROOT / "bench" / "results"
STEPS = ("raw-pg", "rest-pg", "raw-sqlite", "rest-sqlite", "metrics", "legacy", "import", "drift",
         "segments", "volume", "peers")
WINDOWS = (60, 1440, 43200)
METRIC_VERSION = "v1"


def sizes(scale: float) -> dict:
    ingest = max(2, round(100 * scale)) * 1000  # whole batches of 1000
    return {
        "scale": scale,
        "ingest_rows": ingest,
        "single_posts": max(200, round(4000 * scale)),
        "metric_rows": max(10_000, round(1_000_000 * scale)),
        "import_lines": max(10_000, round(1_000_000 * scale)),
        "drift_rows_per_side": max(2_000, round(50_000 * scale)),
        # The drift and segment tables hold 1,000,000 rows at --scale 1 (other versions'
        # rows beside the measured version's).
        "drift_other_rows": max(0, round(900_000 * scale)),
        "segment_rows": max(10_000, round(100_000 * scale)),
        "segment_other_rows": max(0, round(900_000 * scale)),
    }


class Run:
    def __init__(self, args):
        self.args = args
        self.size = sizes(args.scale)
        self.work = RESULTS / "work"
        self.results: dict = {"sizes": self.size, "errors": {}}

    def step(self, name, fn):
        if name not in self.args.only:
            return
        print(f"--- {name} …", flush=True)
        started = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # one broken step must not hide the others' figures
            traceback.print_exc()
            self.results["errors"][name] = f"{type(exc).__name__}: {exc}"[:2000]
        print(f"    {name} took {time.perf_counter() - started:.1f} s", flush=True)

    # --- PostgreSQL -----------------------------------------------------------------
    def raw_pg(self):
        url = db.recreate_pg(f"{self.args.db_prefix}_ingest")
        db.migrate(url)
        n, m = self.size["ingest_rows"], self.size["single_posts"]
        self.results["raw_pg"] = {
            "copy": raw.pg_copy(url, n),
            "execute_values": raw.pg_execute_values(url, n),
            "single_commit_1": raw.pg_single_commits(url, m, 1),
            "single_commit_8": raw.pg_single_commits(url, m, 8),
        }
        db.drop_pg(f"{self.args.db_prefix}_ingest")

    def rest_pg(self):
        url = db.recreate_pg(f"{self.args.db_prefix}_ingest")
        db.migrate(url)
        self.results["rest_pg"] = self._rest(url, lambda: _pg_count(url))
        db.drop_pg(f"{self.args.db_prefix}_ingest")

    # --- SQLite ---------------------------------------------------------------------
    def raw_sqlite(self):
        path = self.work / "raw.sqlite3"
        db.migrate(db.fresh_sqlite(path))
        n, m = self.size["ingest_rows"], self.size["single_posts"]
        self.results["raw_sqlite"] = {
            "executemany": raw.sqlite_executemany(path, n),
            "single_commit_1": raw.sqlite_single_commits(path, m, 1),
            "single_commit_8": raw.sqlite_single_commits(path, m, 8),
        }
        db.fresh_sqlite(path)  # removes the file and its WAL

    def rest_sqlite(self):
        path = self.work / "rest.sqlite3"
        url = db.fresh_sqlite(path)
        db.migrate(url)

        def count():
            conn = db.sqlite_connect(path)
            (n,) = conn.execute("SELECT count(*) FROM predictions_prediction").fetchone()
            conn.close()
            return n

        self.results["rest_sqlite"] = self._rest(url, count)
        db.fresh_sqlite(path)

    def _rest(self, url, count) -> dict:
        token = db.make_token(url, "bench-ingest", ["predictions.add_prediction"])
        n, m = self.size["ingest_rows"], self.size["single_posts"]
        batches = endpoints.batch_bodies(n, 1000, "rb")
        singles = endpoints.single_bodies(m, "rs")
        out = {}
        warmup = endpoints.batch_bodies(80, 10, "rw")
        with gunicorn(url, workers=2, log_dir=self.work) as port:
            endpoints.ingest(port, token, warmup, 4, 80)  # both workers load their code
            out["batch"] = endpoints.ingest(port, token, batches, 4, n)
            out["single"] = endpoints.ingest(port, token, singles, 8, m)
            # One client alone: the latency of one request, without queueing.
            lone = max(50, m // 8)
            out["single_1_client"] = endpoints.ingest(
                port, token, endpoints.single_bodies(lone, "r1"), 1, lone)
            # Single log_prediction calls from 4 threads, batched by monitoring_client.
            out["client"] = client_bench.measure(port, token, n, "rc")
        out["stored_rows"] = count()
        out["expected_rows"] = 80 + n + m + lone + n
        return out

    # --- Metrics at 1,000,000 predictions ---------------------------------------------
    def metrics(self):
        name = f"{self.args.db_prefix}_data"
        url = db.recreate_pg(name)
        db.migrate(url)
        n = self.size["metric_rows"]
        conn = db.pg_connect(url)
        started = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.copy_expert(
                f"COPY predictions_prediction ({raw.COLS}) FROM STDIN",
                data.IterFile(data.copy_text(data.rows(n, prefix="m"))),
            )
        load_seconds = time.perf_counter() - started
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE predictions_prediction")
        conn.close()
        token = db.make_token(url, "bench-reader", [])
        repeat = self.args.repeat
        rows = []
        with gunicorn(url, workers=2, log_dir=self.work) as port:
            for metric in endpoints.METRICS:
                for window in WINDOWS:
                    sql = raw.time_metric_sql(url, metric, METRIC_VERSION, window, repeat)
                    api = endpoints.time_endpoint(
                        port, token, endpoints.endpoint_path(metric, METRIC_VERSION, window),
                        repeat,
                    )
                    rows.append({
                        "metric": metric,
                        "window_minutes": window,
                        "rows_in_window": _rows_in_window(url, window),
                        "sql_p50": data.percentile(sql, 50),
                        "sql_p95": data.percentile(sql, 95),
                        "api_status": api["status"],
                        "api_p50": data.percentile(api["samples"], 50) if api["samples"] else None,
                        "api_p95": data.percentile(api["samples"], 95) if api["samples"] else None,
                        "api_error": None if api["samples"] else api["body"],
                    })
                    print(f"    {metric:15} {window:>6} min  sql p50 {rows[-1]['sql_p50']*1e3:8.2f}"
                          f" ms  api p50 {_ms(rows[-1]['api_p50'])}", flush=True)
        self.results["metrics"] = {
            "rows": n, "version": METRIC_VERSION, "load_copy_seconds": load_seconds,
            "load_copy_rows_per_s": n / load_seconds, "repeat": repeat, "endpoints": rows,
        }
        if not self.args.keep:
            db.drop_pg(name)

    # --- The legacy file store -----------------------------------------------------------
    def legacy(self):
        n = self.size["metric_rows"]
        path = legacy_store.write_file(self.work / "legacy" / "predictions.jsonl", n)
        self.results["legacy"] = {
            "lines": n,
            "scans": {
                str(w): legacy_store.time_scan(path, METRIC_VERSION, w) for w in WINDOWS
            },
        }
        path.unlink()

    # --- Steps other modules provide ----------------------------------------------------
    def import_legacy(self):
        module = _optional("bench.import_legacy")
        if module is None:
            self.results["import"] = None
            return
        big = self.size["import_lines"]
        small = max(1000, big // 10)
        workdir = self.work / "import"
        out = {}
        for label, lines in (("small", small), ("large", big)):
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            out[label] = module.measure_import(lines, workdir, db_prefix=self.args.db_prefix)
            print(f"    import {lines} lines: {out[label]}", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
        self.results["import"] = out

    def drift(self):
        module = _optional("bench.drift")
        if module is None:
            self.results["drift"] = None
            return
        self.results["drift"] = module.measure_drift(
            rows_per_side=self.size["drift_rows_per_side"], features=10,
            other_rows=self.size["drift_other_rows"], db_name=f"{self.args.db_prefix}_drift",
        )

    def segments(self):
        from bench import segments

        self.results["segments"] = segments.measure_segments(
            rows=self.size["segment_rows"], other_rows=self.size["segment_other_rows"],
            db_name=f"{self.args.db_prefix}_segments",
        )

    # --- Cost independent of volume (SPEC §9) and the peers -------------------------------
    def volume(self):
        from bench import volume

        self.results["volume"] = volume.measure_volume(
            self.args.scale, db_prefix=self.args.db_prefix, repeat=self.args.repeat,
            work=self.work, keep=self.args.keep)

    def peers(self):
        from bench import peers

        self.results["peers"] = peers.measure_peers(
            self.args.scale, db_prefix=self.args.db_prefix, repeat=self.args.repeat,
            work=self.work, python=self.args.peers_python)


def _optional(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def _ms(seconds):
    return "   n/a" if seconds is None else f"{seconds * 1e3:8.2f} ms"


def _pg_count(url):
    conn = db.pg_connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM predictions_prediction")
        (n,) = cur.fetchone()
    conn.close()
    return n


def _rows_in_window(url, window):
    conn = db.pg_connect(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM predictions_prediction WHERE model_version = %s "
            "AND timestamp >= now() - make_interval(mins => %s)",
            (METRIC_VERSION, window),
        )
        (n,) = cur.fetchone()
    conn.close()
    return n


def environment(url) -> dict:
    import sqlite3

    import django
    import gunicorn as gunicorn_pkg
    import psycopg2
    import rest_framework

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        (int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal")), 0,
    )
    conn = db.pg_connect(url)
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        (pg_version,) = cur.fetchone()
        cur.execute("SHOW synchronous_commit")
        (sync_commit,) = cur.fetchone()
    conn.close()
    commit = "unknown"
    if (db.ROOT / ".git").exists():  # a directory, or a file in a git worktree
        import subprocess

        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=db.ROOT,
                                capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--short", "--untracked-files=no"],
                                 cwd=db.ROOT, capture_output=True, text=True).stdout.split("\n")
        changed = [line[3:] for line in changed if line.strip()]
        if changed:
            commit += f" + uncommitted changes to {', '.join(changed)}"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": rest_framework.VERSION,
        "psycopg2": psycopg2.__version__.split()[0],
        "gunicorn": gunicorn_pkg.__version__,
        "postgresql": pg_version,
        "postgresql_synchronous_commit": sync_commit,
        "sqlite": sqlite3.sqlite_version,
        "git_commit": commit,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="size factor (1.0 = 1,000,000-prediction datasets)")
    parser.add_argument("--db-prefix", default="bench",
                        help="PostgreSQL databases <prefix>_ingest and <prefix>_data")
    parser.add_argument("--repeat", type=int, default=30, help="requests per metric endpoint")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--keep", action="store_true", help="keep the metric database")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--peers-python", default=None,
                        help="interpreter of the venv holding evidently and nannyml")
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    unknown = args.only - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")

    run = Run(args)
    run.work.mkdir(parents=True, exist_ok=True)
    run.results["environment"] = environment(db.ADMIN_URL)
    started = time.perf_counter()
    run.step("raw-pg", run.raw_pg)
    run.step("rest-pg", run.rest_pg)
    run.step("raw-sqlite", run.raw_sqlite)
    run.step("rest-sqlite", run.rest_sqlite)
    run.step("metrics", run.metrics)
    run.step("legacy", run.legacy)
    run.step("import", run.import_legacy)
    run.step("drift", run.drift)
    run.step("segments", run.segments)
    run.step("volume", run.volume)
    run.step("peers", run.peers)
    run.results["total_seconds"] = time.perf_counter() - started
    run.results["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    targets = report.targets(run.results)
    run.results["targets"] = targets
    markdown = report.markdown(run.results)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"bench-{stamp}", "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(run.results, indent=2, default=str))
        (args.out / f"{name}.md").write_text(markdown)
    print()
    print(markdown)
    print(f"Written to {args.out}/latest.md and latest.json")
    return 1 if run.results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
