"""The volume curve (SPEC §9): what a figure costs as one version grows to millions of rows.

One PostgreSQL database grows in stages: version ``vol`` holds 100,000, then 1,000,000,
then 5,000,000 predictions spread evenly over the same 30 days, beside 900,000 of nine
other versions (scaled by --scale). The first stage is the peers' data: one COPY of
1,000,000 rows, one in ten of them vol's; later stages append vol's rows. Each stage's
hourly aggregates are rebuilt with ``manage.py rebuild_rollups`` (timed) and the database
VACUUM ANALYZEd; then, through gunicorn, p50 of every metric endpoint over the 30 days
(start/end on whole hours, and once off them, so the edge hours are scanned) and of the
720-point hourly series, beside the same figures in raw SQL over the rows. The engine's
parts are timed in-process too (``bench.volume_probe``): the sums, and the two figures
that still read rows (latency percentiles, ROC AUC) beside their raw SQL. At the last
stage: bulk outcomes, batches of 1000 from 4 clients.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import numpy as np

from bench import data, db, raw
from bench.endpoints import METRICS
from bench.server import Client, gunicorn, run_concurrently

TARGET_VERSION = "vol"
OTHER_VERSIONS = tuple(f"other{i}" for i in range(1, 10))
SPAN = timedelta(days=30)
BASE_TARGETS = (100_000, 1_000_000, 5_000_000)
BASE_OUTCOMES = 100_000
OUTCOME_BATCH = 1000
# Per measurement: at least 3 runs, then stop once this many seconds are spent (the raw
# scans of 5M rows take seconds each; the aggregate answers take milliseconds).
BUDGET_S = 4.0
# The unaligned window: off the hour at both ends, so both edge hours are scanned.
UNALIGNED = (timedelta(minutes=17, seconds=23), timedelta(minutes=23, seconds=11))
COPY_CHUNK = 100_000
NULL = "\\N"
METADATA = '{"source":"bench"}'


def volume_sizes(scale: float) -> dict:
    return {
        "targets": [max(1000, round(n * scale)) for n in BASE_TARGETS],
        "others": 9 * max(1000, round(BASE_TARGETS[0] * scale)),  # beside the first stage
        "outcomes": max(4 * OUTCOME_BATCH, round(BASE_OUTCOMES * scale / OUTCOME_BATCH)
                        * OUTCOME_BATCH),
    }


def span_end(now: datetime | None = None) -> datetime:
    """The top of the current hour (UTC): the data fills the 30 days before it."""
    now = now or datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


# --- the rows -----------------------------------------------------------------------------


def copy_chunks(count: int, versions: tuple[str, ...], prefix: str, end: datetime,
                seed: int, phase: float = 0.5):
    """COPY text (predictions_prediction columns, bench.data.COLUMNS order) in chunks.

    ``count`` predictions spread evenly over the 30 days before ``end`` (``phase`` shifts
    them within their slot, so stages interleave), the versions taken in turn; half of them
    labelled, correct with probability = their confidence (a calibrated model).
    """
    rng = np.random.default_rng(seed)
    start_us = int((end - SPAN).timestamp()) * 1_000_000
    span_us = int(SPAN.total_seconds()) * 1_000_000
    for base in range(0, count, COPY_CHUNK):
        size = min(COPY_CHUNK, count - base)
        index = np.arange(base, base + size)
        moments = start_us + ((index + phase) * (span_us / count)).astype(np.int64)
        stamps = np.datetime_as_string(moments.astype("datetime64[us]"), timezone="UTC")
        labelled_at = np.datetime_as_string(
            (moments + 300_000_000).astype("datetime64[us]"), timezone="UTC")
        predicted = rng.integers(0, 2, size)
        confidence = np.round(rng.uniform(0.5, 1.0, size), 6)
        labelled = rng.random(size) < 0.5
        actual = np.where(rng.random(size) < confidence, predicted, 1 - predicted)
        latency = np.round(rng.gamma(2.0, 10.0, size), 3)
        x = np.round(rng.normal(0.0, 1.0, size), 4)
        segment = rng.integers(0, 5, size)
        lines = [
            f"{prefix}{i}\t{versions[i % len(versions)]}\t{ts}\t{p}\t{c}\t"
            f'{{"x":{xv},"segment":"s{s}"}}\t{METADATA}\t'
            f"{a if lab else NULL}\t{lts if lab else NULL}\t{lat}\n"
            for i, ts, p, c, xv, s, a, lab, lts, lat in zip(
                index.tolist(), stamps.tolist(), predicted.tolist(), confidence.tolist(),
                x.tolist(), segment.tolist(), actual.tolist(), labelled.tolist(),
                labelled_at.tolist(), latency.tolist(), strict=True)
        ]
        yield "".join(lines)


def copy_rows(url: str, count: int, versions: tuple[str, ...], prefix: str, end: datetime,
              seed: int, phase: float = 0.5) -> dict:
    """COPY ``count`` generated predictions in one transaction; seconds and rows/s."""
    conn = db.pg_connect(url)
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        for text in copy_chunks(count, versions, prefix, end, seed, phase):
            cur.copy_expert(f"COPY predictions_prediction ({raw.COLS}) FROM STDIN",
                            io.StringIO(text), size=1 << 20)
    seconds = time.perf_counter() - started
    conn.close()
    return {"rows": count, "seconds": seconds, "rows_per_s": count / seconds if seconds else None}


def rebuild_and_vacuum(url: str) -> dict:
    started = time.perf_counter()
    summary = db.manage(url, "rebuild_rollups").strip().splitlines()[-1]
    rebuild_s = time.perf_counter() - started
    conn = db.pg_connect(url)
    conn.autocommit = True
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    vacuum_s = time.perf_counter() - started
    conn.close()
    return {"rebuild_seconds": rebuild_s, "rebuild_summary": summary, "vacuum_seconds": vacuum_s}


def load_dataset(url: str, target: int, end: datetime) -> dict:
    """A fresh migrated database: ``target`` rows of vol among ten times as many.

    One COPY, the versions in turn (one row in ten is vol's), as predictions of versions
    served side by side arrive: a version's rows are spread over the whole table.
    """
    db.migrate(url)
    rows = copy_rows(url, 10 * target, (TARGET_VERSION, *OTHER_VERSIONS), "s0_", end, seed=7)
    return {"target": {**rows, "rows": target}, "table": rows, **rebuild_and_vacuum(url)}


# --- timing -------------------------------------------------------------------------------


def windows(end: datetime) -> dict[str, tuple[datetime, datetime]]:
    start = end - SPAN
    return {"aligned": (start, end), "unaligned": (start + UNALIGNED[0], end - UNALIGNED[1])}


def metric_path(metric: str, start: datetime, end: datetime) -> str:
    query = urlencode({"model_version": TARGET_VERSION, "start": start.isoformat(),
                       "end": end.isoformat()})
    return f"/api/v1/metrics/{metric}/?{query}"


def series_path(start: datetime, end: datetime) -> str:
    query = urlencode({"model_version": TARGET_VERSION, "start": start.isoformat(),
                       "end": end.isoformat(), "step": "1h"})
    return f"/api/v1/metrics/series/?{query}"


def time_get(port: int, token: str, path: str, repeat: int, budget_s: float = BUDGET_S) -> dict:
    """GETs from one keep-alive client after two warm-ups (one for a slow answer); at
    least 3 timed, then stop once ``budget_s`` is spent. The last answer is kept."""
    client = Client(port, token)
    samples, spent, status, body = [], 0.0, None, b""
    warmups = 2
    for i in range(repeat + 2):
        started = time.perf_counter()
        status, body = client.request("GET", path)
        elapsed = time.perf_counter() - started
        if status != 200:
            break
        if i == 0 and elapsed > 1.0:
            warmups = 1  # a scan of seconds: one warm-up is enough to fill the caches
        if i >= warmups:
            samples.append(elapsed)
            spent += elapsed
            if len(samples) >= 3 and spent > budget_s:
                break
    client.close()
    answer = None
    with contextlib.suppress(ValueError):
        answer = json.loads(body)
    return {"status": status, "samples": samples, "answer": answer,
            "p50": data.percentile(samples, 50) if samples else None,
            "error": None if samples else body[:400].decode(errors="replace")}


def run_probe(url: str, spans: dict, repeat: int, explain: bool) -> dict:
    args = {"version": TARGET_VERSION, "repeat": repeat, "budget_s": BUDGET_S,
            "explain": explain,
            "windows": {k: [s.isoformat(), e.isoformat()] for k, (s, e) in spans.items()}}
    done = subprocess.run(
        [sys.executable, "-m", "bench.volume_probe", json.dumps(args)], cwd=db.ROOT,
        env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"volume_probe failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_stage(url: str, port: int, token: str, end: datetime, repeat: int,
                  explain: bool) -> dict:
    spans = windows(end)
    out: dict = {"endpoints": [], "scans": [], "series": None}
    for metric in METRICS:
        for name, (start, stop) in spans.items():
            params = {"version": TARGET_VERSION, "start": start, "end": stop}
            api = time_get(port, token, metric_path(metric, start, stop), repeat)
            sql = raw.time_statements(url, raw.WINDOW_SQL[metric], params, repeat, BUDGET_S)
            out["endpoints"].append({
                "metric": metric, "window": name, "api_status": api["status"],
                "api_p50": api["p50"], "api_runs": len(api["samples"]),
                "api_error": api["error"], "sql_p50": data.percentile(sql, 50),
                "sql_runs": len(sql),
            })
            if metric == "classification" and name == "aligned" and api["answer"]:
                out["classification_answer"] = api["answer"]
            print(f"    {metric:15} {name:9} api p50 {_ms(api['p50'])}  raw SQL p50 "
                  f"{_ms(data.percentile(sql, 50))}", flush=True)
    start, stop = spans["aligned"]
    api = time_get(port, token, series_path(start, stop), repeat)
    params = {"version": TARGET_VERSION, "start": start, "end": stop}
    sql = raw.time_statements(url, raw.SERIES_SQL, params, repeat, BUDGET_S)
    points = len((api["answer"] or {}).get("points", [])) if api["p50"] else 0
    out["series"] = {"api_status": api["status"], "api_p50": api["p50"],
                     "api_error": api["error"], "points": points,
                     "sql_p50": data.percentile(sql, 50), "sql_runs": len(sql)}
    print(f"    series 1h ({points} points) api p50 {_ms(api['p50'])}  raw SQL p50 "
          f"{_ms(data.percentile(sql, 50))}", flush=True)
    probe = run_probe(url, spans, repeat, explain)
    for name, (start, stop) in spans.items():
        params = {"version": TARGET_VERSION, "start": start, "end": stop}
        for scan, statements in raw.SCAN_SQL.items():
            sql = raw.time_statements(url, statements, params, repeat, BUDGET_S)
            engine = probe[name]["parts_p50"][scan]
            out["scans"].append({"figure": scan, "window": name, "engine_p50": engine,
                                 "sql_p50": data.percentile(sql, 50)})
            print(f"    scan {scan:19} {name:9} engine p50 {_ms(engine)}  raw SQL p50 "
                  f"{_ms(data.percentile(sql, 50))}", flush=True)
        out.setdefault("sums_p50", {})[name] = probe[name]["parts_p50"]["sums"]
        out.setdefault("queries", {})[name] = probe[name]["queries"]
    if explain:
        start, stop = spans["aligned"]
        params = {"version": TARGET_VERSION, "start": start, "end": stop}
        out["plans"] = {
            "engine": probe["aligned"]["plans"],
            "raw": {scan: raw.explain(url, statements, params)
                    for scan, statements in raw.SCAN_SQL.items()},
        }
    return out


def bulk_outcomes(url: str, port: int, token: str, count: int) -> dict:
    """POST outcomes/ for ``count`` unlabelled predictions of the other versions."""
    conn = db.pg_connect(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT prediction_id, predicted_outcome FROM predictions_prediction "
            "WHERE model_version = ANY(%s) AND actual_outcome IS NULL ORDER BY id LIMIT %s",
            (list(OTHER_VERSIONS), count))
        pending = cur.fetchall()
    conn.close()
    count = len(pending) // OUTCOME_BATCH * OUTCOME_BATCH
    items = [{"prediction_id": pid, "actual_outcome": (predicted if k % 5 else 1 - predicted)}
             for k, (pid, predicted) in enumerate(pending[:count])]
    bodies = [json.dumps(items[i : i + OUTCOME_BATCH]).encode()
              for i in range(0, count, OUTCOME_BATCH)]
    outcome = run_concurrently(port, token, bodies, 4, "/api/v1/outcomes/")
    return {"rows": count, "batch": OUTCOME_BATCH, "clients": 4, "seconds": outcome["seconds"],
            "rows_per_s": count / outcome["seconds"],
            "statuses": {str(k): v for k, v in outcome["statuses"].items()},
            "failures": outcome["failures"],
            "all_ok": outcome["statuses"].get(200, 0) == len(bodies)}


def measure_volume(scale: float, *, db_prefix: str, repeat: int, work, keep: bool = False
                   ) -> dict:
    size = volume_sizes(scale)
    name = f"{db_prefix}_volume"
    url = db.recreate_pg(name)
    end = span_end()
    load = load_dataset(url, size["targets"][0], end)
    # One token for both: reading needs none of the permissions, outcomes need this one.
    token = db.make_token(url, "bench-volume", ["predictions.change_prediction"])
    stages = []
    loaded = size["targets"][0]
    with gunicorn(url, workers=2, log_dir=work) as port:
        for index, target in enumerate(size["targets"]):
            if index:  # grow the version to `target` rows over the same 30 days
                load = {"target": copy_rows(url, target - loaded, (TARGET_VERSION,),
                                            f"t{index}_", end, seed=11 + index,
                                            phase=0.5 / (index + 1)),
                        **rebuild_and_vacuum(url)}
                loaded = target
            copied = load.get("table", load["target"])
            print(f"    stage {index + 1}: {target:,} rows of {TARGET_VERSION} beside "
                  f"{size['others']:,}; COPY of {copied['rows']:,} in "
                  f"{copied['seconds']:.1f} s, rebuild_rollups "
                  f"{load['rebuild_seconds']:.1f} s, VACUUM ANALYZE "
                  f"{load['vacuum_seconds']:.1f} s", flush=True)
            last = index == len(size["targets"]) - 1
            stage = {"target_rows": target, "other_rows": size["others"],
                     "table_rows": target + size["others"], "load": load,
                     **measure_stage(url, port, token, end, repeat,
                                     explain=index == 0 or last)}
            stages.append(stage)
        outcomes = bulk_outcomes(url, port, token, size["outcomes"])
        print(f"    bulk outcomes: {outcomes['rows']:,} in {outcomes['seconds']:.2f} s = "
              f"{outcomes['rows_per_s']:,.0f} rows/s", flush=True)
    # The outcomes moved cells of the aggregates: a rebuild of one of those versions must
    # find nothing to correct.
    check = db.manage(url, "rebuild_rollups", "--model-version", OTHER_VERSIONS[0])
    outcomes["rebuild_check"] = check.strip().splitlines()[-1]
    if not keep:
        db.drop_pg(name)
    return {"sizes": size, "span_end": end.isoformat(), "version": TARGET_VERSION,
            "stages": stages, "outcomes": outcomes}


def _ms(seconds):
    return "    n/a" if seconds is None else f"{seconds * 1e3:8.2f} ms"
