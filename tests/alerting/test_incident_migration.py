"""The §10 migration merges today's duplicate open alerts of a rule and version into the
newest (occurrences summed) and resolves the others with a note; nothing is deleted."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("alerting", "0003_delivery_next_attempt_nullable")]
AFTER = [("alerting", "0006_one_incident_silences_heartbeat")]
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_duplicate_open_alerts_are_merged_into_the_newest():
    try:
        apps = _migrate(BEFORE)
        rules = apps.get_model("alerting", "AlertRule").objects
        alerts = apps.get_model("alerting", "Alert").objects
        rule = rules.create(rule_id="dup", metric_name="accuracy", threshold=0.7,
                            comparison="<")
        other = rules.create(rule_id="single", metric_name="accuracy", threshold=0.7,
                             comparison="<")

        def alert(alert_id, minutes, **extra):
            return alerts.create(alert_id=alert_id, timestamp=T0 + timedelta(minutes=minutes),
                                 severity="warning", title="t", message="m",
                                 metric_value=0.5 + minutes / 100, **extra)

        alert("a1", 0, rule=rule, model_version="v1")
        alert("a2", 10, rule=rule, model_version="v1", status="acknowledged",
              acknowledged=True)
        alert("a3", 20, rule=rule, model_version="v1")
        alert("a4", 5, rule=rule, model_version="v2")
        alert("a5", 1, rule=rule, model_version="v1", status="resolved", resolved_at=T0)
        alert("a6", 2, rule=other, model_version="v1")
        alert("a7", 3, model_version="v1")  # no rule: not an incident of any rule
        alert("a8", 4, model_version="v1")

        apps = _migrate(AFTER)
        migrated = apps.get_model("alerting", "Alert").objects
        assert migrated.count() == 8  # nothing deleted
        open_ids = set(migrated.exclude(status="resolved").values_list("alert_id", flat=True))
        assert open_ids == {"a3", "a4", "a6", "a7", "a8"}
        assert migrated.get(alert_id="a3").occurrences == 3
        for merged in ("a1", "a2"):
            row = migrated.get(alert_id=merged)
            assert row.resolution_note == "merged into a3"
            assert row.resolved_by == "migration" and row.resolved_at is not None
        assert migrated.get(alert_id="a5").resolution_note == ""
        states = apps.get_model("alerting", "RuleState").objects
        assert sorted(states.filter(state="firing").values_list(
            "rule__rule_id", "model_version")) == [("dup", "v1"), ("dup", "v2"), ("single", "v1")]
        assert migrated.get(alert_id="a4").last_seen_at == T0 + timedelta(minutes=5)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
