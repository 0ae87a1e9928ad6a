"""A gunicorn worker killed with SIGKILL in the middle of a large batch: all or nothing.

The batch of 10,000 predictions is posted, the worker is killed at several moments while
the request is in flight (on PostgreSQL also the moment its transaction is seen open in
pg_stat_activity), and after each kill the batch is either entirely stored or absent.
"""
import http.client
import json
import os
import signal
import threading
import time

import psycopg2

from tests.reliability.conftest import INGEST_TOKEN, request

BATCH = 10_000
# None: kill as soon as the ingesting transaction is seen open (PostgreSQL only).
KILL_AFTER_SECONDS = [None, 0.0, 0.05, 0.2, 0.5, 1.0]


def _body(prefix):
    return json.dumps([
        {"prediction_id": f"{prefix}{i:05d}", "model_version": "v1", "predicted_outcome": i % 2,
         "confidence": 0.5 + (i % 50) / 100, "features": {"x": i}, "metadata": {}}
        for i in range(BATCH)
    ]).encode()


def _post(base, body, outcome):
    port = int(base.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/api/v1/predictions/", body=body, headers={
            "Authorization": f"Token {INGEST_TOKEN}", "Content-Type": "application/json"})
        answer = conn.getresponse()
        outcome["status"] = answer.status
        answer.read()
    except OSError as exc:  # the worker died under the request
        outcome["error"] = type(exc).__name__
    finally:
        conn.close()


OPEN_WRITE = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
      AND (state = 'idle in transaction' OR query ILIKE 'INSERT%%')
"""
ANY_OPEN = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
"""


def _wait_for_open_transaction(url, deadline_s=30):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                cur.execute(OPEN_WRITE)
                if cur.fetchone()[0]:
                    return True
        return False
    finally:
        conn.close()


def _wait_until_no_transaction(url, deadline_s=30):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                cur.execute(ANY_OPEN)
                if cur.fetchone()[0] == 0:
                    return
                time.sleep(0.05)
    finally:
        conn.close()
    raise AssertionError("a transaction of the killed worker is still open")


def _fresh_worker(server, not_pid=None, deadline_s=30):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        workers = [pid for pid in server.workers() if pid != not_pid]
        if workers:
            try:
                if request(server.base, "GET", "/healthz", timeout=10).status == 200:
                    return workers[0]
            except OSError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not replace its worker:\n{server.log()}")


def test_killed_worker_leaves_whole_batch_or_nothing(site_db, serve):
    server = serve(site_db.url, workers=1, timeout=120)
    on_postgres = site_db.vendor == "postgresql"
    results = []
    worker = _fresh_worker(server)
    for attempt, delay in enumerate(KILL_AFTER_SECONDS):
        if delay is None and not on_postgres:
            continue
        prefix = f"kill{attempt}-"
        body = _body(prefix)
        outcome = {}
        sender = threading.Thread(target=_post, args=(server.base, body, outcome))
        sender.start()
        if delay is None:
            seen_open = _wait_for_open_transaction(site_db.url)
        else:
            time.sleep(delay)
            seen_open = None
        os.kill(worker, signal.SIGKILL)
        sender.join(120)
        assert not sender.is_alive()
        if on_postgres:
            _wait_until_no_transaction(site_db.url)
        worker = _fresh_worker(server, not_pid=worker)
        (stored,) = site_db.query(
            "SELECT count(*) FROM predictions_prediction WHERE prediction_id LIKE %s",
            (prefix + "%",),
        )[0]
        results.append({"delay": delay, "seen_open": seen_open, **outcome, "stored": stored})
        assert stored in (0, BATCH), results

    # The kills did land in the middle of requests, not only between them.
    assert any("error" in r for r in results), results
    if on_postgres:
        assert results[0]["seen_open"] and "error" in results[0], results
        assert results[0]["stored"] == 0, results
    # And the server still ingests afterwards.
    again = request(server.base, "POST", "/api/v1/predictions/", token=INGEST_TOKEN,
                    body=_body("after-"))
    assert again.status == 201, again.body[:300]
