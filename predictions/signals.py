"""Hooks for apps that act on what the predictions API computes (SPEC §3, §8).

``predictions`` never imports ``alerting``; alerting evaluates its rules on snapshots and
drift reports by connecting receivers to these signals (``AlertingConfig.ready``).

- ``snapshots_computed``: sent by ``POST health-snapshots/compute/`` with ``snapshots``
  (the HealthSnapshots just stored) and ``now`` (the moment they measure).
- ``drift_report_computed``: sent by ``POST drift-reports/compute/`` with ``report`` (the
  DriftReport just stored) and ``now``.

Each receiver returns a dict of JSON-ready fields, which the API adds to its answer
(alerting adds ``alerts_fired``, …). Only the API views send them: the monitor pass
(``alerting.monitor``, behind ``run_monitor`` and ``compute_snapshots``) calls the same
services and evaluates the rules itself, so nothing is evaluated twice.
"""
from django.dispatch import Signal

snapshots_computed = Signal()
drift_report_computed = Signal()


def receivers_answer(signal: Signal, sender, **payload) -> dict:
    """Send ``signal`` and merge the fields its receivers return (errors propagate)."""
    answer = {}
    for _receiver, fields in signal.send(sender=sender, **payload):
        answer.update(fields or {})
    return answer
