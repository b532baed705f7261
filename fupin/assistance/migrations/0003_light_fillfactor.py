"""PostgreSQL: leave room in the lights' pages, so the nightly rewrite of every light's day count is a HOT update
(no index entry touched). Nothing to do on SQLite."""

from django.db import migrations


def fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assistance_householdlight SET (fillfactor = 60)")


def reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assistance_householdlight RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("assistance", "0002_light_fingerprint_fewer_indexes"),
    ]

    operations = [migrations.RunPython(fillfactor, reset)]
