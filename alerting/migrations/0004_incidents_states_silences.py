"""SPEC §10, step 1 of 3: rule states (the cooldown rows, renamed and extended), the
incident and reminder fields of alerts, the rules' new fields.

Three migrations, because PostgreSQL cannot add the unique constraint of step 3 in the
transaction that rewrote the rows it checks (step 2).
"""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerting', '0003_delivery_next_attempt_nullable'),
    ]

    operations = [
        # Rule states: the cooldown rows, renamed and extended.
        migrations.RenameModel('RuleCooldown', 'RuleState'),
        migrations.AlterField(
            model_name='rulestate',
            name='rule',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='states', to='alerting.alertrule'),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='state',
            field=models.CharField(choices=[('ok', 'Ok'), ('pending', 'Pending'), ('firing', 'Firing')], default='ok', max_length=16),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='consecutive',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='last_value',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='last_evaluated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='rulestate',
            name='last_resolved_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Incidents.
        migrations.AddField(
            model_name='alert',
            name='last_reminded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='alert',
            name='last_seen_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='alert',
            name='last_value',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='alert',
            name='occurrences',
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='alert',
            name='reminders_sent',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='alert',
            name='silenced',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='alert',
            name='summary',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
    ]
