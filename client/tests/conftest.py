"""A fake monitoring site on 127.0.0.1 for the client's tests (no mocks of the network).

It answers like the real site (all-or-nothing batches, 400 naming bad indexes, 409 on a
changed re-send, identical re-sends counted as duplicates, outcomes with not_found), and
can be told to answer the next requests differently (a status, or a dropped connection).
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "secret-token"  # noqa: S105 (a test token)
DROP = "drop"  # a scripted answer: close the connection without answering


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def items(self):
        return json.loads(self.body)


class FakeSite:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.stored: dict[str, dict] = {}
        self.outcomes: dict[str, int] = {}
        self.script: deque = deque()  # next answers: (status, body, headers) or DROP
        self.delay = 0.0  # seconds each request is held before it is answered
        self.open_requests = 0
        self.most_open_requests = 0  # how many were being answered at once, at most
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a proxy in front of the site

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with site.lock:
                    site.requests.append(
                        Received(self.path, dict(self.headers), body, time.monotonic())
                    )
                    scripted = site.script.popleft() if site.script else None
                    site.open_requests += 1
                    site.most_open_requests = max(site.most_open_requests, site.open_requests)
                try:
                    time.sleep(site.delay)
                    self._answer(body, scripted)
                finally:
                    with site.lock:
                        site.open_requests -= 1

            def _answer(self, body, scripted):
                if scripted == DROP:
                    self.close_connection = True
                    return
                if scripted is None:
                    scripted = site.answer(self.path, self.headers, body)
                status, payload, headers = scripted
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path, headers, body):
        if headers.get("Authorization") != f"Token {TOKEN}":
            return 401, {"detail": "Invalid token."}, None
        items = json.loads(body)
        with self.lock:
            if path.endswith("/api/v1/predictions/"):
                return self._ingest(items)
            if path.endswith("/api/v1/outcomes/"):
                return self._outcomes(items)
        return 404, {"detail": "Not found."}, None

    def _ingest(self, items):
        errors = {
            str(i): {"confidence": "Must be between 0 and 1."}
            for i, item in enumerate(items)
            if not 0 <= item["confidence"] <= 1
        }
        if errors:
            return 400, {"detail": f"{len(errors)} invalid", "errors": errors}, None
        conflicts = [
            item["prediction_id"] for item in items
            if item["prediction_id"] in self.stored
            and self.stored[item["prediction_id"]] != item
        ]
        if conflicts:
            return 409, {"detail": "conflict", "prediction_ids": conflicts}, None
        created = 0
        for item in items:
            if item["prediction_id"] not in self.stored:
                self.stored[item["prediction_id"]] = item
                created += 1
        return 201, {"created": created, "duplicates": len(items) - created}, None

    def _outcomes(self, items):
        not_found = [i["prediction_id"] for i in items if i["prediction_id"] not in self.stored]
        for item in items:
            if item["prediction_id"] in self.stored:
                self.outcomes[item["prediction_id"]] = item["actual_outcome"]
        return 200, {"updated": len(items) - len(not_found), "not_found": not_found}, None

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.01)
        with self.lock:
            return predicate()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    fake = FakeSite()
    yield fake
    fake.close()
