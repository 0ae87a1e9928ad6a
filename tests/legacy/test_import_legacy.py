"""manage.py import_legacy: every line accounted for, idempotent, values kept exactly."""
import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerting.models import Alert, AlertRule, RuleCooldown
from legacy.importing import import_legacy_dir
from predictions.models import HealthSnapshot, PerformanceMetric, Prediction
from tests.legacy.conftest import write_jsonl

pytestmark = pytest.mark.django_db(transaction=False)

PREDICTION = {
    "timestamp": 1767225600.123456, "model_version": "v1.2", "prediction_id": "race_p1",
    "predicted_outcome": 1, "confidence": 0.83,
    "features": {"grid_position": 3, "qualifying_gap": 0.21}, "metadata": {"race": "bahrain"},
}


def run_import(data_dir, *args):
    out = StringIO()
    call_command("import_legacy", str(data_dir), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_report_matches_the_manifest(legacy_dir):
    data_dir, manifest = legacy_dir
    report = run_import(data_dir)
    files = report["files"]

    predictions = files["predictions.jsonl"]
    expected = manifest["predictions.jsonl"]
    assert predictions["imported"] == expected["valid_unique"]
    assert predictions["duplicates"] == expected["exact_repeats"]
    assert predictions["rejected"] == expected["conflicting_repeats"] + expected["defective_lines"]
    assert predictions["blank"] == expected["blank_lines"]
    assert predictions["lines"] == predictions["accounted"]
    for name in ("metrics.jsonl", "health_snapshots.jsonl", "alert_rules.json"):
        assert files[name]["imported"] == manifest[name]["valid_unique"]
        assert files[name]["rejected"] == 0
    alerts = manifest["alerts.jsonl"]
    assert files["alerts.jsonl"]["imported"] == alerts["valid_unique"] + alerts["colliding_ids"]
    assert len(report["renamed_alert_ids"]) == alerts["colliding_ids"]
    assert report["all_lines_accounted"]

    assert Prediction.objects.count() == expected["valid_unique"]
    assert PerformanceMetric.objects.count() == manifest["metrics.jsonl"]["valid_unique"]
    assert HealthSnapshot.objects.count() == manifest["health_snapshots.jsonl"]["valid_unique"]
    assert AlertRule.objects.count() == manifest["alert_rules.json"]["valid_unique"]
    assert Alert.objects.count() == alerts["valid_unique"] + alerts["colliding_ids"]


def test_rejected_lines_are_saved_verbatim_with_file_line_and_reason(legacy_dir, tmp_path):
    data_dir, _manifest = legacy_dir
    rejects = tmp_path / "rejects.jsonl"
    report = run_import(data_dir, "--rejects", str(rejects))

    source_lines = (data_dir / "predictions.jsonl").read_bytes().split(b"\n")
    saved = rejects.read_bytes().splitlines()
    reasons = (tmp_path / "rejects.reasons.txt").read_text().splitlines()
    assert len(saved) == len(reasons) == report["rejections_total"]
    for raw, reason in zip(saved, reasons, strict=True):
        file, line, why = reason.split(":", 2)
        assert file == "predictions.jsonl"
        assert source_lines[int(line) - 1] == raw  # verbatim, from that very line
        assert why.strip()
    listed = {(r["file"], r["line"]) for r in report["rejections"]}
    assert len(listed) == report["rejections_total"]
    assert any("first occurrence stands" in r["reason"] for r in report["rejections"])
    assert any("truncated last line" in r["reason"] for r in report["rejections"])
    assert any(r["reason"].startswith("confidence") for r in report["rejections"])


def test_second_import_adds_nothing(legacy_dir, tmp_path):
    data_dir, manifest = legacy_dir
    run_import(data_dir, "--rejects", str(tmp_path / "r1.jsonl"))
    counts = [m.objects.count() for m in (Prediction, PerformanceMetric, HealthSnapshot,
                                          Alert, AlertRule, RuleCooldown)]

    report = run_import(data_dir, "--rejects", str(tmp_path / "r2.jsonl"))

    assert counts == [m.objects.count() for m in (Prediction, PerformanceMetric,
                                                  HealthSnapshot, Alert, AlertRule,
                                                  RuleCooldown)]
    for name, file_report in report["files"].items():
        assert file_report["imported"] == 0, name
        assert file_report["lines"] == file_report["accounted"], name
    predictions = report["files"]["predictions.jsonl"]
    expected = manifest["predictions.jsonl"]
    assert predictions["already_present"] == expected["valid_unique"] + expected["exact_repeats"]
    assert report["files"]["alerts.jsonl"]["already_present"] == 31
    assert not Alert.objects.filter(alert_id__endswith="_2").exists()


def test_dry_run_reports_the_same_and_stores_nothing(legacy_dir, tmp_path):
    data_dir, _manifest = legacy_dir
    dry = run_import(data_dir, "--dry-run")
    assert Prediction.objects.count() == 0
    assert Alert.objects.count() == AlertRule.objects.count() == RuleCooldown.objects.count() == 0
    assert not (data_dir / "import_rejects.jsonl").exists()
    real = run_import(data_dir, "--rejects", str(tmp_path / "r.jsonl"))
    for name in real["files"]:
        assert dry["files"][name] == real["files"][name]


def test_repeats_across_batches_are_found_through_the_database(legacy_dir, tmp_path):
    """A tiny batch size puts first occurrences and repeats in different batches."""
    data_dir, manifest = legacy_dir
    report = run_import(data_dir, "--batch-size", "7", "--rejects", str(tmp_path / "r.jsonl"))
    predictions = report["files"]["predictions.jsonl"]
    expected = manifest["predictions.jsonl"]
    assert predictions["imported"] == expected["valid_unique"]
    assert predictions["duplicates"] == expected["exact_repeats"]
    assert predictions["rejected"] == expected["conflicting_repeats"] + expected["defective_lines"]


def test_the_first_occurrence_stands_on_a_conflict(tmp_path):
    write_jsonl(tmp_path / "predictions.jsonl", [
        PREDICTION,
        {**PREDICTION, "confidence": 0.5},
        PREDICTION,
    ])
    report = import_legacy_dir(tmp_path)
    counts = report.files["predictions.jsonl"]
    assert (counts.imported, counts.rejected, counts.duplicates) == (1, 1, 1)
    assert Prediction.objects.get().confidence == 0.83
    assert report.rejections[0]["line"] == 2
    assert "line 1" in report.rejections[0]["reason"]


def test_values_survive_exactly(tmp_path):
    write_jsonl(tmp_path / "predictions.jsonl", [PREDICTION])
    write_jsonl(tmp_path / "health_snapshots.jsonl", [{
        "timestamp": 1767225600.654321, "model_version": "v1.2", "accuracy": 0.74,
        "precision": 0.7, "recall": 0.68, "f1_score": 0.69, "roc_auc": None,
        "expected_calibration_error": 0.06, "num_predictions": 812,
        "prediction_accuracy_trend": -2.5, "degradation_detected": False,
    }])
    write_jsonl(tmp_path / "metrics.jsonl", [{
        "timestamp": 1767225600.000001, "metric_name": "accuracy", "value": 0.71,
        "window_size": 500, "threshold": None, "status": "warning",
    }])
    import_legacy_dir(tmp_path)

    prediction = Prediction.objects.get()
    assert prediction.timestamp == datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert prediction.timestamp.timestamp() == PREDICTION["timestamp"]
    assert (prediction.prediction_id, prediction.model_version) == ("race_p1", "v1.2")
    assert (prediction.predicted_outcome, prediction.confidence) == (1, 0.83)
    assert prediction.features == PREDICTION["features"]
    assert prediction.metadata == PREDICTION["metadata"]
    assert prediction.actual_outcome is None
    snapshot = HealthSnapshot.objects.get()
    assert snapshot.timestamp.microsecond == 654321
    assert snapshot.roc_auc is None
    assert (snapshot.accuracy, snapshot.num_predictions, snapshot.prediction_accuracy_trend) == (
        0.74, 812, -2.5)
    metric = PerformanceMetric.objects.get()
    assert metric.timestamp.microsecond == 1
    assert (metric.value, metric.threshold, metric.status) == (0.71, None, "warning")


def test_every_defect_is_survived_and_reported(tmp_path):
    path = tmp_path / "predictions.jsonl"
    write_jsonl(path, [
        PREDICTION,
        "   ",
        "[1, 2]",
        json.dumps({**PREDICTION, "prediction_id": "nan"}).replace("0.83", "NaN"),
        {**PREDICTION, "prediction_id": "no_time", "timestamp": None},
        {**PREDICTION, "prediction_id": "big", "predicted_outcome": 2**40},
        {**PREDICTION, "prediction_id": "x" * 200},
    ])
    with path.open("ab") as out:
        out.write(b'{"prediction_id": "bad\xff"}\n')
        out.write(b'{"timestamp": 17672')  # crash mid-append
    (tmp_path / "metrics.jsonl").write_text("")  # empty
    write_jsonl(tmp_path / "alerts.jsonl", [{"alert_id": "a1", "severity": "loud"}])
    (tmp_path / "alert_rules.json").write_text(json.dumps([
        {"rule_id": "ok", "metric_name": "accuracy", "metric_type": "threshold",
         "threshold": 0.7, "comparison": "<", "severity": "warning", "component": "performance"},
        {"rule_id": "bad", "metric_name": "no_such_metric", "metric_type": "threshold",
         "threshold": 0.7, "comparison": "~", "severity": "warning", "component": "x"},
    ]))

    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "rejects.jsonl")

    counts = report.files["predictions.jsonl"]
    assert counts.lines == 9
    assert (counts.imported, counts.blank, counts.rejected) == (1, 1, 7)
    assert report.all_lines_accounted
    reasons = {r["line"]: r["reason"] for r in report.rejections if r["file"] == counts.file}
    assert reasons[3] == "not a JSON object"
    assert "finite" in reasons[4]
    assert reasons[5].startswith("timestamp")
    assert "32-bit" in reasons[6]
    assert reasons[7].startswith("prediction_id")
    assert reasons[8] == "not UTF-8 text"
    assert "truncated" in reasons[9]
    assert report.files["metrics.jsonl"].lines == 0
    assert not report.files["health_snapshots.jsonl"].found  # absent: fine
    assert report.files["alerts.jsonl"].rejected == 1
    assert report.files["alert_rules.json"].imported == 1
    assert report.files["alert_rules.json"].rejected == 1
    assert AlertRule.objects.get().rule_id == "ok"
    assert (tmp_path / "rejects.jsonl").read_bytes().count(b"\n") == report.rejections_total


