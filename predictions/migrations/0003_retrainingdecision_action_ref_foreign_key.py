"""RetrainingDecision.action_ref becomes a foreign key (step 2 of 2): see 0002."""
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ("alerting", "0001_initial"),
        ("predictions", "0002_retrainingdecision_action_link"),
    ]

    operations = [
        migrations.RemoveField(model_name="retrainingdecision", name="action_ref"),
        migrations.RenameField(
            model_name="retrainingdecision", old_name="action_link", new_name="action_ref"
        ),
        migrations.AlterField(
            model_name="retrainingdecision",
            name="action_ref",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="retraining_decisions",
                to="alerting.agentaction",
                to_field="action_id",
            ),
        ),
    ]
