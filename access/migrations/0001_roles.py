"""The roles ingest, agent, reviewer and viewer as auth groups (SPEC §11)."""
from django.db import migrations


def make_roles(apps, schema_editor):
    from access.roles import ensure_roles

    ensure_roles(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("predictions", "0005_prediction_version_time_cover"),
        ("alerting", "0007_rule_metric_any_or_custom"),
    ]

    # Reversing keeps the groups: they may hold what an administrator added since.
    operations = [migrations.RunPython(make_roles, migrations.RunPython.noop)]
