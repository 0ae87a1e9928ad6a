"""SPEC §10, step 2 of 3: merge today's duplicate open alerts before the database may
guarantee one unresolved alert per rule and version.

Per (rule, version) the newest unresolved alert stays open with the occurrences of all of
them; the others are resolved by this migration with a note saying which alert they were
merged into. Nothing is deleted. Rule states of open incidents become "firing".
"""
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
        ('alerting', '0004_incidents_states_silences'),
    ]

    operations = [
        migrations.RunPython(merge_duplicate_incidents, migrations.RunPython.noop),
    ]
