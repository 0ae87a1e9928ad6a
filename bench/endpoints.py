"""The site measured over HTTP: REST ingestion and the metric endpoints."""
from __future__ import annotations

import json
import time

from bench import data
from bench.server import Client, run_concurrently

INGEST_PATH = "/api/v1/predictions/"
METRICS = ("performance", "accuracy", "calibration", "classification")


def batch_bodies(n: int, batch: int, prefix: str) -> list[bytes]:
    items = [data.as_api_item(r) for r in data.rows(n, prefix=prefix, span=data.timedelta(days=1))]
    return [json.dumps(items[i : i + batch]).encode() for i in range(0, n, batch)]


def single_bodies(n: int, prefix: str) -> list[bytes]:
    return [
        json.dumps(data.as_api_item(r)).encode()
        for r in data.rows(n, prefix=prefix, span=data.timedelta(days=1))
    ]


def ingest(port: int, token: str, bodies: list[bytes], clients: int, rows: int) -> dict:
    outcome = run_concurrently(port, token, bodies, clients, INGEST_PATH)
    ok = outcome["statuses"].get(201, 0)
    return {
        "rows": rows,
        "requests": len(bodies),
        "clients": clients,
        "seconds": outcome["seconds"],
        "rows_per_s": rows / outcome["seconds"],
        "statuses": {str(k): v for k, v in outcome["statuses"].items()},
        "failures": outcome["failures"],
        "all_created": ok == len(bodies),
    }


def endpoint_path(metric: str, version: str, window_minutes: int) -> str:
    return f"/api/v1/metrics/{metric}/?model_version={version}&window_minutes={window_minutes}"


def time_endpoint(port: int, token: str, path: str, repeat: int) -> dict:
    """Seconds per GET from one keep-alive client, after two warm-up requests."""
    client = Client(port, token)
    samples = []
    status = None
    body = b""
    for i in range(repeat + 2):
        started = time.perf_counter()
        status, body = client.request("GET", path)
        elapsed = time.perf_counter() - started
        if status != 200:
            break
        if i >= 2:
            samples.append(elapsed)
    client.close()
    return {"status": status, "samples": samples, "body": body[:400].decode(errors="replace")}
