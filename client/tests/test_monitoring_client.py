"""monitoring_client against a fake site over real HTTP on 127.0.0.1."""
from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import DROP, TOKEN
from monitoring_client import Client


class FastClient(Client):
    """Short backoff so retry tests take milliseconds, not seconds."""

    retry_base_delay = 0.01
    max_retry_delay = 0.05


@pytest.fixture
def make_client():
    clients = []

    def make(url, cls=FastClient, **kwargs):
        kwargs.setdefault("flush_interval", 60)  # only size, flush() or close() send
        client = cls(url, TOKEN, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=5)


def log(client, n, prefix="p", **overrides):
    results = []
    for i in range(n):
        fields = {"model_version": "v1", "predicted_outcome": i % 2, "confidence": 0.75,
                  "timestamp": 1_700_000_000.0 + i, **overrides}
        results.append(client.log_prediction(f"{prefix}{i}", **fields))
    return results


def errors_collector():
    calls = []

    def on_error(items, response):
        calls.append((items, response))

    return calls, on_error


# --- batching ---------------------------------------------------------------------------
def test_full_batches_leave_without_waiting_for_the_interval(site, make_client):
    client = make_client(site.url, batch_size=10)
    log(client, 25)
    assert site.wait_for(lambda: len(site.requests) == 2)
    assert client.flush(timeout=10)
    assert [len(r.items) for r in site.requests] == [10, 10, 5]
    assert len(site.stored) == 25
    assert client.stats == {"sent": 25, "retried": 0, "dropped": 0, "failed": 0}


def test_partial_batch_leaves_after_flush_interval_without_flush(site, make_client):
    client = make_client(site.url, batch_size=1000, flush_interval=0.2)
    log(client, 3)
    assert site.wait_for(lambda: len(site.stored) == 3)
    assert [len(r.items) for r in site.requests] == [3]


def test_requests_carry_the_token_under_the_base_url_path(site, make_client):
    client = make_client(site.url + "/monitor/")
    log(client, 1)
    assert client.flush(timeout=10)
    (request,) = site.requests
    assert request.path == "/monitor/api/v1/predictions/"
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"


# --- retries -------------------------------------------------------------------------------
def test_503_is_retried_with_the_same_body_until_stored(site, make_client):
    site.script.extend([(503, {"detail": "down"}, None), (500, {"detail": "oops"}, None)])
    client = make_client(site.url)
    log(client, 5)
    assert client.flush(timeout=10)
    assert len(site.requests) == 3
    assert site.requests[0].body == site.requests[1].body == site.requests[2].body
    assert len(site.stored) == 5
    assert client.stats == {"sent": 5, "retried": 10, "dropped": 0, "failed": 0}


def test_429_waits_the_retry_after_seconds(site, make_client):
    site.script.append((429, {"detail": "slow down"}, {"Retry-After": "1"}))
    client = make_client(site.url)
    log(client, 2)
    assert client.flush(timeout=10)
    first, second = site.requests
    # The backoff alone would wait ≤ 0.05 s: the gap shows Retry-After was obeyed.
    assert second.at - first.at >= 0.9
    assert client.stats["sent"] == 2 and client.stats["retried"] == 2


def test_408_and_dropped_connections_are_retried(site, make_client):
    site.script.extend([DROP, (408, {"detail": "timeout"}, None)])
    client = make_client(site.url)
    log(client, 3)
    assert client.flush(timeout=10)
    assert len(site.requests) == 3
    assert len(site.stored) == 3
    assert client.stats == {"sent": 3, "retried": 6, "dropped": 0, "failed": 0}


def test_a_retry_of_a_batch_that_arrived_is_counted_once(site, make_client):
    # The site stored the batch but the answer was lost (a 502 from a proxy): the
    # re-send is a duplicate, not a second copy.
    client = make_client(site.url)
    log(client, 4)
    assert client.flush(timeout=10)
    site.script.append((502, {"detail": "bad gateway"}, None))
    log(client, 4)  # the same ids and content again
    assert client.flush(timeout=10)
    assert len(site.stored) == 4
    assert client.stats["failed"] == 0


# --- refusals ------------------------------------------------------------------------------
def test_an_invalid_item_goes_to_on_error_and_the_others_are_stored(site, make_client):
    calls, on_error = errors_collector()
    client = make_client(site.url, on_error=on_error)
    log(client, 2, prefix="a")
    client.log_prediction("bad", "v1", 1, 2.0)
    log(client, 2, prefix="b")
    assert client.flush(timeout=10)
    ((items, response),) = calls
    assert [item["prediction_id"] for item in items] == ["bad"]
    assert response.status == 400
    assert response.body["errors"] == {"2": {"confidence": "Must be between 0 and 1."}}
    assert sorted(site.stored) == ["a0", "a1", "b0", "b1"]
    assert client.stats == {"sent": 4, "retried": 0, "dropped": 0, "failed": 1}


