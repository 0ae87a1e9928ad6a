"""A production-like gunicorn for the HTTP benchmarks, and keep-alive HTTP clients."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from bench.db import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, *, workers: int = 2, log_dir: Path, extra_env: dict | None = None):
    """Serve the site like README's production command (DEBUG off, sync workers)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # TLS ends in front of the site in production; plain HTTP here.
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "API_WRITE_THROTTLE": "",
        **(extra_env or {}),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"gunicorn-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "monitoring_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "300"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Client:
    """One keep-alive connection (http.client reconnects when the server closes it)."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # the server closed a kept-alive connection: retry once
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        data = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, data

    def close(self):
        self.conn.close()


def run_concurrently(port: int, token: str, bodies: list[bytes], clients: int, path: str) -> dict:
    """POST every body from `clients` threads; return elapsed seconds and status counts."""
    lock = threading.Lock()
    queue = list(reversed(bodies))
    statuses: dict[int, int] = {}
    failures: list[str] = []

    def work():
        client = Client(port, token)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            status, data = client.request("POST", path, body)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 300 and len(failures) < 3:
                    failures.append(f"{status}: {data[:300]!r}")
        client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "statuses": statuses, "failures": failures}


def get_json(client: Client, path: str) -> tuple[int, dict | list | None]:
    status, data = client.request("GET", path)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, None
