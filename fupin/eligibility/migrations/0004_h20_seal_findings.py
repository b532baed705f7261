from django.db import migrations


def seal_existing(apps, schema_editor):
    """Seal the findings' ID numbers and evidence (which cites the ID as received), in batches of one transaction
    each (not atomic, as registry 0007: a stopped run is finished by the next `migrate` or `fupin crypto rotate`)."""
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("eligibility", "finding"))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("eligibility", "0003_h20_seal_id_copies"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
