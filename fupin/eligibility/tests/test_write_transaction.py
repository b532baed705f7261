"""The comparison computes before it writes (issue 12): the linkage, the rules and the findings' changes are worked
out outside any transaction, and the write transaction — on SQLite the one write lock — only writes the prepared
rows. Inputs that change between the two (here a decision taken on a finding) are computed again inside."""

import threading

import pytest
from django.db import connection
from django.db.models import F

from fupin.eligibility import services
from fupin.eligibility.models import Finding
from fupin.eligibility.services import compare_run, finding_dismiss
from fupin.exchange.engine import DuckDBEngine
from fupin.exchange.services import import_department

from .conftest import EXPECTED, write_csv
from .test_findings import _got

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watched(monkeypatch):
    """(engine step, inside a transaction?) for every linkage and rule evaluation of the engine."""
    seen: list[tuple[str, bool]] = []
    link, evaluate = DuckDBEngine.link, DuckDBEngine.evaluate

    def watch_link(self, **kw):
        seen.append(("link", connection.in_atomic_block))
        return link(self, **kw)

    def watch_evaluate(self, **kw):
        seen.append(("evaluate", connection.in_atomic_block))
        return evaluate(self, **kw)

    monkeypatch.setattr(DuckDBEngine, "link", watch_link)
    monkeypatch.setattr(DuckDBEngine, "evaluate", watch_evaluate)
    return seen


def test_linkage_and_rules_are_computed_outside_the_write_transaction(people, departments, watched):
    run = compare_run(actor="test")
    assert {step for step, _ in watched} == {"link", "evaluate"}
    assert not any(inside for _, inside in watched)
    assert not run.stats["recomputed_in_transaction"]
    assert _got(people["ids"]) == EXPECTED
    assert run.stats["seconds"]["write"] <= run.stats["seconds"]["total"]


def test_a_decision_taken_meanwhile_is_respected_by_computing_again_inside(
    people, departments, watched, monkeypatch
):
    compare_run(actor="test")
    open_before = set(Finding.objects.filter(status=Finding.Status.OPEN).values_list("key", flat=True))
    target = Finding.objects.filter(status=Finding.Status.OPEN).order_by("pk").first()
    # the vehicle extract reloads with a motorbike more (no finding): the rerun links and evaluates something
    # (an incremental rerun with nothing changed would compute nothing for the watch to see)
    header, rows = departments["files"]["vehicle"]
    rows = [*rows, [12, "张伟", people["ids"]["zhang_twin"], "普通二轮摩托车", "正常", 6000]]
    import_department(actor="test", source_code="vehicle",
                      path=write_csv(departments["tmp"] / "vehicle_more.csv", header, rows))
    compute = services._compare_compute
    calls = []

    def compute_then_someone_decides(*args, **kw):
        out = compute(*args, **kw)
        calls.append(1)
        if len(calls) == 1:  # between computing and writing, a grid worker dismisses a finding
            finding_dismiss(actor="test", finding=target, reason="入户核实:情况不符")
        return out

    monkeypatch.setattr(services, "_compare_compute", compute_then_someone_decides)
    watched.clear()
    run = compare_run(actor="test")
    assert run.stats["recomputed_in_transaction"] and len(calls) == 2
    # positive control of the watch: the second computation ran inside the transaction, and was seen there
    assert any(inside for _, inside in watched) and not all(inside for _, inside in watched)
    target.refresh_from_db()
    assert target.status == Finding.Status.DISMISSED  # not reopened by a plan made before the decision
    assert set(Finding.objects.filter(status=Finding.Status.OPEN).values_list("key", flat=True)) == (
        open_before - {target.key}
    )


