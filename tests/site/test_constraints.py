"""The database itself refuses what must never be stored (SPEC §2)."""
import pytest
from django.db import IntegrityError, transaction

from alerting.models import Alert, AlertRule
from predictions.models import Prediction


@pytest.mark.parametrize("confidence", [1.5, -0.1])
def test_confidence_outside_unit_interval_is_refused_by_the_database(make_prediction, confidence):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prediction(confidence=confidence)
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("confidence", [0.0, 1.0])
def test_confidence_at_the_bounds_is_stored(make_prediction, confidence):
    make_prediction(confidence=confidence)
    assert Prediction.objects.count() == 1


def test_duplicate_prediction_id_is_refused(make_prediction):
    make_prediction(prediction_id="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prediction(prediction_id="same")
    assert Prediction.objects.count() == 1


def test_negative_latency_is_refused(make_prediction):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prediction(latency_ms=-1.0)


def alert(**overrides):
    values = {"alert_id": "alert_1", "severity": "warning", "title": "t", "message": "m"}
    return Alert.objects.create(**{**values, **overrides})


@pytest.mark.django_db
def test_duplicate_alert_id_is_refused():
    alert()
    with pytest.raises(IntegrityError), transaction.atomic():
        alert()
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_new_alert_ids_follow_the_legacy_prefix_and_are_distinct():
    first, second = Alert.objects.create(severity="info", title="a", message="m"), \
        Alert.objects.create(severity="info", title="b", message="m")
    assert first.alert_id.startswith("alert_") and first.alert_id != second.alert_id


@pytest.mark.django_db
def test_duplicate_rule_id_is_refused():
    values = {"rule_id": "low_accuracy", "metric_name": "accuracy", "threshold": 0.7,
              "comparison": "<"}
    AlertRule.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertRule.objects.create(**values)
    assert AlertRule.objects.count() == 1


@pytest.mark.django_db
def test_two_production_versions_of_one_model_are_refused():
    from predictions.models import ModelVersion

    ModelVersion.objects.create(version="a1", model_name="churn", stage="production")
    ModelVersion.objects.create(version="b1", model_name="other", stage="production")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version="a2", model_name="churn", stage="production")
