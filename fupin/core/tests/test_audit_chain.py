"""The audit trail's hash chain: sealing in commit order, verification that finds a changed, removed or inserted
row, archiving past the retention period that verification follows across the cut."""

import datetime as dt
import gzip
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from fupin.core import audit, audit_chain
from fupin.core.models import AuditArchive, AuditEvent


def _events(n, **kw):
    return [audit.record(actor=None, action="test.thing", object_type="x", object_id=str(i),
                         after={"i": i, "name": "张三", "amount": "1.50"}, **kw) for i in range(n)]


def _raw(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)


@pytest.mark.django_db
def test_events_are_sealed_in_a_chain_that_verifies():
    _events(5)
    assert audit_chain.seal_pending() == 5
    rows = list(AuditEvent.objects.order_by("seq").values("seq", "prev_hash", "hash"))
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == audit_chain.GENESIS
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, 5))
    result = audit_chain.verify()
    assert result.ok and result.checked == 5
    _events(2)
    assert audit_chain.seal_pending() == 2 and audit_chain.seal_pending() == 0
    assert audit_chain.verify().checked == 7


@pytest.mark.django_db(transaction=True)
def test_a_committed_service_write_is_sealed_after_commit():
    with transaction.atomic():
        _events(3)
        assert AuditEvent.objects.filter(seq__isnull=True).count() == 3
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    with pytest.raises(RuntimeError), transaction.atomic():
        _events(1)
        raise RuntimeError("rolled back")
    _events(1)  # autocommit: sealed at once
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    assert audit_chain.verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["note", "after", "actor_name", "delete", "insert", "reorder"])
def test_verification_finds_a_tampered_row(tamper):
    events = _events(6)
    audit_chain.seal_pending()
    assert audit_chain.verify().ok  # positive control
    target = events[3].pk
    table = AuditEvent._meta.db_table
    if tamper == "note":
        _raw(f"UPDATE {table} SET note = %s WHERE id = %s", ["改过", target])
    elif tamper == "after":
        AuditEvent.objects.none()  # the model refuses updates; an attacker with SQL access does not
        _raw(f"UPDATE {table} SET after = %s WHERE id = %s",
             [json.dumps({"i": 3, "name": "李四", "amount": "1.50"}), target])
    elif tamper == "actor_name":
        _raw(f"UPDATE {table} SET actor_name = %s WHERE id = %s", ["someone", target])
    elif tamper == "delete":
        _raw(f"DELETE FROM {table} WHERE id = %s", [target])
    elif tamper == "insert":
        row = AuditEvent.objects.filter(pk=target).values("seq", "prev_hash", "hash").get()
        _raw(f"UPDATE {table} SET seq = seq + 100 WHERE seq > %s", [row["seq"]])
        forged = AuditEvent.objects.create(action="test.forged", object_type="x", object_id="f")
        values = AuditEvent.objects.filter(pk=forged.pk).values(*audit_chain._HASHED_FIELDS).get()
        _raw(f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
             [row["seq"] + 1, row["hash"], audit_chain.event_hash(row["hash"], values), forged.pk])
    elif tamper == "reorder":
        a, b = events[2].pk, events[3].pk
        sa = AuditEvent.objects.get(pk=a).seq
        sb = AuditEvent.objects.get(pk=b).seq
        _raw(f"UPDATE {table} SET seq = -1 WHERE id = %s", [a])
        _raw(f"UPDATE {table} SET seq = %s WHERE id = %s", [sa, b])
        _raw(f"UPDATE {table} SET seq = %s WHERE id = %s", [sb, a])
    result = audit_chain.verify(seal_first=tamper != "insert")
    assert not result.ok, tamper
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert exc.value.returncode == 3


@pytest.mark.django_db
def test_archiving_keeps_the_retention_period_and_the_chain(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    old = _events(4)
    _events(2)
    audit_chain.seal_pending()
    long_ago = timezone.now() - dt.timedelta(days=400)
    table = AuditEvent._meta.db_table
    # moving the clock back is a change too: re-seal the test data after dating it
    _raw(f"UPDATE {table} SET at = %s, seq = NULL, prev_hash = '', hash = '' ", [timezone.now()])
    _raw(f"UPDATE {table} SET at = %s WHERE id IN ({','.join(str(e.pk) for e in old)})", [long_ago])
    audit_chain.seal_pending()
    with pytest.raises(ValueError):
        audit_chain.archive_expired(days=179)
    result = audit_chain.archive_expired(days=180)
    assert result["archived"] == 4
    assert AuditEvent.objects.count() == 2
    archive = AuditArchive.objects.get()
    assert (archive.first_seq, archive.last_seq, archive.count) == (1, 4, 4)
    with gzip.open(archive.path, "rt", encoding="utf-8") as fh:
        lines = [json.loads(x) for x in fh]
    assert [x["object_id"] for x in lines] == ["0", "1", "2", "3"]
    assert audit_chain.verify().ok and audit_chain.verify(archives=True).ok
    assert audit_chain.archive_expired(days=180)["archived"] == 0  # nothing more is old enough
    # a changed archive file is found
    with gzip.open(archive.path, "wt", encoding="utf-8") as fh:
        for x in lines:
            x["note"] = "改过" if x["seq"] == 2 else x["note"]
            fh.write(json.dumps(x, ensure_ascii=False) + "\n")
    assert audit_chain.verify().ok  # the database part is intact
    bad = audit_chain.verify(archives=True)
    assert not bad.ok and any("校验和" in p for p in bad.problems)


def test_retention_below_180_days_fails_the_system_check(settings):
    from fupin.core.hooks import audit_retention_check

    settings.FUPIN_AUDIT_RETENTION_DAYS = 90
    assert [e.id for e in audit_retention_check()] == ["fupin.E001"]
    settings.FUPIN_AUDIT_RETENTION_DAYS = 180
    assert audit_retention_check() == []


@pytest.mark.django_db
def test_nightly_step_seals_and_the_command_reports():
    from fupin.core.nightly import run_refreshers

    _events(3)
    out = run_refreshers(only=["core.audit"])
    assert out["core.audit"]["sealed"] == 3
    call_command("audit", "verify")


def test_the_auditor_searches_the_trail_of_their_jurisdiction_only(client, county):
    from fupin.core.testing import make_household, make_user

    office = make_user("office", "city_office", division=county["county"])
    make_household(county["va1"], head="甲户主", actor=office)
    make_household(county["vb1"], head="乙户主", actor=office)
    auditor = make_user("auditor_a", "auditor", division=county["town_a"])
    client.force_login(auditor)
    page = client.get("/audit/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "甲户主" in body and "乙户主" not in body  # positive control and the other town's household
    assert "甲户主" not in client.get("/audit/", {"actor": "nobody"}).content.decode()
    assert "甲户主" in client.get("/audit/", {"action": "registry.household"}).content.decode()
    assert client.get("/audit/", {"since": "2016-13-45"}).status_code == 200  # a bad date is a message, not a 500
    for role in ("city_office", "town_staff", "village_team", "grid_worker", "city_leader", "dept_handler"):
        client.force_login(make_user(f"u_{role}", role, division=county["county"]))
        assert client.get("/audit/").status_code == 403, role


@pytest.mark.django_db
def test_an_object_id_too_long_for_the_column_fails_on_every_database():
    """SQLite kept a 200-character object_id that PostgreSQL refused (the demo's overdue loans at scale 1)."""
    with pytest.raises(ValueError):
        audit.record(actor=None, action="test.thing", object_type="x", object_id=",".join(map(str, range(50))))
    assert not AuditEvent.objects.filter(action="test.thing").exists()
