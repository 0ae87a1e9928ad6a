"""SPEC §10: rule states (the cooldown rows, renamed and extended), one incident per rule
and version, reminders, silences, the monitor's heartbeat, the rules' new fields.

Before the database may guarantee one unresolved alert per rule and version, today's
duplicates are merged: per (rule, version) the newest unresolved alert stays open with
the occurrences of all of them, the others are resolved by this migration with a note
saying which alert they were merged into. Nothing is deleted.
"""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Count

MERGED_BY = "migration"


def merge_duplicate_incidents(apps, schema_editor):
    Alert = apps.get_model("alerting", "Alert")
    RuleState = apps.get_model("alerting", "RuleState")
    unresolved = Alert.objects.exclude(status="resolved").filter(rule__isnull=False)
    Alert.objects.filter(last_seen_at__isnull=True).update(
        last_seen_at=models.F("timestamp"), last_value=models.F("metric_value")
    )
    now = django.utils.timezone.now()
    duplicated = (
        unresolved.order_by().values("rule_id", "model_version")
        .annotate(n=Count("id")).filter(n__gt=1)
    )
    for group in duplicated:
        alerts = list(
            unresolved.filter(rule_id=group["rule_id"], model_version=group["model_version"])
            .order_by("-timestamp", "-id")
        )
        newest, older = alerts[0], alerts[1:]
        Alert.objects.filter(pk=newest.pk).update(
            occurrences=sum(alert.occurrences for alert in alerts)
        )
        for alert in older:
            Alert.objects.filter(pk=alert.pk).update(
                status="resolved", resolved_at=now, resolved_by=MERGED_BY,
                resolution_note=f"merged into {newest.alert_id}",
            )
    # A rule and version with an open incident is firing.
    for alert in Alert.objects.exclude(status="resolved").filter(rule__isnull=False):
        state, _ = RuleState.objects.get_or_create(
            rule_id=alert.rule_id, model_version=alert.model_version
        )
        RuleState.objects.filter(pk=state.pk).update(
            state="firing", since=alert.timestamp, consecutive=alert.occurrences,
            last_value=alert.metric_value,
        )


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
        migrations.RunPython(merge_duplicate_incidents, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='alert',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'resolved'), _negated=True), fields=('rule', 'model_version'), name='one_unresolved_alert_per_rule_version'),
        ),
        # The rules' new fields.
        migrations.AddField(
            model_name='alertrule',
            name='pending_evaluations',
            field=models.PositiveIntegerField(default=1, help_text='Consecutive evaluations of a version on which the condition must hold before anything fires.'),
        ),
        migrations.AddField(
            model_name='alertrule',
            name='recovery_threshold',
            field=models.FloatField(blank=True, help_text='Once firing, resolve only when the value is on the far side of this (e.g. fire < 0.80, recover >= 0.85). Blank: when the condition stops holding.', null=True),
        ),
        migrations.AddField(
            model_name='alertrule',
            name='repeat_interval_minutes',
            field=models.PositiveIntegerField(blank=True, help_text='Remind the channels this often while the alert is unacknowledged. Blank: no reminders.', null=True),
        ),
        migrations.AddField(
            model_name='alertrule',
            name='window_minutes',
            field=models.PositiveIntegerField(blank=True, help_text="The window this rule is evaluated on. Blank: the monitor's window.", null=True),
        ),
        migrations.AddConstraint(
            model_name='alertrule',
            constraint=models.CheckConstraint(condition=models.Q(('pending_evaluations__gte', 1)), name='alertrule_pending_evaluations_positive'),
        ),
        # Reminders: one delivery per channel and reminder.
        migrations.RemoveConstraint(
            model_name='delivery',
            name='one_delivery_per_alert_channel_kind',
        ),
        migrations.AddField(
            model_name='delivery',
            name='reminder_number',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='kind',
            field=models.CharField(choices=[('alert', 'Alert'), ('reminder', 'Reminder'), ('recovery', 'Recovery')], default='alert', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('alert', 'channel', 'kind', 'reminder_number'), name='one_delivery_per_alert_channel_kind'),
        ),
        # Silences and the heartbeat.
        migrations.CreateModel(
            name='Silence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('model_version', models.CharField(blank=True, default='', max_length=64)),
                ('severity', models.CharField(blank=True, choices=[('info', 'Info'), ('warning', 'Warning'), ('critical', 'Critical')], default='', max_length=16)),
                ('component', models.CharField(blank=True, default='', max_length=64)),
                ('starts_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ends_at', models.DateTimeField(blank=True, null=True)),
                ('reason', models.TextField()),
                ('created_by', models.CharField(blank=True, default='', max_length=150)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expired_at', models.DateTimeField(blank=True, null=True)),
                ('expired_by', models.CharField(blank=True, default='', max_length=150)),
                ('alert', models.ForeignKey(blank=True, help_text='Silence only this alert, until it resolves.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='silences', to='alerting.alert')),
                ('rule', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='silences', to='alerting.alertrule')),
            ],
            options={
                'ordering': ['-starts_at', '-id'],
                'indexes': [models.Index(fields=['expired_at', 'ends_at'], name='silence_active')],
                'constraints': [models.CheckConstraint(condition=models.Q(('ends_at__isnull', False), ('alert__isnull', False), _connector='OR'), name='silence_needs_an_end_or_an_alert')],
            },
        ),
        migrations.CreateModel(
            name='MonitorHeartbeat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(default='monitor', max_length=64, unique=True)),
                ('last_pass_at', models.DateTimeField()),
                ('passes', models.PositiveBigIntegerField(default=0)),
            ],
        ),
    ]
