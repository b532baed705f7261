from django.db import migrations


def seal_existing(apps, schema_editor):
    """Seal the change requests' details (a move-in's ID number) and the import problems' values (a failing ID
    number as typed), in batches of one transaction each (not atomic, as 0007: a stopped run is finished by the next
    `migrate` or `fupin crypto rotate`)."""
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("registry", "changerequest"))
    reseal_model(apps.get_model("registry", "importproblem"))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0008_h20_seal_id_copies"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
