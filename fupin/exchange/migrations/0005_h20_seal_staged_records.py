from django.db import migrations


def seal_existing(apps, schema_editor):
    """Seal the staged records' ID numbers and raw values (and fill their blind index) and the review queue's
    details, in batches of one transaction each (this migration is not atomic, as registry 0007): a run that is
    stopped leaves every row readable, and running it again (or `fupin crypto rotate`) does only the rows still
    plain, found in SQL."""
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("exchange", "stagedrecord"))
    reseal_model(apps.get_model("exchange", "linkreview"))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("exchange", "0004_h20_seal_id_copies"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
