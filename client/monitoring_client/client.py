"""The client: a bounded queue filled by the caller, emptied by sender threads.

The caller's side (log_prediction, log_outcome) only builds a dict and appends it under a
lock: it never waits for the network, and when the queue is full the item is dropped and
counted rather than blocking the request path. Each sender (two by default, each with its
own connection, so that one batch is sent while the site stores the other) takes the next
items in order and retries what the site did not answer with backoff. Predictions go at
once; a batch's outcomes wait until every batch taken before it has settled, so an outcome
never reaches the site before its prediction. The site treats an identical re-send as a
duplicate, so retrying a batch that did arrive is safe.
"""
from __future__ import annotations

import atexit
import json
import logging
import random
import threading
import time
from collections import deque
from datetime import date, datetime

from monitoring_client.transport import CONNECTION_ERRORS, Response, Transport

log = logging.getLogger("monitoring_client")

PREDICTIONS_PATH = "/api/v1/predictions/"
OUTCOMES_PATH = "/api/v1/outcomes/"
_PREDICTION, _OUTCOME = "prediction", "outcome"


def _json_default(value):
    """datetimes → ISO 8601 with an offset (naive ones are local time); numpy values."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.astimezone()).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode(item: dict) -> bytes:
    return json.dumps(
        item, default=_json_default, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


class Client:
    """Send predictions and outcomes to the monitoring site in the background.

    ``base_url`` is the site's root (``https://monitor.example.com``); ``token`` an API
    token of a user allowed to ingest. Items are sent in batches of up to ``batch_size``
    when that many are queued or every ``flush_interval`` seconds; at most ``max_queue``
    wait, beyond that new ones are dropped (``stats["dropped"]``). Items the site refuses
    (a 4xx other than 408/429) go to ``on_error(items, response)`` and count as failed.
    ``senders`` threads send, each one batch at a time (1: strictly one after another).
    """

    # Tunables (class attributes so the constructor keeps the documented signature).
    request_timeout = 10.0  # seconds for one HTTP request
    retry_base_delay = 0.5  # first backoff ceiling; doubles per failed attempt
    max_retry_delay = 30.0  # cap on the backoff
    max_retry_after = 120.0  # cap on a wait the site asks for with Retry-After
    exit_timeout = 5.0  # how long the interpreter's exit waits for the queue to drain

    def __init__(self, base_url, token, batch_size=1000, flush_interval=1.0,
                 max_queue=100_000, on_error=None, senders=2):
        if int(batch_size) < 1:
            raise ValueError("batch_size must be at least 1")
        if not float(flush_interval) > 0:
            raise ValueError("flush_interval must be a positive number of seconds")
        if int(max_queue) < 1:
            raise ValueError("max_queue must be at least 1")
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be callable")
        if int(senders) < 1:
            raise ValueError("senders must be at least 1")
        self._transports = [Transport(base_url, token, timeout=self.request_timeout)
                            for _ in range(int(senders))]
        self._batch_size = int(batch_size)
        self._flush_interval = float(flush_interval)
        self._max_queue = int(max_queue)
        self._on_error = on_error
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # idle senders wait here
        # flush() and outcomes held back for earlier batches wait here
        self._settled_changed = threading.Condition(self._lock)
        self._queue: deque = deque()
        self._enqueued = 0  # items accepted so far
        self._taken = 0  # of those, taken from the queue (in order) by a sender or dropped
        self._in_flight: dict[int, int] = {}  # batch number → items taken before it
        self._next_batch = 0
        self._flush_target = 0
        self._closing = False
        self._dropping = False
        self._abort = threading.Event()  # close() timed out: give up what is left
        self._counts = {"sent": 0, "retried": 0, "dropped": 0, "failed": 0}
        self._workers = [
            threading.Thread(target=self._run, args=(transport,), daemon=True,
                             name=f"monitoring-client-{number}")
            for number, transport in enumerate(self._transports)
        ]
        for worker in self._workers:
            worker.start()
        atexit.register(self._close_at_exit)

    # --- the caller's side: never blocks, never raises ----------------------------------
    def log_prediction(self, prediction_id, model_version, predicted_outcome, confidence,
                       features=None, metadata=None, timestamp=None, latency_ms=None) -> bool:
        """Queue one prediction; False when it was dropped (queue full or client closed).

        ``timestamp``: a datetime (sent as ISO 8601 with its offset) or epoch seconds;
        None means now, taken here rather than when the batch leaves.
        """
        item = {
            "prediction_id": prediction_id,
            "model_version": model_version,
            "predicted_outcome": predicted_outcome,
            "confidence": confidence,
            "timestamp": time.time() if timestamp is None else timestamp,
        }
        # Shallow copies: a caller reusing its dict must not change a batch being retried.
        if features is not None:
            item["features"] = dict(features) if isinstance(features, dict) else features
        if metadata is not None:
            item["metadata"] = dict(metadata) if isinstance(metadata, dict) else metadata
        if latency_ms is not None:
            item["latency_ms"] = latency_ms
        return self._put(_PREDICTION, item)

    def log_outcome(self, prediction_id, actual_outcome) -> bool:
        """Queue the actual outcome of a prediction; sent after the predictions before it."""
        return self._put(_OUTCOME, {"prediction_id": prediction_id,
                                    "actual_outcome": actual_outcome})

    def _put(self, kind: str, item: dict) -> bool:
        with self._lock:
            if not self._closing and len(self._queue) < self._max_queue:
                self._queue.append((kind, item))
                self._enqueued += 1
                if len(self._queue) == self._batch_size:
                    self._wake.notify()
                self._dropping = False
                return True
            self._counts["dropped"] += 1
            first_drop = not self._dropping
            self._dropping = True
        if first_drop:  # once per episode, not once per item
            log.warning("%s; dropping items until there is room",
                        "client is closed" if self._closing else "queue is full")
        return False

    # --- flush, close, stats --------------------------------------------------------
    def flush(self, timeout=None) -> bool:
        """Wait until everything queued so far is sent or given up; True when it was."""
        if threading.current_thread() in self._workers:
            return False  # called from on_error: waiting for ourselves would never end
        with self._lock:
            target = self._enqueued
            if self._settled >= target:
                return True
            self._flush_target = max(self._flush_target, target)
            self._wake.notify_all()
            return self._settled_changed.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout=None) -> bool:
        """Flush (up to ``timeout`` seconds), then stop the worker; what is still unsent
        then is dropped. Later log calls are dropped. True when everything was sent."""
        with self._lock:
            already = self._closing
            self._closing = True
            self._wake.notify_all()
        if threading.current_thread() in self._workers:
            return False  # from on_error: the senders send the rest, then stop
        if already and not any(worker.is_alive() for worker in self._workers):
            return self._settled >= self._enqueued
        drained = self.flush(timeout)
        if not drained:
            self._abort.set()
            with self._lock:
                left = len(self._queue)
                self._queue.clear()
                self._counts["dropped"] += left
                self._taken += left
                self._wake.notify_all()
                self._settled_changed.notify_all()
            log.warning("closed before the site took everything; "
                        "%d queued items dropped", left)
        if threading.current_thread() not in self._workers:
            for worker in self._workers:
                worker.join(self.request_timeout + 1)
        self._transport_close()
        atexit.unregister(self._close_at_exit)
        return drained

    def _transport_close(self):
        if not any(worker.is_alive() for worker in self._workers):
            for transport in self._transports:
                transport.close()

    def _close_at_exit(self):
        self.close(timeout=self.exit_timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def stats(self) -> dict:
        """Counts of items: ``sent`` (stored or already there), ``retried`` (sent again
        after a failed attempt), ``dropped`` (never sent: queue full or closed), ``failed``
        (refused by the site, handed to on_error)."""
        with self._lock:
            return dict(self._counts)

    def _count(self, name: str, n: int) -> None:
        with self._lock:
            self._counts[name] += n

    # --- the senders ---------------------------------------------------------------------
    def _run(self, transport: Transport) -> None:
        next_tick = time.monotonic() + self._flush_interval
        while True:
            with self._lock:
                while True:
                    now = time.monotonic()
                    due = (self._closing or self._flush_target > self._settled
                           or now >= next_tick)
                    if len(self._queue) >= self._batch_size or (due and self._queue):
                        break
                    if not self._queue:
                        if self._closing:
                            return  # what others still send, they finish themselves
                        if now >= next_tick:
                            next_tick = now + self._flush_interval
                    self._wake.wait(next_tick - now if next_tick > now else None)
                chunk = self._take()
                batch = self._next_batch
                self._next_batch += 1
                self._in_flight[batch] = self._taken
                self._taken += len(chunk)
                if len(self._queue) >= self._batch_size:
                    self._wake.notify()  # another full batch: another sender
            try:
                self._deliver(chunk, batch, transport)
            except Exception:  # a bug here must not stop the sender or reach the caller
                log.exception("could not deliver %d items", len(chunk))
                self._count("failed", len(chunk))
            with self._lock:
                del self._in_flight[batch]
                self._settled_changed.notify_all()
                self._wake.notify_all()

    @property
    def _settled(self) -> int:
        """Items sent or given up: all of them before the oldest batch still in flight
        (read under the lock)."""
        return min(self._in_flight.values(), default=self._taken)

    def _after_earlier_batches(self, batch: int) -> None:
        """Wait until every batch taken before ``batch`` has settled (or close gave up)."""
        with self._lock:
            self._settled_changed.wait_for(
                lambda: self._abort.is_set() or min(self._in_flight) == batch)

    def _take(self) -> list:
        """Up to batch_size items of each kind, in queue order (called under the lock)."""
        chunk, counts = [], {_PREDICTION: 0, _OUTCOME: 0}
        while self._queue and max(counts.values()) < self._batch_size:
            kind, item = self._queue.popleft()
            counts[kind] += 1
            chunk.append((kind, item))
        return chunk

    def _deliver(self, chunk: list, batch: int, transport: Transport) -> None:
        predictions = [item for kind, item in chunk if kind == _PREDICTION]
        outcomes = [item for kind, item in chunk if kind == _OUTCOME]
        if predictions:
            self._send(PREDICTIONS_PATH, predictions, transport)
        if outcomes:
            # Their predictions may be in a batch taken earlier, still on its way.
            self._after_earlier_batches(batch)
            self._send(OUTCOMES_PATH, outcomes, transport)

    def _send(self, path: str, items: list, transport: Transport) -> None:
        pending = []
        for item in items:
            try:
                pending.append((item, _encode(item)))
            except (TypeError, ValueError) as exc:
                self._refuse([item], Response(None, {"detail": f"Not JSON: {exc}"}))
        self._post_until_settled(path, pending, transport)

    def _post_until_settled(self, path: str, pending: list, transport: Transport) -> None:
        """POST ``pending`` [(item, json)] until the site stores or refuses each item."""
        failures = 0
        while pending:
            if self._abort.is_set():
                self._count("dropped", len(pending))
                return
            if failures:
                self._count("retried", len(pending))
            body = b"[" + b",".join(encoded for _, encoded in pending) + b"]"
            try:
                response = transport.post(path, body)
            except CONNECTION_ERRORS as exc:
                response, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                status = response.status
                if 200 <= status < 300:
                    self._accepted(path, pending, response)
                    return
                if status not in (408, 429) and status < 500:
                    pending = self._split_refused(path, pending, response, transport)
                    failures = 0
                    continue
                problem = f"HTTP {status}"
            delay = self._retry_delay(failures, response)
            (log.warning if failures == 0 else log.debug)(
                "%d items not delivered (%s); retrying in %.2f s",
                len(pending), problem, delay)
            failures += 1
            self._abort.wait(delay)

    def _retry_delay(self, failures: int, response: Response | None) -> float:
        asked = response.retry_after() if response is not None else None
        if asked is not None:
            return min(asked, self.max_retry_after)
        ceiling = min(self.max_retry_delay, self.retry_base_delay * 2 ** min(failures, 30))
        return random.uniform(0, ceiling)  # full jitter: clients do not retry in step

    def _accepted(self, path: str, pending: list, response: Response) -> None:
        body = response.body if isinstance(response.body, dict) else {}
        not_found = body.get("not_found") if path == OUTCOMES_PATH else None
        if isinstance(not_found, list) and not_found:
            missing = set(map(str, not_found))
            unknown = [item for item, _ in pending if str(item["prediction_id"]) in missing]
            self._count("sent", len(pending) - len(unknown))
            self._refuse(unknown, response)
        else:
            self._count("sent", len(pending))

    def _split_refused(self, path: str, pending: list, response: Response,
                       transport: Transport) -> list:
        """Hand the items the site named to on_error; return the others to send again."""
        body = response.body if isinstance(response.body, dict) else {}
        status = response.status
        bad: set[int] = set()
        if status == 400 and isinstance(body.get("errors"), dict):
            for key in body["errors"]:
                try:
                    index = int(key)
                except (TypeError, ValueError):
                    continue
                if 0 <= index < len(pending):
                    bad.add(index)
        elif status == 409 and isinstance(body.get("prediction_ids"), list):
            ids = set(map(str, body["prediction_ids"]))
            bad = {i for i, (item, _) in enumerate(pending) if str(item["prediction_id"]) in ids}
        elif status == 413 and len(pending) > 1:  # too large: send each half on its own
            half = len(pending) // 2
            self._post_until_settled(path, pending[:half], transport)
            self._post_until_settled(path, pending[half:], transport)
            return []
        if not bad:
            bad = set(range(len(pending)))  # not told which: the whole batch is refused
        self._refuse([pending[i][0] for i in sorted(bad)], response)
        return [entry for i, entry in enumerate(pending) if i not in bad]

    def _refuse(self, items: list, response: Response) -> None:
        if not items:
            return
        self._count("failed", len(items))
        if self._on_error is None:
            log.warning("the site refused %d items: %s %s",
                        len(items), response.status, str(response.body)[:500])
            return
        try:
            self._on_error(items, response)
        except Exception:
            log.exception("on_error raised")