def test_colliding_alert_ids_are_kept_apart(legacy_dir):
    data_dir, _manifest = legacy_dir
    lines = (data_dir / "alerts.jsonl").read_text().splitlines()
    original, twin = json.loads(lines[-2]), json.loads(lines[-1])
    assert original["alert_id"] == twin["alert_id"]
    run_import(data_dir)
    first = Alert.objects.get(alert_id=original["alert_id"])
    second = Alert.objects.get(alert_id=original["alert_id"] + "_1")
    assert first.model_version == original["model_version"]
    assert second.model_version == twin["model_version"]


def test_cooldowns_are_rebuilt_from_the_alert_history(legacy_dir):
    data_dir, _manifest = legacy_dir
    alerts = [json.loads(line) for line in (data_dir / "alerts.jsonl").read_text().splitlines()]
    run_import(data_dir)

    low_accuracy = AlertRule.objects.get(rule_id="low_accuracy")
    mine = [a for a in alerts if a["metric_name"] == "accuracy"]
    assert Alert.objects.filter(rule=low_accuracy).count() == len(mine)
    for version in {a["model_version"] for a in mine}:
        newest = max(a["timestamp"] for a in mine if a["model_version"] == version)
        cooldown = RuleCooldown.objects.get(rule=low_accuracy, model_version=version)
        assert cooldown.last_fired_at.timestamp() == newest
    assert low_accuracy.last_triggered.timestamp() == max(a["timestamp"] for a in mine)
    assert AlertRule.objects.get(rule_id="disabled_rule").last_triggered is None