def test_a_conflicting_resend_goes_to_on_error_and_the_others_are_stored(site, make_client):
    calls, on_error = errors_collector()
    client = make_client(site.url, on_error=on_error)
    log(client, 1)
    assert client.flush(timeout=10)
    client.log_prediction("p0", "v1", 1, 0.1)  # same id, other content
    client.log_prediction("q0", "v1", 1, 0.1)
    assert client.flush(timeout=10)
    ((items, response),) = calls
    assert response.status == 409
    assert [item["prediction_id"] for item in items] == ["p0"]
    assert "q0" in site.stored and site.stored["p0"]["confidence"] == 0.75
    assert client.stats == {"sent": 2, "retried": 0, "dropped": 0, "failed": 1}


def test_a_batch_too_large_is_split(site, make_client):
    site.script.append((413, {"detail": "too large"}, None))
    client = make_client(site.url)
    log(client, 4)
    assert client.flush(timeout=10)
    assert [len(r.items) for r in site.requests] == [4, 2, 2]
    assert len(site.stored) == 4
    assert client.stats["sent"] == 4 and client.stats["failed"] == 0


def test_a_refused_token_hands_the_whole_batch_to_on_error(site, make_client):
    calls, on_error = errors_collector()
    client = make_client(site.url, on_error=on_error)
    for transport in client._transports:
        transport._headers["Authorization"] = "Token wrong"
    log(client, 3)
    assert client.flush(timeout=10)
    ((items, response),) = calls
    assert len(items) == 3 and response.status == 401
    assert response.body == {"detail": "Invalid token."}
    assert len(site.requests) == 1  # a 401 is not retried
    assert client.stats == {"sent": 0, "retried": 0, "dropped": 0, "failed": 3}


def test_an_on_error_that_raises_does_not_stop_the_worker(site, make_client):
    def on_error(items, response):
        raise RuntimeError("callback bug")

    client = make_client(site.url, on_error=on_error)
    client.log_prediction("bad", "v1", 1, 2.0)
    assert client.flush(timeout=10)
    log(client, 2)
    assert client.flush(timeout=10)
    assert sorted(site.stored) == ["p0", "p1"]


def test_close_called_from_on_error_still_sends_the_rest(site, make_client):
    client = None

    def on_error(items, response):
        client.close()

    client = make_client(site.url, on_error=on_error)
    client.log_prediction("bad", "v1", 1, 2.0)
    log(client, 2)
    assert client.flush(timeout=10)
    for worker in client._workers:
        worker.join(10)
    assert not any(worker.is_alive() for worker in client._workers)
    assert sorted(site.stored) == ["p0", "p1"]
    assert client.stats["dropped"] == 0


def test_an_item_that_is_not_json_goes_to_on_error(site, make_client):
    calls, on_error = errors_collector()
    client = make_client(site.url, on_error=on_error)
    client.log_prediction("odd", "v1", 1, 0.5, features={"x": object()})
    log(client, 1)
    assert client.flush(timeout=10)
    ((items, response),) = calls
    assert items[0]["prediction_id"] == "odd" and response.status is None
    assert list(site.stored) == ["p0"]


# --- outcomes ------------------------------------------------------------------------------
def test_outcomes_follow_their_predictions_and_unknown_ids_reach_on_error(site, make_client):
    calls, on_error = errors_collector()
    client = make_client(site.url, on_error=on_error)
    log(client, 2)
    client.log_outcome("p0", 1)
    client.log_outcome("nobody", 0)
    log(client, 1, prefix="late")
    assert client.flush(timeout=10)
    assert [r.path for r in site.requests] == ["/api/v1/predictions/", "/api/v1/outcomes/"]
    assert site.requests[1].items == [{"prediction_id": "p0", "actual_outcome": 1},
                                      {"prediction_id": "nobody", "actual_outcome": 0}]
    assert site.outcomes == {"p0": 1}
    ((items, response),) = calls
    assert items == [{"prediction_id": "nobody", "actual_outcome": 0}]
    assert response.body["not_found"] == ["nobody"]
    assert client.stats == {"sent": 4, "retried": 0, "dropped": 0, "failed": 1}


# --- the queue, flush and close ------------------------------------------------------------
def test_a_full_queue_drops_and_counts_instead_of_blocking(site, make_client):
    client = make_client(site.url, batch_size=100, max_queue=5)
    assert log(client, 8) == [True] * 5 + [False] * 3
    assert client.stats["dropped"] == 3
    assert client.flush(timeout=10)
    assert len(site.stored) == 5
    assert client.stats == {"sent": 5, "retried": 0, "dropped": 3, "failed": 0}


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_flush_gives_up_at_its_timeout_and_close_drops_the_rest(make_client):
    client = make_client(f"http://127.0.0.1:{unused_port()}")  # nothing listens there
    log(client, 3)
    assert client.flush(timeout=0.3) is False
    assert client.close(timeout=0.2) is False
    assert client.stats["dropped"] == 3 and client.stats["sent"] == 0
    assert client.stats["retried"] > 0
    assert not any(worker.is_alive() for worker in client._workers)
    assert client.log_prediction("after", "v1", 1, 0.5) is False
    assert client.stats["dropped"] == 4


