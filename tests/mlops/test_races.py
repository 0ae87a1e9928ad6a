"""Racing promotions and reviews on PostgreSQL (real row locks, real concurrency)."""
import pytest

from alerting import actions
from alerting.models import AgentAction
from predictions.models import ModelStageChange, ModelVersion
from predictions.registry import promote, register_version
from tests.races import race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_racing_promotions_leave_one_production_version_and_a_consistent_timeline():
    versions = [f"1.{i}" for i in range(THREADS)]
    for version in versions:
        register_version({"version": version, "model_name": "churn"}, by="setup")
    register_version({"version": "other-1", "model_name": "other", "stage": "production"})

    outcomes = dict(zip(versions, race(
        lambda v: promote(v, "production", by=f"user-{v}"), versions, allow_errors=True
    ), strict=True))

    assert all(isinstance(result, ModelVersion) for result in outcomes.values()), outcomes
    stages = dict(ModelVersion.objects.filter(model_name="churn").values_list("version", "stage"))
    assert list(stages.values()).count("production") == 1
    assert list(stages.values()).count("archived") == THREADS - 1
    assert ModelVersion.objects.get(version="other-1").stage == "production"
    # Replaying the timeline in order gives back each step's from_stage, never two
    # production versions at once, and ends in the stages the table holds.
    replay = {version: "" for version in versions}
    for change in ModelStageChange.objects.filter(version__model_name="churn").order_by(
        "changed_at", "id"
    ).select_related("version"):
        assert replay[change.version.version] == change.from_stage
        replay[change.version.version] = change.to_stage
        assert list(replay.values()).count("production") <= 1
    assert replay == stages
    # Every version reached production once, in turn.
    assert ModelStageChange.objects.filter(
        version__model_name="churn", to_stage="production").count() == THREADS


def test_racing_reviews_leave_exactly_one_decision_and_one_reviewer():
    action = AgentAction.objects.create(action_type="retrain_model", requested_by="agent")
    reviewers = [f"reviewer-{i}" for i in range(THREADS)]

    def review(reviewer):
        decision = actions.APPROVE if int(reviewer.rsplit("-", 1)[1]) % 2 else actions.REJECT
        return actions.review(action.action_id, decision, by=reviewer, comment=reviewer)

    outcomes = dict(zip(reviewers, race(review, reviewers, allow_errors=True), strict=True))

    winners = [r for r, result in outcomes.items() if isinstance(result, AgentAction)]
    refused = [r for r, result in outcomes.items()
               if isinstance(result, actions.TransitionRefused)]
    assert len(winners) == 1 and len(refused) == THREADS - 1, outcomes
    action.refresh_from_db()
    assert action.reviewed_by == winners[0] == action.review_comment
    assert action.status in ("approved", "rejected")
