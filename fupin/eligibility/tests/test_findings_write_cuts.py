"""Cuts of the comparison's findings transaction that must leave its results as they were (hrules): the findings,
assessments, inbox tasks and audit events written without SQLite's per-row foreign-key lookups (their references
checked at once before the commit), and the findings' digests written without json.dumps."""

import contextlib
import hashlib
import json
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from django.db import IntegrityError, connection, transaction

from fupin.core.bulk import foreign_keys_enforced
from fupin.core.testing import table_indexes
from fupin.eligibility import services
from fupin.eligibility.models import Assessment, ComparisonRun, Finding
from fupin.eligibility.services import compare_run

from .conftest import EXPECTED
from .test_findings import _got


def _written():
    findings = sorted(Finding.objects.values_list("key", "household_id", "person_id", "rule_code", "evidence_hash",
                                                  "status"))
    assessments = sorted((h, s, r, n, json.dumps(p, sort_keys=True), json.dumps(q))
                         for h, s, r, n, p, q in Assessment.objects.values_list(
                             "household_id", "score", "rank", "rank_of", "parts", "priorities"))
    return findings, assessments


@pytest.mark.django_db(transaction=True)
def test_findings_written_without_per_row_lookups_are_the_same_and_their_references_checked(
        people, departments, monkeypatch):
    seen = []
    check = services._check_written
    monkeypatch.setattr(services, "_check_written", lambda run, after: (seen.append(run.pk), check(run, after)))
    run = compare_run(actor="test")  # its transaction opened outside any other: SQLite's lookups off, then checked
    assert seen == ([run.pk] if connection.vendor == "sqlite" else [])
    assert foreign_keys_enforced(Finding)  # and back on after
    assert _got(people["ids"]) == EXPECTED
    written = _written()
    assert written[0] and written[1]
    # the same comparison inside an outer transaction (SQLite then checks row by row, as before) writes the same
    Finding.objects.all().delete()
    Assessment.objects.all().delete()
    ComparisonRun.objects.all().delete()
    seen.clear()
    with transaction.atomic():
        assert foreign_keys_enforced(Finding)
        compare_run(actor="test")
    assert seen == []
    assert _written() == written
    # an assessment of a household that does not exist is refused, and nothing of the transaction stays
    Finding.objects.all().delete()
    Assessment.objects.all().delete()
    ComparisonRun.objects.all().delete()
    compute = services._compare_compute

    def bad_assessment(*a, **kw):
        plan = compute(*a, **kw)
        table = plan["assessments"]
        first = pc.equal(pa.array(range(table.num_rows)), 0)
        plan["assessments"] = table.set_column(0, "household_id", pc.if_else(
            first, pa.scalar(10**9, pa.int64()), table.column("household_id")))
        return plan

    monkeypatch.setattr(services, "_compare_compute", bad_assessment)
    with pytest.raises(IntegrityError):
        compare_run(actor="test")
    assert not Finding.objects.exists() and not Assessment.objects.exists()
    assert not ComparisonRun.objects.exists()
    assert foreign_keys_enforced(Finding)


def test_findings_digests_are_written_as_json_dumps_writes_them():
    chars = 'ab"\\\n\t\x00\x1f/é王伟\u2028\U0001F600 0'
    rng = random.Random(7)

    def text():
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))

    for _ in range(5000):
        items = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.random()
            items.append(rng.randint(-10**12, 10**12) if kind < .3 else text() if kind < .7
                         else [text() for _ in range(rng.randint(0, 3))])
        assert services._flat_json(items) == json.dumps(items, ensure_ascii=False, sort_keys=True, default=str)
    # anything else is left to json.dumps, with the same digest as ever
    for other in ([1, True], [1.5], [None], [{"a": 1}], [[1, 2]]):
        assert services._flat_json(other) is None
        assert services._digest(other) == hashlib.sha256(
            json.dumps(other, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    assert services._digest([3, "vehicle", "p7"]) == hashlib.sha256(b'[3, "vehicle", "p7"]').hexdigest()


@pytest.mark.django_db(transaction=True)
def test_findings_and_assessments_loaded_with_their_indexes_set_aside_are_the_same(people, departments, monkeypatch):
    """A first comparison loads the findings and the assessments into empty tables: on SQLite with their non-unique
    indexes dropped and created again afterwards (at 10x the indexes kept up row by row grew faster than the rows).
    Made to happen here at a few rows: the same findings, assessments and indexes as without, not on PostgreSQL."""
    from fupin.core import bulk

    tables = [Finding._meta.db_table, Assessment._meta.db_table]
    indexes = {t: table_indexes(t) for t in tables}
    compare_run(actor="test")
    written = _written()
    assert written[0] and written[1]
    Finding.objects.all().delete()
    Assessment.objects.all().delete()
    ComparisonRun.objects.all().delete()
    aside, real = [], bulk._indexes_set_aside

    @contextlib.contextmanager
    def spy(conn, cur, table, incoming):
        with real(conn, cur, table, incoming):
            if table in tables and incoming:  # while the rows go in: fewer indexes than the table has
                aside.append((table, len(table_indexes(table)) < len(indexes[table])))
            yield

    monkeypatch.setattr(bulk, "REBUILD_MIN", 1)
    monkeypatch.setattr(bulk, "_indexes_set_aside", spy)
    compare_run(actor="test")
    assert _written() == written
    assert sorted(aside) == ([(t, True) for t in sorted(tables)] if connection.vendor == "sqlite" else [])
    assert {t: table_indexes(t) for t in tables} == indexes
    assert _got(people["ids"]) == EXPECTED


@pytest.mark.django_db(transaction=True)
def test_findings_planned_and_written_under_a_larger_page_cache_are_the_same(people, departments, monkeypatch):
    def cache_size():
        with connection.cursor() as cur:
            cur.execute("PRAGMA cache_size")
            return cur.fetchone()[0]

    sqlite = connection.vendor == "sqlite"
    default = cache_size() if sqlite else None
    seen = {}
    for name in ("_reconcile_plan", "_reconcile_apply", "_write_assessments"):
        step = getattr(services, name)
        monkeypatch.setattr(services, name, lambda *a, _step=step, _name=name, **kw: (
            seen.__setitem__(_name, cache_size() if sqlite else None), _step(*a, **kw))[1])
    compare_run(actor="test")
    wanted = -services.WRITE_PAGE_CACHE_MB * 1024 if sqlite else None
    assert seen == {"_reconcile_plan": wanted, "_reconcile_apply": wanted, "_write_assessments": wanted}
    if sqlite:
        assert cache_size() == default  # set back after the run
    assert _got(people["ids"]) == EXPECTED
    written = _written()
    assert written[0] and written[1]
    # the same comparison under SQLite's own page cache writes the same
    monkeypatch.setattr(services, "WRITE_PAGE_CACHE_MB", 2)
    Finding.objects.all().delete()
    Assessment.objects.all().delete()
    ComparisonRun.objects.all().delete()
    compare_run(actor="test")
    assert _written() == written
