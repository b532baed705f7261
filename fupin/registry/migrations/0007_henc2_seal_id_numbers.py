from django.db import migrations


def seal_existing(apps, schema_editor):
    """Seal the ID numbers written before and fill their blind indexes, in batches of one transaction each (this
    migration is not atomic): a run that is stopped leaves every row readable, and running it again (or `fupin crypto
    rotate`) does only the rows still plain, found in SQL."""
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("registry", "person"))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0006_henc2_encrypt_id_number"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
