"""Links carried over (issues 13 and 19): a department that resends a file whose records have the content of an
earlier snapshot's records (linked on the same registry and settings) gets those records' links copied, without
linking them again; a changed or new record is linked. Each test checks the database, and compares with a forced
relink of the same snapshot (the positive control: what linking them again gives)."""

import json

import pytest

from fupin.exchange.linkage import linkage_run
from fupin.exchange.models import LinkReview, RecordLink, StagedRecord
from fupin.exchange.testing import watch_engine_links

from .conftest import ident, write_csv
from .test_linkage import _links, dibao  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

HEADER = ["序号", "姓名", "身份证号", "出生日期", "住址"]


@pytest.fixture
def linked(monkeypatch):
    """The records the engine was asked to link, call by call."""
    return watch_engine_links(monkeypatch)


def _rows(path):
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))[1:]


def _explanations(snap) -> dict[int, object]:
    return {int(r.record.raw["序号"]): r.explanation for r in RecordLink.objects.filter(snapshot=snap)
            .select_related("record") if r.method == "probabilistic"}


def _resend(tmp_path, name, rows):
    from fupin.exchange.services import import_department

    # another file (another encoding: another hash of the file) with records of the same content
    return import_department(actor="test", source_code="dibao",
                             path=write_csv(tmp_path / name, HEADER, rows, encoding="utf-8"))


def test_a_resent_unchanged_file_carries_its_links_over(people, dibao, tmp_path, linked):  # noqa: F811
    snap, path = dibao
    linkage_run(actor="test")
    assert len(linked) == 1
    before, explained = _links(snap), _explanations(snap)
    assert explained and all(e and e.get("fields") for e in explained.values())
    reviews_before = sorted(LinkReview.objects.filter(status="open").values_list("record_key", "person_id"))
    assert reviews_before  # 序号 5: two namesakes to review

    snap2 = _resend(tmp_path, "dibao_again.csv", _rows(path))
    assert snap2.file_sha256 != snap.file_sha256
    run = linkage_run(actor="test")
    assert len(linked) == 1  # the engine was not asked to link anything
    assert run.stats["carried"] == {"dibao": {"from_snapshot": snap.pk, "records": 9, "links": 7, "relinked": 0}}
    assert run.stats["records"] == 0 and run.stats["links_carried"] == 7
    assert _links(snap2) == before  # the same persons, by the same methods
    assert _explanations(snap2) == explained
    assert RecordLink.objects.filter(snapshot=snap).count() == 7  # the earlier snapshot keeps its own
    # the open reviews follow their records to the new snapshot
    open_reviews = LinkReview.objects.filter(status="open").select_related("record")
    assert sorted((r.record_key, r.person_id) for r in open_reviews) == reviews_before
    assert {r.record.snapshot_id for r in open_reviews} == {snap2.pk}
    snap.refresh_from_db()
    snap2.refresh_from_db()
    assert snap2.link_fingerprint == snap.link_fingerprint != ""

    # positive control: linking the new snapshot again gives the links that were carried over
    forced = linkage_run(actor="test", force=True)
    assert len(linked) == 2 and forced.stats["records"] == 9 and "carried" not in forced.stats
    assert _links(snap2) == before and _explanations(snap2) == explained


def test_a_changed_record_is_linked_again_and_the_others_carried(people, dibao, tmp_path, linked):  # noqa: F811
    snap, path = dibao
    ids = people["ids"]
    linkage_run(actor="test")
    before = _links(snap)
    rows = _rows(path)
    assert rows[3][0] == "4" and rows[3][2] == ident("19800101", 15)
    rows[3] = ["4", "王明", ids["wang"], "", ""]  # was a valid ID of nobody; now 王明's
    rows.append(["10", "李娜", ids["li"], "", ""])  # a new record
    snap2 = _resend(tmp_path, "dibao_changed.csv", rows)
    run = linkage_run(actor="test")
    assert len(linked) == 2
    sent = StagedRecord.objects.filter(pk__in=linked[1])
    assert sorted(int(r.raw["序号"]) for r in sent) == [4, 10]  # only the changed and the new record
    assert run.stats["carried"]["dibao"] == {"from_snapshot": snap.pk, "records": 8, "links": 7, "relinked": 2}
    after = _links(snap2)
    assert after[4] == [(ids["wang"], "exact_id")] and after[10] == [(ids["li"], "exact_id")]
    assert {k: v for k, v in after.items() if k not in (4, 10)} == {k: v for k, v in before.items() if k != 4}

    # positive control: the whole snapshot linked again gives the same links
    linkage_run(actor="test", force=True)
    assert len(linked) == 3 and len(linked[2]) == 10
    assert _links(snap2) == after


def test_links_of_another_registry_state_are_not_carried(people, dibao, tmp_path, linked):  # noqa: F811
    from django.utils import timezone

    from fupin.registry.models import Person

    _snap, path = dibao
    linkage_run(actor="test")
    # the registry changes after the earlier snapshot was linked: its links say nothing about the new state
    Person.objects.filter(id_number=people["ids"]["wang"]).update(updated_at=timezone.now())
    _resend(tmp_path, "dibao_again.csv", _rows(path))
    run = linkage_run(actor="test")
    assert "carried" not in run.stats and len(linked) == 2 and len(linked[1]) == 9


def test_duplicate_records_are_carried_one_for_one(people, tmp_path, linked):
    from fupin.exchange.services import import_department

    ids = people["ids"]
    rows = [["1", "张伟", ids["zhang"], "", ""], ["2", "张伟", ids["zhang"], "", ""], ["3", "李娜", ids["li"], "", ""]]
    first = import_department(actor="test", source_code="dibao", path=write_csv(tmp_path / "a.csv", HEADER, rows))
    linkage_run(actor="test")
    # the resent file has the duplicate three times: two are carried, the third is linked
    rows2 = [*rows, ["4", "张伟", ids["zhang"], "", ""]]
    second = import_department(actor="test", source_code="dibao",
                               path=write_csv(tmp_path / "b.csv", HEADER, rows2))
    run = linkage_run(actor="test")
    assert run.stats["carried"]["dibao"]["records"] == 3 and len(linked[1]) == 1
    got = _links(second)
    assert got == {n: [(ids["zhang"] if n != 3 else ids["li"], "exact_id")] for n in (1, 2, 3, 4)}
    assert RecordLink.objects.filter(snapshot=first).count() == 3
    assert json.dumps(run.stats)  # the run's stats stay JSON
