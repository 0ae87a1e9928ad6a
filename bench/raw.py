"""This machine's raw database limits, measured with the drivers alone (no Django)."""
from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta

from psycopg2.extras import execute_values

from bench import data
from bench.db import pg_connect, sqlite_connect

SCRATCH = "bench_raw"
COLS = ", ".join(data.COLUMNS)
INSERT_PG = f"INSERT INTO {SCRATCH} ({COLS}) VALUES %s"
INSERT_ONE_PG = f"INSERT INTO {SCRATCH} ({COLS}) VALUES ({', '.join(['%s'] * len(data.COLUMNS))})"
INSERT_SQLITE = f"INSERT INTO {SCRATCH} ({COLS}) VALUES ({', '.join(['?'] * len(data.COLUMNS))})"


# --- PostgreSQL ---------------------------------------------------------------------------
def pg_scratch(url: str) -> None:
    """A fresh table shaped like predictions_prediction, with all its indexes/constraints."""
    conn = pg_connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cur.execute(f"CREATE TABLE {SCRATCH} (LIKE predictions_prediction INCLUDING ALL)")
    conn.close()


def pg_copy(url: str, n: int) -> dict:
    pg_scratch(url)
    buffer = io.StringIO("".join(data.copy_text(data.rows(n, prefix="copy"))))
    conn = pg_connect(url)
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY {SCRATCH} ({COLS}) FROM STDIN", buffer)
    seconds = time.perf_counter() - started
    conn.close()
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


def pg_execute_values(url: str, n: int, batch: int = 1000) -> dict:
    """execute_values in batches of `batch`, one transaction (commit) per batch."""
    pg_scratch(url)
    tuples = [data.as_tuple(r) for r in data.rows(n, prefix="ev")]
    conn = pg_connect(url)
    started = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(0, n, batch):
            execute_values(cur, INSERT_PG, tuples[i : i + batch], page_size=batch)
            conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


def pg_single_commits(url: str, n: int, threads: int) -> dict:
    """One INSERT and one COMMIT per row, from `threads` connections at once."""
    pg_scratch(url)
    tuples = [data.as_tuple(r) for r in data.rows(n, prefix=f"one{threads}_")]

    def work(part):
        conn = pg_connect(url)
        with conn.cursor() as cur:
            for values in part:
                cur.execute(INSERT_ONE_PG, values)
                conn.commit()
        conn.close()

    return _threaded(work, tuples, threads)


# --- SQLite -------------------------------------------------------------------------------
def sqlite_scratch(path) -> None:
    """Copy predictions_prediction's DDL (table and indexes) to a scratch table."""
    conn = sqlite_connect(path)
    conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    ddl = [
        sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'predictions_prediction' "
            "AND sql IS NOT NULL ORDER BY type DESC"  # table first, then its indexes
        )
    ]
    for sql in ddl:
        sql = sql.replace('"predictions_prediction"', f'"{SCRATCH}"')
        sql = re.sub(r'^CREATE (UNIQUE )?INDEX "', rf'CREATE \1INDEX "{SCRATCH}_', sql)
        conn.execute(sql)
    conn.close()


def sqlite_executemany(path, n: int) -> dict:
    sqlite_scratch(path)
    tuples = [_sqlite_tuple(r) for r in data.rows(n, prefix="em")]
    conn = sqlite_connect(path)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT_SQLITE, tuples)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


def sqlite_single_commits(path, n: int, threads: int) -> dict:
    sqlite_scratch(path)
    tuples = [_sqlite_tuple(r) for r in data.rows(n, prefix=f"one{threads}_")]

    def work(part):
        conn = sqlite_connect(path)
        for values in part:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(INSERT_SQLITE, values)
            conn.execute("COMMIT")
        conn.close()

    return _threaded(work, tuples, threads)


def _sqlite_tuple(row: data.Row) -> tuple:
    values = data.as_tuple(row)
    # Django stores datetimes in SQLite as ISO text.
    return tuple(v.isoformat(sep=" ") if hasattr(v, "isoformat") else v for v in values)


def _threaded(work, tuples: list, threads: int) -> dict:
    parts = [tuples[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=work, args=(part,)) for part in parts]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return {"rows": len(tuples), "threads": threads, "seconds": seconds,
            "rows_per_s": len(tuples) / seconds}


