from django.db import migrations


def seal_existing(apps, schema_editor):
    """Seal the findings' ID numbers and evidence (which cites the ID as received), in batches of one transaction
    each (not atomic, as registry 0007: a stopped run is finished by the next `migrate` or `fupin crypto rotate`)."""
    from fupin.core.bulk import update_rows
    from fupin.core.idnumber import mask
    from fupin.core.rotation import reseal_model

    reseal_model(apps.get_model("eligibility", "finding"))
    # the runs' stats listed the undecided pairs' members by ID number (now by row): older runs keep them masked
    run = apps.get_model("eligibility", "comparisonrun")
    changed = []
    for pk, stats in run.objects.filter(stats__isnull=False).values_list("pk", "stats").iterator():
        undecided = ((stats or {}).get("not_understood") or {}).get("undecided") or []
        if any(u.get("person") and "*" not in u["person"] for u in undecided):
            for u in undecided:
                if u.get("person"):
                    u["person"] = mask(u["person"])
            changed.append((pk, stats))
    for i in range(0, len(changed), 500):
        update_rows(run, ["stats"], changed[i:i + 500])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("eligibility", "0003_h20_seal_id_copies"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
