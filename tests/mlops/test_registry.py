"""The registry service: registration, promotion, timeline, decisions, overview."""
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from predictions.choices import Stage
from predictions.models import HealthSnapshot, ModelStageChange, ModelVersion, RetrainingDecision
from predictions.registry import (
    RegistryError,
    decision_summary,
    promote,
    record_decision,
    register_version,
    timeline,
    versions_overview,
)

pytestmark = pytest.mark.django_db


def test_register_records_the_first_timeline_event():
    version = register_version({"version": "1.0.0", "model_name": "churn"}, by="ana")
    assert version.stage == Stage.REGISTERED
    change = ModelStageChange.objects.get(version=version)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "registered", "ana")


def test_promoting_to_production_archives_the_previous_one():
    register_version({"version": "1.0", "model_name": "churn"}, by="ana")
    register_version({"version": "1.1", "model_name": "churn"}, by="ana")
    register_version({"version": "9.0", "model_name": "other"}, by="ana")
    promote("9.0", Stage.PRODUCTION, by="ana")
    promote("1.0", Stage.PRODUCTION, by="ana")
    promoted = promote("1.1", Stage.PRODUCTION, by="bo", note="better AUC")
    stages = dict(ModelVersion.objects.values_list("version", "stage"))
    assert stages == {"1.0": "archived", "1.1": "production", "9.0": "production"}
    assert promoted.promoted_by == "bo" and promoted.promoted_at is not None
    archived = ModelStageChange.objects.filter(version__version="1.0").last()
    assert (archived.from_stage, archived.to_stage) == ("production", "archived")
    assert archived.note == "replaced by 1.1"


def test_promote_to_the_same_stage_changes_nothing():
    register_version({"version": "1.0", "model_name": "churn"})
    promote("1.0", Stage.STAGING, by="ana")
    before = ModelStageChange.objects.count()
    promote("1.0", Stage.STAGING, by="ana")
    assert ModelStageChange.objects.count() == before


def test_promote_refuses_unknown_stage_and_version():
    register_version({"version": "1.0", "model_name": "churn"})
    with pytest.raises(RegistryError):
        promote("1.0", "unregistered", by="ana")
    with pytest.raises(ModelVersion.DoesNotExist):
        promote("nope", Stage.STAGING, by="ana")


def test_the_database_allows_one_production_version_per_model():
    ModelVersion.objects.create(version="a", model_name="m", stage=Stage.PRODUCTION)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version="b", model_name="m", stage=Stage.PRODUCTION)


def test_timeline_orders_changes_decisions_and_snapshots_oldest_first():
    now = timezone.now()
    register_version({"version": "1.0", "model_name": "churn"}, by="ana",
                     now=now - timedelta(hours=3))
    HealthSnapshot.objects.create(model_version="1.0", timestamp=now - timedelta(hours=2),
                                  accuracy=0.9)
    record_decision({"model_version": "1.0", "trigger_reason": "drift", "action": "promote",
                     "timestamp": now - timedelta(hours=1), "apply": True}, by="pipeline")
    events = timeline("1.0")
    assert [e["kind"] for e in events] == ["stage_change", "snapshot", "decision",
                                          "stage_change"]
    assert events[-1]["to_stage"] == "production" and events[-1]["by"] == "pipeline"
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_applied_promote_decision_promotes_in_the_same_transaction():
    register_version({"version": "1.0", "model_name": "churn"})
    decision = record_decision(
        {"model_version": "1.0", "trigger_reason": "scheduled", "action": "promote",
         "apply": True}, by="pipeline",
    )
    assert ModelVersion.objects.get(version="1.0").stage == Stage.PRODUCTION
    assert decision.recorded_by == "pipeline"


def test_applied_decision_needs_a_registered_candidate_and_a_promote():
    with pytest.raises(RegistryError):
        record_decision({"model_version": "ghost", "trigger_reason": "manual",
                         "action": "promote", "apply": True}, by="x")
    with pytest.raises(RegistryError):
        record_decision({"model_version": "ghost", "trigger_reason": "manual",
                         "action": "reject", "apply": True}, by="x")
    assert RetrainingDecision.objects.count() == 0


def test_decision_summary_counts_by_action_and_trigger():
    for action, trigger in [("promote", "drift"), ("reject", "drift"), ("reject", "manual")]:
        record_decision({"model_version": "c", "trigger_reason": trigger, "action": action},
                        by="p")
    summary = decision_summary(RetrainingDecision.objects.all())
    assert summary == {
        "total": 3,
        "by_action": {"promote": 1, "reject": 2},
        "by_trigger": {"scheduled": 0, "drift": 2, "manual": 1, "alert": 0},
    }


def test_overview_lists_registered_and_unregistered_versions(make_prediction,
                                                             django_assert_max_num_queries):
    register_version({"version": "1.0", "model_name": "churn"})
    make_prediction(model_version="1.0", actual_outcome=1)
    make_prediction(model_version="1.0")
    make_prediction(model_version="0.9-shadow")
    HealthSnapshot.objects.create(model_version="1.0", accuracy=0.5)
    with django_assert_max_num_queries(4):
        overview = {entry["version"]: entry for entry in versions_overview()}
    assert overview["1.0"]["stage"] == "registered"
    assert (overview["1.0"]["num_predictions"], overview["1.0"]["num_with_outcome"]) == (2, 1)
    assert overview["1.0"]["latest_snapshot"].accuracy == 0.5
    assert overview["0.9-shadow"]["stage"] == "unregistered"
    assert overview["0.9-shadow"]["model_name"] is None
    assert overview["0.9-shadow"]["first_seen"] is not None


def test_only_a_promotion_to_production_sets_promoted_at_and_by():
    register_version({"version": "1.0", "model_name": "churn"}, by="ana")
    start = timezone.now()
    staged = promote("1.0", Stage.STAGING, by="ana", now=start)
    assert (staged.promoted_at, staged.promoted_by) == (None, "")
    assert ModelVersion.objects.get(version="1.0").promoted_at is None
    promote("1.0", Stage.PRODUCTION, by="bo", now=start + timedelta(minutes=1))
    archived = promote("1.0", Stage.ARCHIVED, by="cy", now=start + timedelta(minutes=2))
    stored = ModelVersion.objects.get(version="1.0")
    # Archiving keeps the record of when, and by whom, it went to production.
    assert (stored.promoted_at, stored.promoted_by) == (start + timedelta(minutes=1), "bo")
    assert (archived.promoted_at, archived.promoted_by) == (stored.promoted_at, "bo")