# --- The metric aggregates in plain SQL (PostgreSQL) ---------------------------------------
# The same figures the metric endpoints return (SPEC §4, §8), each written as the fewest
# plain SQL statements that compute it over the (model_version, timestamp) index.
WHERE = "model_version = %(version)s AND timestamp >= %(since)s"
METRIC_SQL = {
    "performance": [
        f"""SELECT count(*), avg(confidence), min(confidence), max(confidence),
                   stddev_samp(confidence), count(*) FILTER (WHERE predicted_outcome = 1),
                   avg(CASE WHEN confidence <= 0 OR confidence >= 1 THEN 0.0
                       ELSE -(confidence * ln(confidence))
                            - (1 - confidence) * ln(1 - confidence) END),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms),
                   percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms)
            FROM predictions_prediction WHERE {WHERE}""",
    ],
    "accuracy": [
        f"""SELECT count(actual_outcome),
                   count(*) FILTER (WHERE actual_outcome = predicted_outcome)
            FROM predictions_prediction WHERE {WHERE}""",
    ],
    "calibration": [
        f"""SELECT LEAST(floor(confidence * 10)::int, 9) AS bin, count(*), avg(confidence),
                   count(*) FILTER (WHERE actual_outcome = predicted_outcome)
            FROM predictions_prediction
            WHERE {WHERE} AND actual_outcome IS NOT NULL GROUP BY bin ORDER BY bin""",
    ],
    "classification": [
        f"""SELECT predicted_outcome, actual_outcome, count(*),
                   sum(((CASE WHEN predicted_outcome = 1 THEN confidence ELSE 1 - confidence END)
                        - actual_outcome) ^ 2)
            FROM predictions_prediction
            WHERE {WHERE} AND actual_outcome IS NOT NULL
            GROUP BY predicted_outcome, actual_outcome""",
        f"""SELECT sum(pos * ((cum_neg - neg) + 0.5 * neg)), sum(pos), sum(neg) FROM (
              SELECT pos, neg, sum(neg) OVER (ORDER BY score) AS cum_neg FROM (
                SELECT CASE WHEN predicted_outcome = 1 THEN confidence ELSE 1 - confidence END
                         AS score,
                       count(*) FILTER (WHERE actual_outcome = 1) AS pos,
                       count(*) FILTER (WHERE actual_outcome = 0) AS neg
                FROM predictions_prediction
                WHERE {WHERE} AND actual_outcome IS NOT NULL GROUP BY score) g) r""",
    ],
}


def time_metric_sql(url: str, metric: str, version: str, window_minutes: int, repeat: int,
                    now=None) -> list[float]:
    """Seconds per run of `metric`'s statements (after two warm-up runs)."""
    from datetime import UTC, datetime

    conn = pg_connect(url)
    conn.autocommit = True
    samples = []
    with conn.cursor() as cur:
        for i in range(repeat + 2):
            since = (now or datetime.now(UTC)) - timedelta(minutes=window_minutes)
            started = time.perf_counter()
            for sql in METRIC_SQL[metric]:
                cur.execute(sql, {"version": version, "since": since})
                cur.fetchall()
            if i >= 2:
                samples.append(time.perf_counter() - started)
    conn.close()
    return samples


# --- The same figures over a bounded window [start, end), and per hour (volume step) --------
BOUNDED = "model_version = %(version)s AND timestamp >= %(start)s AND timestamp < %(end)s"
WINDOW_SQL = {
    metric: [sql.replace(WHERE, BOUNDED) for sql in statements]
    for metric, statements in METRIC_SQL.items()
}
# The two figures that rank rows, alone: what the engine still scans for (SPEC §9).
SCAN_SQL = {
    "latency_percentiles": [
        f"""SELECT percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms)
            FROM predictions_prediction WHERE {BOUNDED} AND latency_ms IS NOT NULL""",
    ],
    "roc_auc": [WINDOW_SQL["classification"][1]],
}
# The hourly series' figures from the rows: one GROUP BY hour for the counts, accuracy,
# confusion counts, confidence, positive rate, entropy and Brier score, one more (hour ×
# calibration bin) for the ECE.
SERIES_SQL = [
    f"""SELECT date_trunc('hour', timestamp) AS hour, count(*), count(actual_outcome),
               count(*) FILTER (WHERE actual_outcome = predicted_outcome),
               count(*) FILTER (WHERE predicted_outcome = 1 AND actual_outcome = 1),
               count(*) FILTER (WHERE predicted_outcome = 1 AND actual_outcome = 0),
               count(*) FILTER (WHERE predicted_outcome = 0 AND actual_outcome = 1),
               avg(confidence), count(*) FILTER (WHERE predicted_outcome = 1),
               avg(CASE WHEN confidence <= 0 OR confidence >= 1 THEN 0.0
                   ELSE -(confidence * ln(confidence))
                        - (1 - confidence) * ln(1 - confidence) END),
               avg(((CASE WHEN predicted_outcome = 1 THEN confidence ELSE 1 - confidence END)
                    - actual_outcome) ^ 2)
        FROM predictions_prediction WHERE {BOUNDED} GROUP BY 1 ORDER BY 1""",
    f"""SELECT hour, sum(abs(correct - confidence_sum)) / sum(n) FROM (
          SELECT date_trunc('hour', timestamp) AS hour,
                 LEAST(floor(confidence * 10)::int, 9) AS bin, count(*) AS n,
                 count(*) FILTER (WHERE actual_outcome = predicted_outcome) AS correct,
                 sum(confidence) AS confidence_sum
          FROM predictions_prediction WHERE {BOUNDED} AND actual_outcome IS NOT NULL
          GROUP BY 1, 2) b GROUP BY hour ORDER BY hour""",
]


def time_statements(url: str, statements: list[str], params: dict, repeat: int,
                    budget_s: float | None = None) -> list[float]:
    """Seconds per run of `statements` (after one warm-up run); at least 3 runs, then stop
    early once `budget_s` is spent (the slow scans at millions of rows)."""
    conn = pg_connect(url)
    conn.autocommit = True
    samples = []
    spent = 0.0
    with conn.cursor() as cur:
        for i in range(repeat + 1):
            started = time.perf_counter()
            for sql in statements:
                cur.execute(sql, params)
                cur.fetchall()
            elapsed = time.perf_counter() - started
            if i >= 1:
                samples.append(elapsed)
                spent += elapsed
                if budget_s is not None and len(samples) >= 3 and spent > budget_s:
                    break
    conn.close()
    return samples


def explain(url: str, statements: list[str], params: dict) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, as text."""
    conn = pg_connect(url)
    conn.autocommit = True
    plans = []
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plans.append("\n".join(line for (line,) in cur.fetchall()))
    conn.close()
    return plans
