"""No plain phone number or registry ID number at rest: not in the database file (SQLite) or its dump (pg_dump), nor
in any file under FUPIN_DATA_DIR (raw import copies, stored attachments, the comparison's columnar copies), after a
roster import, a 民情 report with the caller's phone, a stored attachment and the comparison's registry read.

Positive control first: values planted in plain (a column that is not sealed, a file that is not stored through the
platform) are found by the same search, so an empty result means the values are absent, not that the search is blind.
The ID numbers searched for are the registry's (Person.id_number, sealed, with its blind indexes); a department's
records (the exchange's staged records) are not sealed yet (docs/personal-information.md), so no department file is
imported here. No bank account numbers are held by any model today.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from fupin.core.testing import own_data_dir
from fupin.registry.testdata import roster_rows, write_csv

PLACES = [("甲镇", "甲一村", "420581100201"), ("甲镇", "甲二村", "420581100202"), ("乙镇", "乙一村", "420581101201")]
PLANTED_COLUMN = "13700001111"
PLANTED_FILE = "13700002222"
PLANTED_ID = "42058119800101005X"  # a valid-looking ID written in plain into a file (the ID part of the control)


def _database_bytes(tmp: Path) -> bytes:
    """The database as stored: a copy of the SQLite file (VACUUM INTO, which also holds the test's in-memory
    database), or a pg_dump of the PostgreSQL database."""
    if connection.vendor == "sqlite":
        out = tmp / "copy.sqlite3"
        with connection.cursor() as cur:
            cur.execute("VACUUM INTO %s", [str(out)])
        assert sqlite3.connect(out).execute("SELECT count(*) FROM registry_person").fetchone()[0] > 0
        return out.read_bytes()
    db = connection.settings_dict
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed for this test on PostgreSQL"
    out = tmp / "dump.sql"
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    subprocess.run([pg_dump, "-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U",
                    db.get("USER") or "postgres", "-f", str(out), db["NAME"]], check=True, env=env, timeout=300)
    text = out.read_bytes()
    assert b"COPY public.registry_person" in text
    return text


def _data_dir_hits(values: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for dirpath, _dirs, files in os.walk(settings.DATA_DIR):  # every file, whatever its name or kind
        for name in files:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for v in values:
                if v.encode() in data:
                    hits.setdefault(v, []).append(str(path))
    return hits


@pytest.fixture
def data_dir(tmp_path, settings):
    """A data directory of this test's own (`fupin crypto rotate --files` seals older files in a real installation)."""
    return own_data_dir(tmp_path, settings)


