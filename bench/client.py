"""Single-call producers through monitoring_client, beside the batch REST figure.

N predictions logged one call at a time from 4 threads through one Client (which batches
them in its background thread), timed from the first call until close() returns.
"""
from __future__ import annotations

import threading
import time

from bench import data


def measure(port: int, token: str, rows: int, prefix: str, threads: int = 4) -> dict:
    from monitoring_client import Client

    calls = [
        {**data.as_api_item(row), "timestamp": row.timestamp}
        for row in data.rows(rows, prefix=prefix, span=data.timedelta(days=1))
    ]
    for call in calls:
        call.pop("actual_outcome", None)  # log_prediction sends predictions only
    refused = []
    client = Client(f"http://127.0.0.1:{port}", token,
                    on_error=lambda items, response: refused.append(response.status))
    call_seconds: list[float] = []

    def produce(share):
        timings = []
        for fields in share:
            started = time.perf_counter()
            client.log_prediction(**fields)
            timings.append(time.perf_counter() - started)
        call_seconds.extend(timings)

    workers = [threading.Thread(target=produce, args=(calls[i::threads],))
               for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    drained = client.close(timeout=600)
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "threads": threads,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "log_prediction_p50_us": data.percentile(call_seconds, 50) * 1e6,
        "log_prediction_p99_us": data.percentile(call_seconds, 99) * 1e6,
        "stats": client.stats,
        "drained": drained,
        "refused_statuses": sorted(set(refused)),
    }