def test_close_sends_everything_then_stops_the_worker(site, make_client):
    client = make_client(site.url, batch_size=1000)
    log(client, 3)
    assert client.close() is True
    assert len(site.stored) == 3
    assert not any(worker.is_alive() for worker in client._workers)
    assert client.close() is True  # twice is harmless
    assert client.flush(timeout=1) is True


def test_flush_with_nothing_queued_returns_at_once(site, make_client):
    assert make_client(site.url).flush(timeout=0) is True


def test_threads_logging_at_once_store_each_prediction_once(site, make_client):
    client = make_client(site.url, batch_size=50)

    def produce(t):
        for i in range(500):
            client.log_prediction(f"t{t}-{i}", "v1", 1, 0.5)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.close(timeout=30)
    assert len(site.stored) == 2000
    assert sum(len(r.items) for r in site.requests) == 2000
    assert client.stats == {"sent": 2000, "retried": 0, "dropped": 0, "failed": 0}


# --- what is sent --------------------------------------------------------------------------
def test_timestamps_and_optional_fields(site, make_client):
    client = make_client(site.url)
    paris = timezone(timedelta(hours=2))
    before = time.time()
    client.log_prediction("aware", "v1", 1, 0.5, timestamp=datetime(2026, 1, 2, 3, 4, 5,
                                                                    tzinfo=paris))
    client.log_prediction("naive", "v1", 1, 0.5, timestamp=datetime(2026, 1, 2, 3, 4, 5))
    client.log_prediction("epoch", "v1", 1, 0.5, timestamp=1_700_000_000.25)
    client.log_prediction("now", "v1", 1, 0.5, features={"age": 41}, metadata={"r": "eu"},
                          latency_ms=12.5)
    after = time.time()
    assert client.flush(timeout=10)
    stored = site.stored
    assert stored["aware"]["timestamp"] == "2026-01-02T03:04:05+02:00"
    naive = datetime.fromisoformat(stored["naive"]["timestamp"])
    assert naive.utcoffset() is not None  # local time, with its offset
    assert naive.astimezone(UTC) == datetime(2026, 1, 2, 3, 4, 5).astimezone(UTC)
    assert stored["epoch"]["timestamp"] == 1_700_000_000.25
    assert before <= stored["now"]["timestamp"] <= after  # taken when logged
    assert stored["now"]["features"] == {"age": 41}
    assert stored["now"]["metadata"] == {"r": "eu"}
    assert stored["now"]["latency_ms"] == 12.5
    assert "features" not in stored["epoch"] and "latency_ms" not in stored["epoch"]


def test_a_features_dict_changed_after_logging_does_not_change_what_is_sent(site, make_client):
    client = make_client(site.url)
    features = {"x": 1}
    client.log_prediction("p", "v1", 1, 0.5, features=features)
    features["x"] = 2
    assert client.flush(timeout=10)
    assert site.stored["p"]["features"] == {"x": 1}


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"flush_interval": 0},
                                    {"max_queue": 0}, {"on_error": "nope"}])
def test_bad_settings_are_refused_at_construction(kwargs):
    with pytest.raises((ValueError, TypeError)):
        Client("http://127.0.0.1:1", TOKEN, **kwargs)


def test_base_url_must_be_http():
    with pytest.raises(ValueError, match="base_url"):
        Client("ftp://example.com", TOKEN)


def test_two_senders_keep_two_batches_in_flight(site, make_client):
    # While the site stores one batch, the next one is already on its way.
    site.delay = 0.3
    client = make_client(site.url, batch_size=5)
    log(client, 10)
    assert client.flush(timeout=10)
    assert len(site.stored) == 10
    assert site.most_open_requests == 2


def test_one_sender_keeps_one_batch_in_flight(site, make_client):
    site.delay = 0.1
    client = make_client(site.url, batch_size=5, senders=1)
    log(client, 10)
    assert client.flush(timeout=10)
    assert len(site.stored) == 10 and site.most_open_requests == 1


def test_outcomes_wait_for_their_predictions_in_an_earlier_batch(site, make_client):
    calls, on_error = errors_collector()
    site.script.append((503, {"detail": "busy"}, None))  # the predictions' first try
    client = make_client(site.url, batch_size=3, on_error=on_error)
    log(client, 3)
    for i in range(3):
        client.log_outcome(f"p{i}", 1)
    assert client.flush(timeout=10)
    assert calls == []  # no outcome came back "not found"
    assert site.outcomes == {"p0": 1, "p1": 1, "p2": 1}
    paths = [r.path.rsplit("/", 2)[-2] for r in site.requests]
    assert paths == ["predictions", "predictions", "outcomes"]  # retried, then outcomes
    assert client.stats == {"sent": 6, "retried": 3, "dropped": 0, "failed": 0}


def test_senders_must_be_at_least_one(site):
    with pytest.raises(ValueError, match="senders"):
        FastClient(site.url, TOKEN, senders=0)
