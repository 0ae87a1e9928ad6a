"""Several processes on one database: rule states survive restarts, monitors never double up.

Every step runs in a new Python process (manage.py …) against the same database: a file
SQLite database on SQLite, the test database itself on PostgreSQL.
"""
import json
import signal
import time

import pytest

from tests.alerting.conftest import manage, shell, start_manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED = """
from datetime import timedelta
from django.utils import timezone
from predictions.models import Prediction
from alerting.models import AlertRule
now = timezone.now()
for i in range(4):
    Prediction.objects.create(
        prediction_id=f"p{i}", model_version="v1", timestamp=now - timedelta(minutes=2),
        predicted_outcome=1, confidence=0.9, actual_outcome=0,
    )
AlertRule.objects.create(
    rule_id="low-accuracy", metric_name="accuracy", threshold=0.7, comparison="<",
    cooldown_minutes=60, channels=["file"],
)
"""

COUNTS = """
import json
from alerting.models import Alert, Delivery
from predictions.models import HealthSnapshot
print(json.dumps({
    "snapshots": HealthSnapshot.objects.count(),
    "alerts": Alert.objects.count(),
    "sent": Delivery.objects.filter(status="sent").count(),
    "deliveries": Delivery.objects.count(),
}))
"""

RESOLVED_AN_HOUR_AGO = """
from datetime import timedelta
from django.utils import timezone
from alerting.lifecycle import resolve_alert
from alerting.models import Alert
alert = Alert.objects.get()
print(resolve_alert(alert.alert_id, by="ann", now=timezone.now() - timedelta(minutes=61)).changed)
"""

OCCURRENCES = """
from alerting.models import Alert
print(sorted(Alert.objects.values_list("occurrences", flat=True)))
"""


def counts(database_url, env):
    return json.loads(shell(database_url, COUNTS, env=env).strip().splitlines()[-1])


@pytest.fixture
def alert_log_env(tmp_path):
    log = tmp_path / "alert_log.txt"
    return log, {"MONITORING_ALERT_LOG": str(log), "LOG_LEVEL": "WARNING"}


def test_rule_state_survives_a_process_restart(other_process_db, alert_log_env):
    log, env = alert_log_env
    shell(other_process_db, SEED, env=env)

    manage(other_process_db, "compute_snapshots", env=env)
    assert counts(other_process_db, env)["alerts"] == 1

    # A new process, the same database: the same incident, seen once more.
    manage(other_process_db, "compute_snapshots", env=env)
    after_restart = counts(other_process_db, env)
    assert after_restart["snapshots"] == 2
    assert after_restart["alerts"] == 1
    assert shell(other_process_db, OCCURRENCES, env=env).strip().splitlines()[-1] == "[2]"

    # Resolved by a person more than the cooldown ago: the next pass opens a new incident.
    assert shell(other_process_db, RESOLVED_AN_HOUR_AGO, env=env).strip().endswith("True")
    manage(other_process_db, "compute_snapshots", env=env)
    assert counts(other_process_db, env)["alerts"] == 2
    assert log.read_text().count("PERFORMANCE: accuracy Alert") == 2


def test_two_monitors_in_parallel_make_no_duplicate(other_process_db, alert_log_env, tmp_path):
    log, env = alert_log_env
    shell(other_process_db, SEED, env=env)
    monitors = [
        start_manage(other_process_db, "run_monitor", "--once", "--interval", "86400",
                     env=env, log_path=tmp_path / f"monitor-{n}.log")
        for n in range(3)
    ]
    for monitor in monitors:
        assert monitor.wait(timeout=120) == 0, [
            (tmp_path / f"monitor-{n}.log").read_text() for n in range(3)
        ]
    assert counts(other_process_db, env) == {
        "snapshots": 1, "alerts": 1, "sent": 1, "deliveries": 1,
    }
    assert log.read_text().count("PERFORMANCE: accuracy Alert") == 1


def test_run_monitor_stops_cleanly_on_sigterm(other_process_db, alert_log_env, tmp_path):
    _, env = alert_log_env
    shell(other_process_db, SEED, env=env)
    output = tmp_path / "monitor.log"
    monitor = start_manage(other_process_db, "run_monitor", "--interval", "1",
                           env={**env, "PYTHONUNBUFFERED": "1"}, log_path=output)
    try:
        deadline = time.monotonic() + 60
        while "slot " not in output.read_text() and time.monotonic() < deadline:
            assert monitor.poll() is None, output.read_text()
            time.sleep(0.2)
        monitor.send_signal(signal.SIGTERM)
        assert monitor.wait(timeout=60) == 0, output.read_text()
    finally:
        if monitor.poll() is None:
            monitor.kill()
    text = output.read_text()
    assert "SIGTERM" in text and "monitor stopped" in text
    assert counts(other_process_db, env)["alerts"] == 1
