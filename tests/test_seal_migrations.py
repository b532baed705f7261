"""The issue-20 migrations that seal rows written before: plain staged records, findings, change requests and import
problems are sealed (and the staged records' index filled) by their data migrations, run again safely; the kinship
flags' old keys (which held the member's ID number) are rewritten to name the member's row."""

import importlib

import pytest
from django.apps import apps as global_apps
from django.db import connection

from fupin.core import crypto
from fupin.core.testing import make_household, make_id, make_user


def _migration(app: str, name: str):
    return importlib.import_module(f"fupin.{app}.migrations.{name}")


def _column(table: str, column: str, pk) -> str:
    with connection.cursor() as cur:
        cur.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
        return cur.fetchone()[0]


@pytest.mark.django_db
def test_plain_staged_records_are_sealed_and_indexed_by_the_migration(county, tmp_path):
    from fupin.exchange.models import StagedRecord
    from fupin.exchange.services import import_department, sources_ensure_defaults

    sources_ensure_defaults()
    number = make_id(birth="19810203")
    path = tmp_path / "vehicle.csv"
    path.write_text(f"序号,车主,身份证明号码,车辆类型,机动车状态,购置价格\n1,王某,{number},小型轿车,正常,80000\n",
                    encoding="utf-8")
    import_department(actor="t", source_code="vehicle", path=path)
    rec = StagedRecord.objects.get()
    table = StagedRecord._meta.db_table
    assert crypto.is_encrypted(_column(table, "id_number", rec.pk))  # written sealed
    # as a database before the change held it: plain values, no index
    with connection.cursor() as cur:
        cur.execute(f'UPDATE "{table}" SET id_number = %s, id_clean = %s, id_raw = %s, raw = %s, data = %s, '
                    f"id_index = '' WHERE id = %s",
                    [number, number, number, f'{{"身份证明号码": "{number}"}}', f'{{"证件号码": "{number}"}}', rec.pk])
    assert _column(table, "id_number", rec.pk) == number  # the positive control: plain now
    _migration("exchange", "0005_h20_seal_staged_records").seal_existing(global_apps, None)
    for col in ("id_number", "id_clean", "id_raw", "raw", "data"):
        assert crypto.is_encrypted(_column(table, col, rec.pk)), col
    rec = StagedRecord.objects.get(id_number=number)  # through the filled index
    assert rec.raw == {"身份证明号码": number} and rec.data == {"证件号码": number} and rec.id_clean == number
    _migration("exchange", "0005_h20_seal_staged_records").seal_existing(global_apps, None)  # again: nothing to do
    assert StagedRecord.objects.get(id_number=number).pk == rec.pk


@pytest.mark.django_db
def test_old_kinship_keys_lose_the_id_number(county):
    from fupin.assessment.models import KinshipFlag
    from fupin.assessment.services import staff_identity_set

    hh = make_household(county["va1"], head="甲户主", members=2, is_registered_poor=True)
    member = hh.members.exclude(relationship="户主").first()
    staff = staff_identity_set(actor="t", user=make_user("cadre_k", "village_team", division=county["va1"]),
                               role="village_cadre", id_number=make_id(birth="19700101"))
    old = KinshipFlag.objects.create(key=f"2026:{staff.pk}:id:{member.id_number}:{hh.pk}", household=hh,
                                     person=member, staff=staff, relation="child", source="户籍数据", year=2026,
                                     area_code=hh.area_code)
    addr = KinshipFlag.objects.create(key=f"2026:{staff.pk}:addr:甲一村1组2号:{hh.pk}", household=hh, staff=staff,
                                      relation="same_address", source="户籍地址相同", year=2026,
                                      area_code=hh.area_code)
    with connection.cursor() as cur:  # the staff identity as written before: plain
        cur.execute(f'UPDATE "{staff._meta.db_table}" SET id_number = %s WHERE id = %s',
                    [staff.id_number, staff.pk])
    _migration("assessment", "0005_h20_seal_staff_ids").seal_existing(global_apps, None)
    old.refresh_from_db()
    addr.refresh_from_db()
    assert old.key == f"2026:{staff.pk}:person:{member.pk}:{hh.pk}" and member.id_number not in old.key
    assert addr.key == f"2026:{staff.pk}:addr:甲一村1组2号:{hh.pk}"  # untouched
    assert crypto.is_encrypted(_column(staff._meta.db_table, "id_number", staff.pk))


