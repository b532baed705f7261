"""The person's data report (what is held about one ID number, from which source) and the retention purge."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from fupin.core import idnumber
from fupin.core.models import AuditEvent, Batch
from fupin.core.testing import make_household, make_user
from fupin.exchange.models import Snapshot, StagedRecord
from fupin.exchange.services import import_department
from fupin.exchange.tests.conftest import write_csv
from fupin.privacy.retention import purge

pytestmark = pytest.mark.django_db


def _ident(birth, seq):
    body = f"420581{birth}{seq:03d}"
    return body + idnumber.check_char(body)


def _household(county, village, number, name):
    hh = make_household(county[village], head=name, members=1)
    person = hh.members.get()
    person.id_number = number
    person.save()
    return hh


def test_the_county_office_sees_what_is_held_and_the_look_up_is_recorded(client, county, tmp_path):
    number = _ident("19800101", 11)
    _household(county, "va1", number, "张伟")
    path = write_csv(tmp_path / "payroll.csv", ["序号", "姓名", "身份证号", "工作单位", "状态"],
                     [[1, "张伟", number, "教育局", "在职"], [2, "李娜", _ident("19750505", 31), "水利局", "在职"]])
    import_department(actor="test", source_code="payroll", path=path)
    office = make_user("office", "city_office", division=county["county"])
    client.force_login(office)
    page = client.get("/privacy/", {"id": number.lower()[:-1] + number[-1].lower()})
    body = page.content.decode()
    assert page.status_code == 200 and "张伟" in body and "财政供养人员" in body and "单位名称" in body
    assert 'id="report"' in body and "教育局" not in body  # field names, not the values, are listed
    event = AuditEvent.objects.get(action="privacy.person_report")
    assert number not in (event.object_id + event.object_repr + event.note)  # the trail names no full ID either
    bad = client.get("/privacy/", {"id": "4205811980"})
    assert bad.status_code == 200 and "证件号码" in bad.content.decode()


def test_other_roles_may_not_and_a_village_sees_only_its_people(client, county, tmp_path):
    number = _ident("19800101", 11)
    _household(county, "vb1", number, "乙某")
    for role in ("grid_worker", "village_team", "town_staff", "auditor", "city_leader"):
        client.force_login(make_user(f"u_{role}", role, division=county["va1"]))
        assert client.get("/privacy/", {"id": number}).status_code == 403, role


def test_retention_purges_replaced_snapshots_and_old_raw_files(county, tmp_path, settings):
    settings.FUPIN_RAW_DIR = tmp_path / "raw"
    rows = [[1, "张伟", _ident("19800101", 11), "教育局", "在职"]]
    header = ["序号", "姓名", "身份证号", "工作单位", "状态"]
    first = import_department(actor="test", source_code="payroll", path=write_csv(tmp_path / "a.csv", header, rows))
    rows.append([2, "李娜", _ident("19750505", 31), "水利局", "在职"])
    second = import_department(actor="test", source_code="payroll", path=write_csv(tmp_path / "b.csv", header, rows))
    first.refresh_from_db()
    assert not first.is_current and StagedRecord.objects.filter(snapshot=first).count() == 1
    assert purge()["replaced_snapshots"] == 0  # positive control: nothing is old enough yet
    later = timezone.now() + dt.timedelta(days=731)
    result = purge(now=later)
    assert result["replaced_snapshots"] == 1 and result["department_records"] >= 1
    assert StagedRecord.objects.filter(snapshot=first).count() == 0
    assert StagedRecord.objects.filter(snapshot=second).count() == 2  # the current one is kept
    assert AuditEvent.objects.filter(action="privacy.retention.snapshot_purged").count() == 1
    # raw files past their period
    raw = Path(settings.FUPIN_RAW_DIR) / "old.csv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text("x")
    batch = Batch.objects.create(kind="test", raw_path=str(raw))
    Batch.objects.filter(pk=batch.pk).update(started_at=timezone.now() - dt.timedelta(days=1100))
    assert purge()["raw_files"] == 1
    assert not raw.exists() and Batch.objects.get(pk=batch.pk).raw_path == ""
    assert os.path.isdir(raw.parent)
    assert Snapshot.objects.filter(pk=second.pk, is_current=True).exists()