def test_a_later_acknowledgment_is_applied_on_reimport(tmp_path):
    alert = {
        "timestamp": 1767225600.5, "alert_id": "alert_1", "severity": "warning",
        "title": "PERFORMANCE: accuracy Alert", "message": "accuracy is 0.6500 (< 0.7000)",
        "metric_name": "accuracy", "metric_value": 0.65, "threshold": 0.7,
        "component": "performance", "model_version": "v1", "acknowledged": False,
        "acknowledged_at": None, "acknowledged_by": None,
    }
    write_jsonl(tmp_path / "alerts.jsonl", [alert])
    import_legacy_dir(tmp_path)
    write_jsonl(tmp_path / "alerts.jsonl", [{**alert, "acknowledged": True,
                                             "acknowledged_at": 1767226200.5,
                                             "acknowledged_by": "oncall"}])
    report = import_legacy_dir(tmp_path)
    assert report.files["alerts.jsonl"].updated == 1
    stored = Alert.objects.get()
    assert (stored.acknowledged, stored.acknowledged_by, stored.status) == (
        True, "oncall", "acknowledged")


def test_text_report_says_where_the_rejects_are(legacy_dir):
    data_dir, _manifest = legacy_dir
    out = StringIO()
    call_command("import_legacy", str(data_dir), stdout=out)
    text = out.getvalue()
    assert "predictions.jsonl" in text and "Rejected lines: 8" in text
    assert str(data_dir / "import_rejects.jsonl") in text
    assert "predictions.jsonl:" in text


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not a directory"):
        call_command("import_legacy", str(tmp_path / "nowhere"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", ["0", "1"])
def test_outside_a_transaction_batches_commit_on_their_own(legacy_dir, tmp_path, workers):
    """The command as people run it (no surrounding transaction): on PostgreSQL the
    batches are written by a writer thread on its own connection; lines may be parsed
    in a worker process."""
    data_dir, manifest = legacy_dir
    options = ["--batch-size", "50", "--workers", workers, "--rejects", str(tmp_path / "r")]
    dry = run_import(data_dir, "--dry-run", *options)
    assert Prediction.objects.count() == 0
    first = run_import(data_dir, *options)
    second = run_import(data_dir, *options)

    expected = manifest["predictions.jsonl"]
    assert dry["files"] == first["files"]
    predictions = first["files"]["predictions.jsonl"]
    assert predictions["imported"] == expected["valid_unique"] == Prediction.objects.count()
    assert predictions["duplicates"] == expected["exact_repeats"]
    assert predictions["rejected"] == expected["conflicting_repeats"] + expected["defective_lines"]
    again = second["files"]["predictions.jsonl"]
    assert again["imported"] == 0
    assert again["already_present"] == expected["valid_unique"] + expected["exact_repeats"]
    stored = Prediction.objects.get(prediction_id="pred_0000007")
    source = next(json.loads(line) for line in (data_dir / "predictions.jsonl").open()
                  if '"pred_0000007"' in line)
    assert stored.timestamp.timestamp() == source["timestamp"]
    assert (stored.features, stored.metadata) == (source["features"], source["metadata"])


def test_a_batch_the_database_refuses_is_retried_line_by_line(tmp_path, monkeypatch):
    """One line the database cannot take in bulk (spoilt here on purpose) sends the batch
    down the slower paths; every good line is still stored."""
    from predictions import storage

    real_copy_line = storage.copy_line

    def spoilt(values):
        text = real_copy_line(values)
        return text.replace("\t", "\t\t", 1) if values[0] == "odd" else text

    monkeypatch.setattr(storage, "copy_line", spoilt)
    write_jsonl(tmp_path / "predictions.jsonl", [
        PREDICTION, {**PREDICTION, "prediction_id": "odd"},
        {**PREDICTION, "prediction_id": "after"},
    ])
    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl")
    assert report.files["predictions.jsonl"].imported == 3
    assert Prediction.objects.get(prediction_id="odd").features == PREDICTION["features"]


def test_a_batch_mixing_new_and_stored_ids(tmp_path):
    """Half the batch is stored already: the bulk COPY cannot take it; the rest still
    goes in, and the stored half is told apart from the new."""
    write_jsonl(tmp_path / "predictions.jsonl", [PREDICTION])
    import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl")
    write_jsonl(tmp_path / "predictions.jsonl", [
        {**PREDICTION, "prediction_id": "new_1"}, PREDICTION,
        {**PREDICTION, "prediction_id": "new_2", "features": {"tab": "a\tb\\c"}},
    ])
    report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl")
    counts = report.files["predictions.jsonl"]
    assert (counts.imported, counts.already_present) == (2, 1)
    assert Prediction.objects.get(prediction_id="new_2").features == {"tab": "a\tb\\c"}


def test_an_unwritable_rejects_place_is_refused_before_importing(tmp_path):
    write_jsonl(tmp_path / "predictions.jsonl", [PREDICTION])
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(CommandError, match="rejects"):
        call_command("import_legacy", str(tmp_path), "--rejects", str(not_a_folder / "r.jsonl"))
    assert not Prediction.objects.exists()


def test_the_parser_and_the_writers_agree_on_the_prediction_fields():
    from legacy.parsing import parse_prediction_lines
    from predictions.storage import COLUMNS, LAYOUT, WRITE_COLUMNS
    from predictions.validation import validate_prediction

    line = json.dumps(PREDICTION).encode() + b"\n"
    _ok, _number, _pid, values, _copy, layout = parse_prediction_lines([(1, line)])[0]
    assert len(values) == len(WRITE_COLUMNS)
    assert values[LAYOUT] == layout
    assert validate_prediction(PREDICTION)[0].keys() == set(COLUMNS)
    assert {f.column for f in Prediction._meta.concrete_fields} >= set(WRITE_COLUMNS)


def test_batches_are_not_kept_in_the_debug_query_log(tmp_path):
    """With DEBUG on Django keeps the text of every query; a batch's rows must not end up
    there, or memory grows with the file (20,000 lines of SQL text per batch)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    write_jsonl(tmp_path / "predictions.jsonl", [
        {**PREDICTION, "prediction_id": f"p{n}"} for n in range(3000)
    ])
    with CaptureQueriesContext(connection) as queries:
        report = import_legacy_dir(tmp_path, rejects_path=tmp_path / "r.jsonl", batch_size=1000)
    assert report.files["predictions.jsonl"].imported == 3000
    assert max(len(query["sql"]) for query in queries.captured_queries) < 5000
