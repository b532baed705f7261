"""A department resends its file (issues 13 and 19): links of records whose content is unchanged are carried over,
not linked again; the findings are those a full run gives. Links and findings are written in two transactions: a
crash between them is repaired by the next run. Each test ends with the positive control: a full run (every
snapshot linked again, every rule evaluated on every household) changes nothing."""

import pytest

from fupin.eligibility import services
from fupin.eligibility.models import Assessment, Finding
from fupin.eligibility.services import compare_run
from fupin.exchange.models import RecordLink, Snapshot, StagedRecord
from fupin.exchange.public import linkage_run
from fupin.exchange.testing import watch_engine_links

from .test_incremental import _assessments, _findings, _reload

pytestmark = pytest.mark.django_db

CHANGES_NONE = {"new": 0, "reopened": 0, "kept_dismissed": 0, "updated": 0, "cleared": 0}


@pytest.fixture
def linked(monkeypatch):
    """The records the engine was asked to link, call by call."""
    return watch_engine_links(monkeypatch)


def _persons_linked(source: str) -> list[tuple]:
    snap = Snapshot.objects.get(source__code=source, is_current=True)
    return sorted(RecordLink.objects.filter(snapshot=snap).values_list("record__row_number", "person_id", "method"))


def _full_run_changes_nothing(monkeypatch) -> None:
    """The positive control: every snapshot linked again and every rule evaluated on every household."""
    state = _findings(), _assessments()
    linkage_run(actor="test", force=True)
    monkeypatch.setattr(services, "PROGRAM_VERSION", services.PROGRAM_VERSION + 1)
    full = compare_run(actor="test")
    assert full.stats["incremental"] is None and full.stats["changes"] == CHANGES_NONE
    assert (_findings(), _assessments()) == state


def test_a_resent_file_carries_its_links_and_reads_nothing_more(people, departments, linked, monkeypatch):
    compare_run(actor="test")
    assert len(linked) == 1
    links, before, scores = _persons_linked("vehicle"), _findings(), _assessments()
    assert len(links) == 12  # 张伟 (序号 1) is listed in two households: his record links to both
    loaded = []
    load_tables = services._load_tables
    monkeypatch.setattr(services, "_load_tables", lambda *a, **kw: loaded.append(1) or load_tables(*a, **kw))

    _reload(departments, "vehicle", departments["files"]["vehicle"][1], "vehicle_again.csv")
    run = compare_run(actor="test")
    assert len(linked) == 1  # nothing linked again
    assert run.stats["link"]["carried"] == {"vehicle": {
        "from_snapshot": run.stats["link"]["carried"]["vehicle"]["from_snapshot"], "records": 11, "links": 12,
        "relinked": 0}}
    assert _persons_linked("vehicle") == links  # the same persons, rows and methods, on the new snapshot's records
    assert run.stats["incremental"]["households"] == 0 and not loaded  # no registry table or links read
    assert run.stats["changes"] == CHANGES_NONE and _findings() == before and _assessments() == scores
    seconds = run.stats["seconds"]
    assert {"write_links", "write_findings", "write_lock"} <= set(seconds)
    assert seconds["write_lock"] >= seconds["write_links"] + seconds["write_findings"] - 0.002

    _full_run_changes_nothing(monkeypatch)
    assert _persons_linked("vehicle") == links
    assert loaded  # positive control of the watch: the full run read the tables


def test_a_changed_record_is_linked_again_and_its_findings_follow(people, departments, linked, monkeypatch):
    compare_run(actor="test")
    links = _persons_linked("vehicle")
    ids = people["ids"]
    rows = departments["files"]["vehicle"][1]
    # 王明's car (序号 10; his household has left poverty, no finding) now belongs to 李娜 (P003): one record changed
    changed = [[10, "李娜", ids["li"], *r[3:]] if r[0] == 10 else r for r in rows]
    _reload(departments, "vehicle", changed, "vehicle_changed.csv")
    run = compare_run(actor="test")
    assert len(linked) == 2
    assert [StagedRecord.objects.get(pk=pk).raw["序号"] for pk in linked[1]] == ["10"]
    assert run.stats["link"]["carried"]["vehicle"]["relinked"] == 1
    now = _persons_linked("vehicle")
    li = RecordLink.objects.filter(person__id_number=ids["li"], snapshot__is_current=True,
                                   snapshot__source__code="vehicle").count()
    assert len(now) == 12 and li == 4  # 序号 7, 8, 9 and now 10
    assert [x for x in now if x[0] != 11] == [x for x in links if x[0] != 11]  # 序号 10 is on line 11
    assert run.stats["incremental"]["households"] >= 1
    assert _findings()[("P003", "vehicle", ids["li"])][0] == "open"  # a car in use of 80,000

    _full_run_changes_nothing(monkeypatch)


def test_a_crash_between_the_links_and_the_findings_is_repaired(people, departments, linked, monkeypatch):
    compare_run(actor="test")
    before, runs = _findings(), services.ComparisonRun.objects.count()
    ids = people["ids"]
    rows = departments["files"]["vehicle"][1]
    changed = [[10, "李娜", ids["li"], *r[3:]] if r[0] == 10 else r for r in rows]
    _reload(departments, "vehicle", changed, "vehicle_changed.csv")
    apply = services._reconcile_apply

    def crash(*a, **kw):
        raise RuntimeError("killed between the two transactions")

    monkeypatch.setattr(services, "_reconcile_apply", crash)
    with pytest.raises(RuntimeError):
        compare_run(actor="test")
    # the links are written, the findings are as they were, no run recorded
    assert Snapshot.objects.get(source__code="vehicle", is_current=True).link_fingerprint
    assert len(_persons_linked("vehicle")) == 12
    assert _findings() == before and services.ComparisonRun.objects.count() == runs

    monkeypatch.setattr(services, "_reconcile_apply", apply)
    run = compare_run(actor="test")
    assert run.stats["link"] is None and len(linked) == 2  # nothing left to link
    assert run.stats["incremental"]["sources"] == ["vehicle"] and run.stats["incremental"]["households"] >= 1
    assert _findings()[("P003", "vehicle", ids["li"])][0] == "open"
    assert Assessment.objects.exists() and Finding.objects.exists()

    _full_run_changes_nothing(monkeypatch)
