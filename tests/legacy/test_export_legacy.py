"""manage.py export_legacy: the legacy formats back; import → export → import is lossless."""
import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from alerting.models import Alert, AlertRule, RuleCooldown
from legacy.importing import import_legacy_dir
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db


def database_rows() -> dict:
    """Every imported row, without primary keys or bookkeeping timestamps."""

    def rows(model, exclude=(), order=("timestamp",)):
        names = [f.attname for f in model._meta.concrete_fields
                 if f.name not in ("id", *exclude)]
        return sorted(
            (tuple(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
                   for v in values)
             for values in model.objects.values_list(*names)),
            key=repr,
        )

    return {
        "predictions": rows(Prediction),
        "metrics": rows(PerformanceMetric),
        "snapshots": rows(HealthSnapshot),
        "rules": rows(AlertRule, exclude=("created_at", "updated_at")),
        "alerts": sorted(
            (a.alert_id, a.timestamp, a.severity, a.title, a.message, a.metric_name,
             a.metric_value, a.threshold, a.component, a.model_version,
             a.rule.rule_id if a.rule else None, a.status, a.acknowledged, a.acknowledged_at,
             a.acknowledged_by)
            for a in Alert.objects.select_related("rule")
        ),
        "cooldowns": sorted(
            (c.rule.rule_id, c.model_version, c.last_fired_at)
            for c in RuleCooldown.objects.select_related("rule")
        ),
    }


def wipe():
    for model in (Alert, RuleCooldown, AlertRule, HealthSnapshot, PerformanceMetric,
                  Prediction):
        model.objects.all().delete()


def test_import_export_import_gives_identical_rows(legacy_dir, tmp_path):
    data_dir, _manifest = legacy_dir
    import_legacy_dir(data_dir, rejects_path=tmp_path / "rejects.jsonl")
    # An outcome recorded after the migration survives the rollback path too.
    Prediction.objects.filter(prediction_id="pred_0000003").update(
        actual_outcome=1, actual_outcome_timestamp=datetime(2026, 2, 1, 0, 0, 0, 5, tzinfo=UTC)
    )
    before = database_rows()

    out = StringIO()
    call_command("export_legacy", str(tmp_path / "exported"), stdout=out)
    assert "Exported to" in out.getvalue()
    wipe()
    report = import_legacy_dir(tmp_path / "exported", rejects_path=tmp_path / "r2.jsonl")

    assert report.rejections_total == 0
    assert all(f.duplicates == 0 and f.already_present == 0 for f in report.files.values())
    assert database_rows() == before


def test_export_writes_the_legacy_formats(legacy_dir, tmp_path):
    data_dir, _manifest = legacy_dir
    import_legacy_dir(data_dir, rejects_path=tmp_path / "rejects.jsonl")
    out_dir = tmp_path / "exported"
    call_command("export_legacy", str(out_dir), stdout=StringIO())

    source = [json.loads(line) for line in (data_dir / "health_snapshots.jsonl").open()]
    exported = [json.loads(line) for line in (out_dir / "health_snapshots.jsonl").open()]
    assert exported == source  # same keys, same values, same order

    first_prediction = json.loads((out_dir / "predictions.jsonl").open().readline())
    assert first_prediction == json.loads((data_dir / "predictions.jsonl").open().readline())
    assert list(first_prediction) == [
        "timestamp", "model_version", "prediction_id", "predicted_outcome", "confidence",
        "features", "metadata",
    ]
    rules = json.loads((out_dir / "alert_rules.json").read_text())
    assert rules == json.loads((data_dir / "alert_rules.json").read_text())
    alerts = [json.loads(line) for line in (out_dir / "alerts.jsonl").open()]
    assert isinstance(alerts[0]["timestamp"], float)
    assert alerts[0]["acknowledged_by"] == "oncall@example.com"
    assert alerts[1]["acknowledged_by"] is None and alerts[1]["acknowledged_at"] is None
    assert alerts[-1]["alert_id"].endswith("_1")


def test_microseconds_survive_the_round_trip(tmp_path):
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    Prediction.objects.create(prediction_id="p1", model_version="v1", timestamp=moment,
                              predicted_outcome=0, confidence=0.25)
    call_command("export_legacy", str(tmp_path), stdout=StringIO())
    record = json.loads((tmp_path / "predictions.jsonl").read_text())
    assert record["timestamp"] == moment.timestamp()
    Prediction.objects.all().delete()
    import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl")
    assert Prediction.objects.get().timestamp == moment


def test_legacy_only_leaves_out_what_the_legacy_library_did_not_know(tmp_path):
    Prediction.objects.create(prediction_id="p1", model_version="v1", predicted_outcome=0,
                              confidence=0.25, actual_outcome=0, latency_ms=3.5)
    call_command("export_legacy", str(tmp_path), "--legacy-only", stdout=StringIO())
    record = json.loads((tmp_path / "predictions.jsonl").read_text())
    assert "actual_outcome" not in record and "latency_ms" not in record
    call_command("export_legacy", str(tmp_path), stdout=StringIO())
    record = json.loads((tmp_path / "predictions.jsonl").read_text())
    assert (record["actual_outcome"], record["latency_ms"]) == (0, 3.5)
