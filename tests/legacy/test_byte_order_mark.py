"""Legacy files saved by Windows tools start with a UTF-8 byte-order mark: it is not data."""
import json

import pytest

from alerting.models import Alert, AlertRule
from legacy.importing import import_legacy_dir
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db(transaction=False)

BOM = b"\xef\xbb\xbf"

# Two records of each JSON-lines file: the first one is the line the mark sticks to.
RECORDS = {
    "predictions.jsonl": (Prediction, [
        {"timestamp": 1767225600.5, "model_version": "v1", "prediction_id": f"p{n}",
         "predicted_outcome": 1, "confidence": 0.8, "features": {"x": n}, "metadata": {}}
        for n in (1, 2)
    ]),
    "metrics.jsonl": (PerformanceMetric, [
        {"timestamp": 1767225600.0 + n, "metric_name": "accuracy", "value": 0.71,
         "window_size": 500, "threshold": 0.7, "status": "normal"}
        for n in (1, 2)
    ]),
    "health_snapshots.jsonl": (HealthSnapshot, [
        {"timestamp": 1767225600.0 + n, "model_version": "v1", "accuracy": 0.74,
         "precision": 0.7, "recall": 0.68, "f1_score": 0.69, "roc_auc": 0.8,
         "expected_calibration_error": 0.06, "num_predictions": 812,
         "prediction_accuracy_trend": -2.5, "degradation_detected": False}
        for n in (1, 2)
    ]),
    "alerts.jsonl": (Alert, [
        {"timestamp": 1767225600.5 + n, "alert_id": f"alert_{n}", "severity": "warning",
         "title": "PERFORMANCE: accuracy Alert", "message": "accuracy is 0.6500 (< 0.7000)",
         "metric_name": "accuracy", "metric_value": 0.65, "threshold": 0.7,
         "component": "performance", "model_version": "v1", "acknowledged": False,
         "acknowledged_at": None, "acknowledged_by": None}
        for n in (1, 2)
    ]),
}


def write_with_bom(path, records):
    path.write_bytes(BOM + b"".join(json.dumps(r).encode() + b"\n" for r in records))


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_jsonl_file_starting_with_a_byte_order_mark_keeps_its_first_record(tmp_path, name):
    model, records = RECORDS[name]
    write_with_bom(tmp_path / name, records)

    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "rejects.jsonl")

    counts = report.files[name]
    assert (counts.lines, counts.imported, counts.rejected) == (2, 2, 0), report.rejections
    assert model.objects.count() == 2
    assert not (tmp_path / "rejects.jsonl").exists()


def test_a_predictions_file_with_a_byte_order_mark_parsed_in_a_worker(tmp_path):
    _model, records = RECORDS["predictions.jsonl"]
    write_with_bom(tmp_path / "predictions.jsonl", records)

    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl", parse_workers=1)

    assert report.files["predictions.jsonl"].imported == 2
    assert Prediction.objects.get(prediction_id="p1").features == {"x": 1}


def test_a_rules_file_starting_with_a_byte_order_mark_is_read(tmp_path):
    rules = [{"rule_id": "low_accuracy", "metric_name": "accuracy", "metric_type": "threshold",
              "threshold": 0.7, "comparison": "<", "severity": "warning",
              "component": "performance"}]
    (tmp_path / "alert_rules.json").write_bytes(BOM + json.dumps(rules, indent=2).encode())

    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "rejects.jsonl")

    counts = report.files["alert_rules.json"]
    assert (counts.imported, counts.rejected) == (1, 0), report.rejections
    assert AlertRule.objects.get().rule_id == "low_accuracy"


def test_a_file_holding_only_a_byte_order_mark_is_an_empty_file(tmp_path):
    (tmp_path / "predictions.jsonl").write_bytes(BOM)
    (tmp_path / "alert_rules.json").write_bytes(BOM)

    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "rejects.jsonl")

    assert report.files["predictions.jsonl"].rejected == 0
    assert report.files["alert_rules.json"].rejected == 0
    assert report.all_lines_accounted
