"""HTTP to the monitoring site: one kept connection, one POST per batch, answers parsed.

Standard library only (http.client), so the package installs anywhere without pulling in
a third-party HTTP stack next to the model service's own.
"""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

# Errors that mean "the request may not have arrived": retried like a 503.
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


@dataclass(frozen=True)
class Response:
    """What the site answered: ``status`` (None when the batch never left this process),
    ``body`` (the parsed JSON, or the text when it is not JSON) and lower-cased ``headers``."""

    status: int | None
    body: object = None
    headers: dict = field(default_factory=dict)

    def retry_after(self) -> float | None:
        """Seconds the site asked us to wait (Retry-After as seconds or an HTTP date)."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _parse(raw: bytes) -> object:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Transport:
    """POSTs JSON bodies to paths under ``base_url`` with the token; not thread-safe
    (each of the client's senders has its own)."""

    def __init__(self, base_url: str, token: str, timeout: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "monitoring-client/0.1",
        }
        self._conn: http.client.HTTPConnection | None = None
        self._reused = False

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
            self._reused = False
        return self._conn

    def post(self, path: str, body: bytes) -> Response:
        """One POST; raises one of CONNECTION_ERRORS when no answer came back."""
        for first_try in (True, False):
            conn = self._connection()
            reused = self._reused
            try:
                conn.request("POST", self._prefix + path, body=body, headers=self._headers)
                answer = conn.getresponse()
                raw = answer.read()
            except CONNECTION_ERRORS:
                self.close()
                if reused and first_try:
                    continue  # the server closed a kept-alive connection: a fresh one, once
                raise
            self._reused = True
            if answer.will_close:
                self.close()
            headers = {key.lower(): value for key, value in answer.getheaders()}
            return Response(answer.status, _parse(raw), headers)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