@pytest.mark.django_db
def test_staged_ids_stored_three_times_are_stored_once_by_the_migration(county, tmp_path):
    from fupin.exchange.models import StagedRecord
    from fupin.exchange.public import records_for_evidence
    from fupin.exchange.services import import_department, sources_ensure_defaults

    sources_ensure_defaults()
    numbers = [make_id(birth=f"1981020{k}") for k in range(1, 6)]
    spaced = numbers[4][:6] + " " + numbers[4][6:]  # id_raw differs from id_clean: stays stored three times
    lines = [f"{k + 1},王某{k},{n},小型轿车,正常,80000" for k, n in enumerate([*numbers[:4], spaced])]
    lines.append("6,李某,12345,小型轿车,正常,80000")  # fails its check: no id_number, nothing to store once
    path = tmp_path / "vehicle.csv"
    path.write_text("序号,车主,身份证明号码,车辆类型,机动车状态,购置价格\n" + "\n".join(lines) + "\n", encoding="utf-8")
    import_department(actor="t", source_code="vehicle", path=path)
    table = StagedRecord._meta.db_table
    recs = list(StagedRecord.objects.order_by("row_number"))
    before = [(r.id_raw, r.id_clean, r.id_number, r.id_status) for r in recs]
    assert [r.id_once for r in recs] == [True] * 4 + [False, False]  # the import stores it once already
    assert _column(table, "id_raw", recs[0].pk) == "" and crypto.is_encrypted(_column(table, "id_number", recs[0].pk))
    assert before[0][:3] == (numbers[0],) * 3 and before[4][0] != before[4][1] and before[5][2] == ""
    # as a database before the change held it: the three copies sealed, no flag (written through the service
    # that seals, bulk.update_rows, as the import wrote them before)
    from fupin.core.bulk import update_rows

    update_rows(StagedRecord, ["id_raw", "id_clean", "id_once"], [(r.pk, n, n, False) for r, n in zip(
        recs[:4], numbers[:4], strict=True)])
    assert crypto.is_encrypted(_column(table, "id_raw", recs[0].pk))  # the positive control: three copies again
    assert not any(StagedRecord.objects.values_list("id_once", flat=True))
    migration = _migration("exchange", "0007_h20e_store_id_once")
    assert migration.store_once(global_apps, None, batch=2, limit=3) == 3  # stopped after three rows
    assert sorted(StagedRecord.objects.values_list("id_once", flat=True)) == [False] * 3 + [True] * 3
    assert migration.store_once(global_apps, None, batch=2) == 1  # the rerun finishes: only the fourth is left
    assert migration.store_once(global_apps, None, batch=2) == 0
    for r in recs[:4]:
        assert _column(table, "id_raw", r.pk) == "" and _column(table, "id_clean", r.pk) == ""
    after = [(r.id_raw, r.id_clean, r.id_number, r.id_status) for r in StagedRecord.objects.order_by("row_number")]
    assert after == before
    assert StagedRecord.objects.get(id_number=numbers[1]).id_clean == numbers[1]  # the index kept
    assert {p: e.id_raw for p, e in records_for_evidence([r.pk for r in recs]).items()} == {
        r.pk: b[0] for r, b in zip(recs, before, strict=True)}
    assert StagedRecord.objects.only("id_clean", "id_number", "id_once").get(pk=recs[2].pk).id_clean == numbers[2]
    from fupin.exchange.linkage import load_records

    read = load_records([recs[0].snapshot_id]).sort_by("record_id")  # the linkage's read from the database
    assert list(zip(read.column("id_clean").to_pylist(), read.column("id_number").to_pylist(), strict=True)) == [
        (b[1], b[2]) for b in before]
    migration.store_three(global_apps, None)  # backwards: the three copies again, read the same
    assert not any(StagedRecord.objects.values_list("id_once", flat=True))
    assert crypto.is_encrypted(_column(table, "id_clean", recs[0].pk))
    assert [(r.id_raw, r.id_clean, r.id_number, r.id_status) for r in StagedRecord.objects.order_by("row_number")] \
        == before
