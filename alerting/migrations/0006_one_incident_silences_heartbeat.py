"""SPEC §10, step 3 of 3: one unresolved alert per rule and version (in the database),
reminders as their own deliveries, silences and the monitor's heartbeat."""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerting', '0005_merge_duplicate_incidents'),
    ]

    operations = [
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
