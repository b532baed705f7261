import re

from django.db import migrations

BATCH = 2000
OLD_KEY = re.compile(r"^(\d+):(\d+):id:[^:]*:(\d+)$")  # year:staff:id:<ID number>:household


def seal_existing(apps, schema_editor):
    """Seal the staff members' ID numbers, and take the ID number out of the kinship flags' keys (the member's row
    id instead, as `kinship_scan` now writes them), in batches of one transaction each (not atomic, as registry
    0007): a stopped run is finished by running it again (keys already rewritten no longer match OLD_KEY)."""
    from django.db import transaction

    from fupin.core.bulk import update_rows
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("assessment", "staffidentity"))
    flag = apps.get_model("assessment", "kinshipflag")
    last = 0
    while True:
        with transaction.atomic():
            rows = list(flag.objects.filter(pk__gt=last, key__contains=":id:").order_by("pk")
                        .values_list("pk", "key", "person_id")[:BATCH])
            if not rows:
                break
            changed = []
            for pk, key, person_id in rows:
                m = OLD_KEY.match(key)
                if m:  # a flag found by ID always names its member; without one, its own row id keeps it unique
                    who = f"person:{person_id}" if person_id is not None else f"flag:{pk}"
                    changed.append((pk, f"{m[1]}:{m[2]}:{who}:{m[3]}"[:80]))
            update_rows(flag, ["key"], changed)
        last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("assessment", "0004_h20_seal_id_copies"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
