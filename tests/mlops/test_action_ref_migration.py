"""The migration that makes RetrainingDecision.action_ref a foreign key keeps the links."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("predictions", "0001_initial"), ("alerting", "0001_initial")]
AFTER = [("predictions", "0003_retrainingdecision_action_ref_foreign_key")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_matching_refs_keep_their_action_and_the_others_become_null():
    try:
        apps = _migrate(BEFORE)
        apps.get_model("alerting", "AgentAction").objects.create(
            action_id="act-1", action_type="other"
        )
        decisions = apps.get_model("predictions", "RetrainingDecision").objects
        for ref in ("act-1", "gone", ""):
            decisions.create(model_version=f"v-{ref}", trigger_reason="alert",
                             action="reject", action_ref=ref)

        apps = _migrate(AFTER)
        migrated = apps.get_model("predictions", "RetrainingDecision").objects
        links = dict(migrated.values_list("model_version", "action_ref"))
        assert links == {"v-act-1": "act-1", "v-gone": None, "v-": None}
        # The unmatched text is not thrown away: it is kept beside the decision's details.
        details = dict(migrated.values_list("model_version", "decision_details"))
        assert details["v-gone"] == {"unmatched_action_ref": "gone"}
        assert details["v-act-1"] == {}

        apps = _migrate(BEFORE)  # and back: the text returns to the column
        reverted = apps.get_model("predictions", "RetrainingDecision").objects
        assert dict(reverted.values_list("model_version", "action_ref")) == {
            "v-act-1": "act-1", "v-gone": "gone", "v-": ""}
        assert reverted.get(model_version="v-gone").decision_details == {}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
