from django.db import migrations, transaction

BATCH = 2000


def store_once(apps, schema_editor, *, batch: int = BATCH, limit: int | None = None) -> int:
    """Store the staged records' ID once where its three forms are equal (StagedRecord.id_once): id_raw and id_clean
    emptied, id_number (and its index) kept. In batches of one transaction each (this migration is not atomic, as
    0005): a stopped run leaves every row readable (a row is converted whole or not at all), and running it again
    skips the rows already converted. Returns how many rows were converted."""
    from fupin.core.bulk import update_rows

    model = apps.get_model("exchange", "stagedrecord")
    manager = model._base_manager
    last, done = 0, 0
    while limit is None or done < limit:
        with transaction.atomic(using=manager.db):
            rows = list(manager.filter(id_once=False, pk__gt=last).order_by("pk")
                        .values_list("pk", "id_raw", "id_clean", "id_number")[:batch])
            if not rows:
                break
            same = [(pk, "", "", True) for pk, raw, clean, number in rows if number and raw == clean == number]
            if limit is not None:
                same = same[:limit - done]
            update_rows(model, ["id_raw", "id_clean", "id_once"], same)
        done += len(same)
        last = rows[-1][0]
    return done


def store_three(apps, schema_editor) -> None:
    """Backwards: the three copies written again (before 0006 drops the flag), in batches."""
    from fupin.core.bulk import update_rows

    model = apps.get_model("exchange", "stagedrecord")
    manager = model._base_manager
    while True:
        with transaction.atomic(using=manager.db):
            rows = list(manager.filter(id_once=True).order_by("pk").values_list("pk", "id_number")[:BATCH])
            if not rows:
                break
            update_rows(model, ["id_raw", "id_clean", "id_once"], [(pk, n, n, False) for pk, n in rows])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("exchange", "0006_h20e_id_once"),
    ]

    operations = [
        migrations.RunPython(store_once, store_three),
    ]
