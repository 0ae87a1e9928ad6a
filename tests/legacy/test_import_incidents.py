"""Legacy alerts of one rule and version become one incident (SPEC §10), nothing lost."""
import json

import pytest

from alerting.choices import AlertStatus
from alerting.models import Alert, RuleState
from legacy.importing import import_legacy_dir
from tests.legacy.conftest import write_jsonl

pytestmark = pytest.mark.django_db

RULE = {"rule_id": "low_acc", "metric_name": "accuracy", "metric_type": "threshold",
        "threshold": 0.8, "comparison": "<", "severity": "warning",
        "component": "performance", "enabled": True, "cooldown_minutes": 60,
        "channels": ["console"], "conditions": {}}


def _alert(alert_id, at, value):
    return {"alert_id": alert_id, "timestamp": at, "severity": "warning",
            "title": "PERFORMANCE: accuracy Alert",
            "message": f"accuracy is {value:.4f} (< 0.8000)", "metric_name": "accuracy",
            "metric_value": value, "threshold": 0.8, "component": "performance",
            "model_version": "v1", "acknowledged": False}


def test_open_legacy_alerts_of_one_rule_merge_into_the_newest(tmp_path):
    (tmp_path / "alert_rules.json").write_text(json.dumps([RULE]))
    # Out of order in the file: the newest (a3) must end up as the open incident.
    write_jsonl(tmp_path / "alerts.jsonl", [
        _alert("a1", 1_795_000_000, 0.70), _alert("a3", 1_795_007_200, 0.60),
        _alert("a2", 1_795_003_600, 0.65),
    ])
    report = import_legacy_dir(tmp_path)
    assert report.all_lines_accounted
    alerts = {a.alert_id: a for a in Alert.objects.all()}
    assert set(alerts) == {"a1", "a2", "a3"}  # nothing lost
    assert [a.alert_id for a in Alert.objects.unresolved()] == ["a3"]
    assert alerts["a3"].occurrences == 3 and alerts["a3"].last_value == 0.60
    for merged in ("a1", "a2"):
        assert alerts[merged].status == AlertStatus.RESOLVED
        assert alerts[merged].resolution_note == "merged into a3"
    state = RuleState.objects.get(rule__rule_id="low_acc", model_version="v1")
    assert state.state == "firing"
    # A second run adds nothing and changes nothing.
    again = import_legacy_dir(tmp_path)
    assert again.files["alerts.jsonl"].already_present == 3
    assert Alert.objects.unresolved().count() == 1