@pytest.mark.django_db(transaction=True)
def test_no_plain_phone_in_the_database_its_dump_or_the_data_dir(county, tmp_path, data_dir):
    from fupin.dispatch.services import minqing_report_create
    from fupin.exchange.linkage import load_persons
    from fupin.registry.importer import import_roster
    from fupin.registry.models import Household, Person

    rows = roster_rows(PLACES, households=15, seed=11)
    phones = sorted({r["联系电话"] for r in rows if r["联系电话"]})
    assert len(phones) >= 10
    ids = sorted({r["证件号码"] for r in rows})
    assert len(ids) >= 30 and all(len(n) == 18 for n in ids)
    # the roster as a county sends it: imported, and its raw copy kept under FUPIN_DATA_DIR/raw
    import_roster(actor="t", path=write_csv(tmp_path / "roster.csv", rows))
    assert Person.objects.exclude(phone="").count() >= 10
    assert sorted(p for p in Household.objects.values_list("phone", flat=True) if p) == phones
    caller = "13600003333"
    minqing_report_create(actor="t", channel="hotline", category="living", content="来电反映饮水困难",
                          village=county["va1"], reporter_phone=caller)
    stored = default_storage.save("dispatch/test/minqing.txt", ContentFile(f"来电 {caller}".encode()))
    assert (data_dir / "files" / stored).is_file() and default_storage.open(stored).read().endswith(caller.encode())
    load_persons()  # the comparison's registry read writes its columnar copy under FUPIN_DATA_DIR/exchange/cache

    # positive control: a plain value in a column that is not sealed, and a plain file under the data directory
    Person.objects.filter(pk=Person.objects.order_by("pk").first().pk).update(note=f"备注{PLANTED_COLUMN} {PLANTED_ID}")
    planted = data_dir / "planted-control.txt"
    planted.write_text(f"电话{PLANTED_FILE} 证件{PLANTED_ID}", encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_bytes = _database_bytes(Path(tmp))
        hits = _data_dir_hits([*phones, caller, *ids, PLANTED_FILE, PLANTED_ID])
    finally:
        planted.unlink()
    assert PLANTED_COLUMN.encode() in db_bytes, "the search of the database finds a planted plain value"
    assert PLANTED_ID.encode() in db_bytes, "... and a planted plain ID number"
    assert hits.get(PLANTED_FILE) == [str(planted)], "the search of the data directory finds a planted plain file"
    assert hits.get(PLANTED_ID) == [str(planted)], "... and a planted plain ID number"
    cache_files = list((data_dir / "exchange").rglob("*.parquet"))
    assert cache_files and all(f.read_bytes().startswith(b"FUPINENC1") for f in cache_files), cache_files
    # the sealed copy still answers the comparison: opened in memory, with the ID numbers in plain there only
    assert sorted(load_persons().column("id_number").to_pylist()) == ids
    written = {p.relative_to(data_dir).parts[0] for p in data_dir.rglob("*") if p.is_file()}
    assert {"raw", "files", "exchange"} <= written, written  # the search saw each kind of file the run wrote

    in_db = [p for p in [*phones, caller, *ids] if p.encode() in db_bytes]
    assert in_db == [], f"plain phone or ID numbers in the database: {in_db[:3]}"
    in_files = {v: paths for v, paths in hits.items() if v not in (PLANTED_FILE, PLANTED_ID)}
    assert in_files == {}, f"plain phone or ID numbers in files under FUPIN_DATA_DIR: {list(in_files.items())[:3]}"


def _bad_check(number: str) -> str:
    """The same 18 characters with a wrong check character (an ID number as typed that fails its check)."""
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.django_db(transaction=True)
def test_no_plain_id_number_in_the_other_copies(county, tmp_path, data_dir):
    """The other places an ID number lands: a department's staged records (raw and canonical values, the ID as
    received, cleaned and normalised), the comparison's findings (the member's number, the evidence citing the ID
    as received), a change request's details (a move-in), an import problem's value (a number failing its check),
    a staff member's identity and the kinship flag it raises. Each is planted, found back through the application
    (so it was written), and then searched for in the database, its dump and FUPIN_DATA_DIR."""
    from fupin.assessment.models import KinshipFlag, StaffIdentity
    from fupin.assessment.services import kinship_scan, staff_identity_set
    from fupin.core.testing import make_household, make_id, make_user
    from fupin.eligibility.models import Finding
    from fupin.eligibility.services import compare_run
    from fupin.exchange.models import StagedRecord
    from fupin.exchange.services import import_department, sources_ensure_defaults
    from fupin.registry.change_requests import request_submit
    from fupin.registry.importer import import_roster
    from fupin.registry.models import ChangeRequest, ImportProblem

    sources_ensure_defaults()
    actor = make_user("h20_office", "city_office", division=county["county"])
    hh = make_household(county["va1"], grid=county["ga1"], head="甲有车", members=2, poor_code="NP001",
                        is_registered_poor=True, poverty_status="0", attribute="1", main_cause="1")
    head = hh.members.get(relationship="户主")
    member = hh.members.exclude(pk=head.pk).get()
    outsider = make_id(birth="19660606")  # in a department file only
    short = make_id(birth="19770707")[:17]  # a number that lost a character: staged as invalid, with its problem
    # a department extract: the head owns a car (a finding), an outsider too (a staged record only)
    vehicle = tmp_path / "vehicle.csv"
    vehicle.write_text("序号,车主,身份证明号码,车辆类型,机动车状态,购置价格\n"
                       f"1,{head.name},{head.id_number},小型轿车,正常,80000\n"
                       f"2,丙外人,{outsider},小型轿车,正常,90000\n"
                       f"3,丁短号,{short},摩托车,正常,5000\n", encoding="utf-8")
    import_department(actor=actor, source_code="vehicle", path=vehicle)
    compare_run(actor=actor)
    # a move-in reported from the field, not yet approved
    mover = make_id(birth="19900909")
    request_submit(actor=actor, household=hh, kind="move_in", date="2026-01-05",
                   payload={"name": "甲迁入", "id_number": mover, "sex": "男", "relationship": "之女婿"})
    # a roster whose ID number fails its check: imported verbatim, kept as a problem with the value as typed
    rows = roster_rows(PLACES[:1], households=2, seed=23)
    typed = _bad_check(rows[0]["证件号码"])
    rows[0]["证件号码"] = typed
    import_roster(actor="t", path=write_csv(tmp_path / "roster.csv", rows))
    roster_ids = sorted({r["证件号码"] for r in rows} - {typed})
    # a village cadre whose own household register lists the member: a kinship flag on the household
    staff_id = make_id(birth="19700101")
    cadre = make_user("h20_cadre", "village_team", division=county["va1"], display_name="甲村干")
    staff_identity_set(actor=actor, user=cadre, role="village_cadre", id_number=staff_id)
    register = tmp_path / "户籍.csv"
    register.write_text("姓名,公民身份号码,户号,与户主关系,户籍地址\n"
                        f"甲村干,{staff_id},H1,户主,甲一村1组2号\n"
                        f"{member.name},{member.id_number},H1,之子,甲一村1组2号\n", encoding="utf-8")
    import_department(actor=actor, source_code="household_register", path=register)
    kinship_scan(actor=actor, year=2026)

    # each place holds its number (read back through the application: written, and readable with the key)
    staged = set(StagedRecord.objects.values_list("id_number", flat=True))
    assert {head.id_number, outsider, staff_id, member.id_number} <= staged
    assert StagedRecord.objects.filter(id_number=outsider).count() == 1  # the blind index answers exact search
    assert short in set(StagedRecord.objects.values_list("id_raw", flat=True))
    finding = Finding.objects.get(household=hh)
    assert finding.person_id_number == head.id_number and head.id_number in str(finding.evidence)
    assert ChangeRequest.objects.get(household=hh).payload["id_number"] == mover
    assert typed in set(ImportProblem.objects.values_list("value", flat=True))
    assert StaffIdentity.objects.get(user=cadre).id_number == staff_id
    flag = KinshipFlag.objects.get(household=hh, year=2026)
    assert flag.person_id == member.pk and member.id_number not in flag.key
    numbers = sorted({head.id_number, member.id_number, outsider, short, mover, typed, staff_id, *roster_ids})

    # positive control: a plain value in a column that is not sealed, and a plain file under the data directory
    hh.members.filter(pk=head.pk).update(note=f"备注 {PLANTED_ID}")
    planted = data_dir / "planted-control.txt"
    planted.write_text(f"证件{PLANTED_ID}", encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_bytes = _database_bytes(Path(tmp))
        hits = _data_dir_hits([*numbers, PLANTED_ID])
    finally:
        planted.unlink()
    assert PLANTED_ID.encode() in db_bytes, "the search of the database finds a planted plain ID number"
    assert hits.get(PLANTED_ID) == [str(planted)], "the search of the data directory finds a planted plain ID number"
    written = {p.relative_to(data_dir).parts[0] for p in data_dir.rglob("*") if p.is_file()}
    assert {"raw", "exchange"} <= written, written  # the raw copies and the columnar copies were searched too

    in_db = [n for n in numbers if n.encode() in db_bytes]
    assert in_db == [], f"plain ID numbers in the database: {in_db}"
    in_files = {v: paths for v, paths in hits.items() if v != PLANTED_ID}
    assert in_files == {}, f"plain ID numbers in files under FUPIN_DATA_DIR: {list(in_files.items())[:3]}"