def test_links_written_beside_the_rules_are_checked_current_first(people, departments, monkeypatch):
    """The links' transaction runs beside the rules where it can (a database other connections see: PostgreSQL, a
    SQLite file in WAL mode; not the tests' in-memory SQLite): it writes nothing when the linkage's inputs changed
    since it was computed, and the run then computes again inside its own links' transaction."""
    from fupin.exchange import public
    from fupin.exchange.models import RecordLink

    beside = services._LinksAlongside.possible()
    assert beside == (connection.vendor == "postgresql")
    monkeypatch.setattr(services._LinksAlongside, "MIN_LINKS", 1)  # the test county's few links too
    current = public.linkage_current
    first = []

    def stale_first_plan(plan):  # the first plan computed is out of date by the time it would be written
        first[:] = first or [plan]
        return plan is not first[0] and current(plan)

    monkeypatch.setattr(public, "linkage_current", stale_first_plan)
    run = compare_run(actor="test")
    assert run.stats["recomputed_in_transaction"]
    assert not run.stats["seconds"]["links_alongside"]
    assert _got(people["ids"]) == EXPECTED
    links = sorted(RecordLink.objects.values_list("record_id", "person_id", "method"))
    monkeypatch.setattr(public, "linkage_current", current)
    # relinked from scratch (the registry changed), then written beside the rules where it can: the same links
    from fupin.registry.models import Person

    Person.objects.filter(pk=Person.objects.order_by("pk").first().pk).update(version=F("version") + 1)
    reported = []  # (percent, was the links' thread running?): a job's progress is a write, held until it ends

    def progress(percent, message=""):
        reported.append((percent, any(t.name == "compare-links-write" for t in threading.enumerate())))

    run = compare_run(actor="test", progress=progress)
    assert [p for p, _ in reported] == sorted(p for p, _ in reported) and reported[-1][0] == 100
    assert not any(running for _, running in reported)
    assert run.stats["seconds"]["links_alongside"] == beside
    assert not run.stats["recomputed_in_transaction"]
    assert sorted(RecordLink.objects.values_list("record_id", "person_id", "method")) == links
    assert _got(people["ids"]) == EXPECTED


def test_a_large_run_writes_its_links_before_the_rules_and_lets_their_plan_go(people, departments, monkeypatch,
                                                                                settings):
    """From FUPIN_LINKS_FIRST_FROM links (a large county) the links' transaction runs before the rules, in the run's
    own thread, on either database: the links are committed when the rules begin, and the plan the run keeps holds
    neither their explanations nor, once the rules have their links, the links. The same links and findings as a
    run that writes them after the rules."""
    from fupin.exchange.models import RecordLink
    from fupin.registry.models import Person

    def written():
        return sorted(RecordLink.objects.values_list("record_id", "person_id", "method", "score", "explanation"))

    run = compare_run(actor="test")  # the test county's few links: written after the rules
    assert not run.stats["seconds"]["links_first"]
    links = written()
    assert links and _got(people["ids"]) == EXPECTED
    settings.FUPIN_LINKS_FIRST_FROM = 1
    Person.objects.filter(pk=Person.objects.order_by("pk").first().pk).update(version=F("version") + 1)  # relink
    plans, seen = [], []
    start, evaluate = services._LinksAlongside.start, services._evaluate

    def start_kept(self, plan):
        plans.append(plan)
        return start(self, plan)

    def evaluate_watched(*args, **kw):
        plan = plans[-1]
        seen.append((RecordLink.objects.count(), plan.links.num_rows, "explanation" in plan.links.column_names,
                     plan.reviews.num_rows))
        return evaluate(*args, **kw)

    monkeypatch.setattr(services._LinksAlongside, "start", start_kept)
    monkeypatch.setattr(services, "_evaluate", evaluate_watched)
    run = compare_run(actor="test")
    assert run.stats["seconds"]["links_first"] and not run.stats["seconds"]["links_alongside"]
    assert not run.stats["recomputed_in_transaction"]
    assert seen == [(len(links), 0, False, 0)]
    assert written() == links
    assert _got(people["ids"]) == EXPECTED


def test_the_1x_countys_links_beside_the_rules_and_the_10x_countys_first_by_default(settings):
    """The default FUPIN_LINKS_FIRST_FROM writes the 1x county's links (235,690) beside the rules and the 10x
    county's (2,349,343: beside the rules they saved little wall for more CPU on 2 cores, docs/performance.md) first,
    and a plan of at least the threshold first; 0: never first."""
    from config import settings as defaults

    assert settings.FUPIN_LINKS_FIRST_FROM == defaults.FUPIN_LINKS_FIRST_FROM
    assert not services._LinksAlongside.writes_first(235_690)  # 1x
    assert services._LinksAlongside.writes_first(2_349_343)  # 10x
    assert services._LinksAlongside.writes_first(settings.FUPIN_LINKS_FIRST_FROM)
    settings.FUPIN_LINKS_FIRST_FROM = 0
    assert not services._LinksAlongside.writes_first(10**9)
