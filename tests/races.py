"""The one thread-racing harness of the tests: many callers released at the same instant.

Each thread uses its own database connections and closes them at its end, as two web
workers or two monitor processes would. Used by every test that races (``test_races``
of alerting and mlops, the ingest races, the legacy shell's).
"""
import threading

from django.db import connections

# Long enough for a busy machine: a thread still running after that is stuck (deadlock).
JOIN_TIMEOUT_SECONDS = 120


def race(work, arguments, *, allow_errors=False):
    """Run ``work(argument)`` in one thread per argument, all released together.

    Returns the results in the order of ``arguments``. An exception raised by ``work``
    fails the test unless ``allow_errors``, when it is returned in its place (for races
    where the losers are expected to be refused).
    """
    arguments = list(arguments)
    barrier = threading.Barrier(len(arguments))
    outcomes = [None] * len(arguments)

    def run(index, argument):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = work(argument)
        except Exception as exc:  # handed back (or reported) below, in the thread's place
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, argument), daemon=True)
        for index, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_SECONDS)
    stuck = [arguments[i] for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"racing calls still running after {JOIN_TIMEOUT_SECONDS} s: {stuck}"
    if not allow_errors:
        errors = [(arguments[i], o) for i, o in enumerate(outcomes) if isinstance(o, Exception)]
        assert not errors, errors
    return outcomes
