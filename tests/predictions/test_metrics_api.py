"""GET metrics/…, metrics/trend/ and health-snapshots/ over the API."""
import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from predictions.models import HealthSnapshot, Prediction
from tests.conftest import store_predictions

NOW = timezone.now()


@pytest.fixture
def reader(api_client_for):
    return api_client_for()


def add_rows(count, version="v1", minutes_ago=5, start=0):
    rows = []
    for n in range(start, start + count):
        predicted = n % 2
        actual = (n // 3) % 2 if n % 5 else None
        rows.append(Prediction(
            prediction_id=f"{version}-{n}", model_version=version,
            timestamp=NOW - timedelta(minutes=minutes_ago),
            predicted_outcome=predicted, confidence=0.5 + (n % 50) / 100,
            actual_outcome=actual, latency_ms=float(n % 40),
        ))
    store_predictions(rows)
    return rows


def test_performance(reader):
    add_rows(20)
    add_rows(10, minutes_ago=120, start=100)
    body = reader.get("/api/v1/metrics/performance/", {"model_version": "v1"}).json()
    assert body["num_predictions"] == 20
    assert set(body) == {
        "num_predictions", "avg_confidence", "min_confidence", "max_confidence",
        "confidence_std", "latency_p50_ms", "latency_p95_ms", "positive_rate",
        "prediction_entropy",
    }
    wider = reader.get("/api/v1/metrics/performance/", {"window_minutes": 180}).json()
    assert wider["num_predictions"] == 30


def test_accuracy_and_classification_match_sklearn(reader):
    rows = add_rows(40)
    labelled = [r for r in rows if r.actual_outcome is not None]
    y = [r.actual_outcome for r in labelled]
    pred = [r.predicted_outcome for r in labelled]
    score = [r.confidence if r.predicted_outcome == 1 else 1 - r.confidence for r in labelled]
    accuracy = reader.get("/api/v1/metrics/accuracy/").json()
    assert accuracy["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert accuracy["num_with_outcome"] == len(labelled)
    classification = reader.get("/api/v1/metrics/classification/").json()
    assert classification["average"] == "binary"
    assert classification["f1_score"] == pytest.approx(f1_score(y, pred))
    assert classification["roc_auc"] == pytest.approx(roc_auc_score(y, score))


def test_calibration_defaults_to_all_time(reader):
    add_rows(10)
    add_rows(10, minutes_ago=60 * 24 * 30, start=50)
    body = reader.get("/api/v1/metrics/calibration/", {"n_bins": 7}).json()
    assert body["num_bins"] == 7
    assert body["total_predictions"] == 16  # every fifth row is unlabelled
    assert sum(b["count"] for b in body["bin_metrics"]) == 16
    windowed = reader.get("/api/v1/metrics/calibration/", {"window_minutes": 60}).json()
    assert windowed["total_predictions"] == 8


def test_empty_window_answers_nulls(reader):
    body = reader.get("/api/v1/metrics/classification/", {"model_version": "none"}).json()
    assert body["precision"] is None and body["num_with_outcome"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("performance", {"window_minutes": "-5"}),
        ("performance", {"window_minutes": "0"}),
        ("accuracy", {"window_minutes": "abc"}),
        ("classification", {"window_minutes": "1e9999"}),
        ("classification", {"window_minutes": str(10**12)}),
        ("calibration", {"n_bins": "0"}),
        ("calibration", {"n_bins": "abc"}),
        ("calibration", {"n_bins": "100000"}),
        ("performance", {"model_version": "v" * 65}),
        ("performance", {"model_version": "a\x00b"}),
        ("performance", {"model_version": ""}),
        ("calibration", {"window_minutes": ""}),
        ("trend", {"hours": "-1"}),
        ("trend", {"hours": "soon"}),
        ("trend", {"format": "xml"}),
        ("trend", {"format": ""}),
        ("accuracy", {"window_minutes": ["5", "10"]}),
    ],
)
def test_bad_parameters_are_400_with_a_message(reader, path, params):
    response = reader.get(f"/api/v1/metrics/{path}/", params)
    assert response.status_code == 400
    message = response.json()[next(iter(params))]
    assert message and isinstance(message[0], str)


@pytest.mark.parametrize(
    "path", ["performance", "accuracy", "calibration", "classification", "trend"]
)
def test_metrics_need_a_user(anonymous_client, db, path):
    assert anonymous_client.get(f"/api/v1/metrics/{path}/").status_code == 401


# Token lookup (1) + the two reads of the hourly aggregates + the scan of the partial hour
# at the window's start + what ranks rows (latency percentiles, ROC AUC).
EXPECTED_QUERIES = {"performance": 5, "accuracy": 4, "calibration": 4, "classification": 5}


@pytest.mark.parametrize("path", list(EXPECTED_QUERIES))
def test_metric_requests_issue_a_fixed_number_of_queries(reader, path):
    counts = []
    for size in (10, 500):
        add_rows(size, start=len(counts) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = reader.get(f"/api/v1/metrics/{path}/", {"window_minutes": 60})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] == EXPECTED_QUERIES[path]


# --- trend and health snapshots ------------------------------------------------------------


def make_snapshot(minutes_ago, version="v1", accuracy=0.9):
    return HealthSnapshot.objects.create(
        timestamp=NOW - timedelta(minutes=minutes_ago), model_version=version,
        accuracy=accuracy, num_predictions=10, num_with_outcome=5,
    )


def test_trend_is_in_time_order(reader):
    make_snapshot(30, accuracy=0.8)
    make_snapshot(90, accuracy=0.7)
    make_snapshot(60 * 30)
    make_snapshot(10, version="v2")
    body = reader.get("/api/v1/metrics/trend/", {"model_version": "v1"}).json()
    assert [s["accuracy"] for s in body["snapshots"]] == [0.7, 0.8]
    assert body["hours"] == 24
    longer = reader.get("/api/v1/metrics/trend/", {"hours": 48}).json()
    assert len(longer["snapshots"]) == 4


def test_trend_as_csv(reader):
    make_snapshot(30, accuracy=0.8)
    make_snapshot(90, accuracy=0.7)
    response = reader.get("/api/v1/metrics/trend/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["accuracy"] for row in rows] == ["0.7", "0.8"]
    assert rows[0]["model_version"] == "v1"


def test_trend_csv_error_is_400(reader):
    response = reader.get("/api/v1/metrics/trend/", {"format": "csv", "hours": "x"})
    assert response.status_code == 400


def test_health_snapshot_list(reader):
    make_snapshot(30)
    make_snapshot(10)
    make_snapshot(5, version="v2")
    body = reader.get("/api/v1/health-snapshots/", {"model_version": "v1", "limit": 1}).json()
    assert len(body) == 1
    assert body[0]["timestamp"] == reader.get("/api/v1/health-snapshots/").json()[1]["timestamp"]
    assert reader.get("/api/v1/health-snapshots/", {"limit": 0}).status_code == 400


def test_record_a_health_snapshot(api_client_for):
    writer = api_client_for(perms=["predictions.add_healthsnapshot"])
    response = writer.post("/api/v1/health-snapshots/", {
        "model_version": "v9", "accuracy": 0.8, "num_predictions": 100,
        "num_with_outcome": 40, "window_minutes": 60, "metrics": {"avg_confidence": 0.7},
    }, format="json")
    assert response.status_code == 201, response.content
    snapshot = HealthSnapshot.objects.get()
    assert (snapshot.model_version, snapshot.accuracy) == ("v9", 0.8)



def test_recorded_snapshot_gets_the_trend_and_degradation_of_the_service(api_client_for):
    # The API stored the given fields only; the tracker path (record_snapshot) adds the
    # trend against the previous snapshot and the degradation flag: one path for both.
    writer = api_client_for(perms=["predictions.add_healthsnapshot"])
    start = NOW - timedelta(hours=2)
    for at, accuracy in ((start, 0.8), (start + timedelta(hours=1), 0.4)):
        response = writer.post("/api/v1/health-snapshots/", {
            "model_version": "v9", "timestamp": at.isoformat(), "accuracy": accuracy,
            "num_predictions": 10}, format="json")
        assert response.status_code == 201, response.content
    assert response.json()["prediction_accuracy_trend"] == pytest.approx(-50.0)
    assert response.json()["degradation_detected"] is True
    latest = HealthSnapshot.objects.latest()
    assert latest.prediction_accuracy_trend == pytest.approx(-50.0)
    assert latest.degradation_detected is True

@pytest.mark.parametrize(
    "body",
    [
        {"model_version": "v9", "accuracy": 1.5},
        {"model_version": "v9", "accuracy": "NaN"},
        {"model_version": "v9", "num_predictions": -1},
        {"model_version": "v9", "num_predictions": 1, "num_with_outcome": 2},
        {"model_version": "v9", "metrics": {"note": "a\x00"}},
        {"model_version": "v9", "metrics": [1]},
        {"accuracy": 0.5},
    ],
)
def test_invalid_health_snapshot_is_400(api_client_for, body):
    writer = api_client_for(perms=["predictions.add_healthsnapshot"])
    assert writer.post("/api/v1/health-snapshots/", body, format="json").status_code == 400
    assert not HealthSnapshot.objects.exists()


def test_recording_a_snapshot_needs_permission(api_client_for, anonymous_client):
    body = {"model_version": "v9"}
    assert api_client_for().post("/api/v1/health-snapshots/", body).status_code == 403
    assert anonymous_client.post("/api/v1/health-snapshots/", body).status_code == 401
    assert not HealthSnapshot.objects.exists()
