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
