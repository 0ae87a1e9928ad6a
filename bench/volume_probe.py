"""The metric engine timed in-process, part by part (run by bench.volume in a subprocess).

    DATABASE_URL=… python -m bench.volume_probe '{"version": …, "windows": {…}, …}'

For each window: the sums (hourly aggregates + scanned edge hours), the latency percentiles
and the ROC AUC (the two parts that still read rows), each timed alone; how many queries
each endpoint's function runs; and, when asked, EXPLAIN (ANALYZE, BUFFERS) of every query
of ``performance_metrics`` and ``classification_metrics``. Prints one JSON line.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import datetime

# The predictions table itself, not predictions_predictionhour.
ROWS_TABLE = re.compile(r"\bpredictions_prediction\b")


def _timed(fn, repeat: int, budget_s: float) -> list[float]:
    fn()  # warm-up
    samples, spent = [], 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        samples.append(elapsed)
        spent += elapsed
        if len(samples) >= 3 and spent > budget_s:
            break
    return samples


def _median(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[(len(ordered) - 1) // 2]


def probe(args: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from predictions import metrics

    out = {}
    for name, (start, end) in args["windows"].items():
        window = metrics.MetricWindow(
            args["version"], datetime.fromisoformat(start), datetime.fromisoformat(end)
        )
        sums = metrics.window_sums(window)
        figures = sums.figures()
        repeat, budget = args["repeat"], args["budget_s"]
        parts = {
            "sums": _timed(lambda w=window: metrics.window_sums(w), repeat, budget),
            # Private helpers on purpose: the parts the public functions are made of.
            "latency_percentiles": _timed(
                lambda w=window, s=sums: metrics._latency(w, s), repeat, budget),
            "roc_auc": _timed(
                lambda w=window, s=sums, f=figures: metrics._ranked(w, s, f), repeat, budget),
        }
        entry = {"parts_p50": {k: _median(v) for k, v in parts.items()},
                 "parts_samples": {k: len(v) for k, v in parts.items()},
                 "queries": {}, "plans": {}}
        for function in ("performance_metrics", "accuracy_metrics", "calibration_metrics",
                         "classification_metrics"):
            with CaptureQueriesContext(connection) as captured:
                getattr(metrics, function)(window)
            sqls = [q["sql"] for q in captured.captured_queries]
            entry["queries"][function] = {
                "total": len(sqls),
                "reading_predictions": sum(bool(ROWS_TABLE.search(s)) for s in sqls),
            }
            if args.get("explain") and function in ("performance_metrics",
                                                    "classification_metrics"):
                plans = []
                with connection.cursor() as cursor:
                    for sql in sqls:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        plans.append({"sql": sql[:4000], "plan": "\n".join(
                            line for (line,) in cursor.fetchall())})
                entry["plans"][function] = plans
        out[name] = entry
    return out


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitoring_site.settings")
    import django

    django.setup()
    print(json.dumps(probe(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
