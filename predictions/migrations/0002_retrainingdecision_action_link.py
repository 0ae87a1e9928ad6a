"""RetrainingDecision.action_ref becomes a foreign key to alerting.AgentAction (step 1 of 2).

The text column stays while a nullable link is added beside it and filled: a decision
whose ``action_ref`` names an existing action (by ``action_id``) keeps that action;
a blank one gets no link; one naming an action that does not exist gets NO link (null),
and its text is kept in ``decision_details["unmatched_action_ref"]`` so that nothing is
lost. Step 2 (0003) drops the text column and gives the link its name. The data step runs
in its own migration so that PostgreSQL never alters a table with pending FK checks.
"""
from django.db import migrations, models
import django.db.models.deletion

UNMATCHED_KEY = "unmatched_action_ref"


def link_actions(apps, schema_editor):
    decisions = apps.get_model("predictions", "RetrainingDecision")
    actions = apps.get_model("alerting", "AgentAction")
    referenced = decisions.objects.exclude(action_ref="")
    known = set(
        actions.objects.filter(
            action_id__in=referenced.values_list("action_ref", flat=True)
        ).values_list("action_id", flat=True)
    )
    for decision in referenced.only("pk", "action_ref", "decision_details").iterator():
        if decision.action_ref in known:
            decision.action_link_id = decision.action_ref
            decision.save(update_fields=["action_link"])
        else:
            details = dict(decision.decision_details or {})
            details[UNMATCHED_KEY] = decision.action_ref
            decision.decision_details = details
            decision.save(update_fields=["decision_details"])


def unlink_actions(apps, schema_editor):
    decisions = apps.get_model("predictions", "RetrainingDecision")
    for decision in decisions.objects.filter(action_link__isnull=False).iterator():
        decision.action_ref = decision.action_link_id
        decision.save(update_fields=["action_ref"])
    unmatched = decisions.objects.filter(decision_details__has_key=UNMATCHED_KEY)
    for decision in unmatched.iterator():
        details = dict(decision.decision_details)
        decision.action_ref = details.pop(UNMATCHED_KEY)
        decision.decision_details = details
        decision.save(update_fields=["action_ref", "decision_details"])


class Migration(migrations.Migration):

    dependencies = [
        ("alerting", "0001_initial"),
        ("predictions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="retrainingdecision",
            name="action_link",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="alerting.agentaction",
                to_field="action_id",
            ),
        ),
        migrations.RunPython(link_actions, unlink_actions),
    ]
