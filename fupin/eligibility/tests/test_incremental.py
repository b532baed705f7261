"""The incremental rerun (issues 13 and 19): after one department reloads, only the rules that read it are evaluated,
only on the households whose linked records of it changed, and what did not change is not written. Each test checks
the database, and an incremental run is checked against a full run over the same data (the positive control)."""

import pytest

from fupin.eligibility import services
from fupin.eligibility.facts import Program
from fupin.eligibility.models import Assessment, Finding
from fupin.eligibility.services import compare_run
from fupin.exchange.services import import_department

from .conftest import write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluated(monkeypatch):
    """The codes of the rules whose hits the engine computed, run by run."""
    seen: list[set[str]] = []
    hit_sql = Program.hit_sql

    def watch(self, rule):
        seen[-1].add(rule.code)
        return hit_sql(self, rule)

    monkeypatch.setattr(Program, "hit_sql", watch)
    return seen


def _run(evaluated):
    evaluated.append(set())
    return compare_run(actor="test")


def _findings() -> dict[tuple, tuple]:
    return {(f.household_code, f.rule_code, f.person_id_number): (f.status, f.evidence_hash, f.version, f.updated_at)
            for f in Finding.objects.all()}


def _assessments() -> dict[int, tuple]:
    return {a.household_id: (a.score, a.rank, a.rank_of, a.parts, sorted(a.priorities))
            for a in Assessment.objects.all()}


def _reload(departments, source, rows, name):
    header, _rows = departments["files"][source]
    import_department(actor="test", source_code=source, path=write_csv(departments["tmp"] / name, header, rows))


def test_an_unchanged_reload_evaluates_nothing_and_writes_no_finding(people, departments, evaluated):
    first = _run(evaluated)
    assert first.stats["incremental"] is None and {"business", "payroll", "vehicle"} <= evaluated[0]
    before, scores = _findings(), _assessments()
    _reload(departments, "vehicle", departments["files"]["vehicle"][1], "vehicle_again.csv")
    run = _run(evaluated)
    assert run.stats["incremental"] == {"sources": ["vehicle"], "rules": run.stats["incremental"]["rules"],
                                        "households": 0}
    assert evaluated[1] == set()  # no household's vehicle records changed: no rule evaluated at all
    assert _findings() == before and _assessments() == scores
    assert run.stats["changes"] == {"new": 0, "reopened": 0, "kept_dismissed": 0, "updated": 0, "cleared": 0}


def test_a_changed_record_updates_and_closes_only_its_findings(people, departments, evaluated):
    _run(evaluated)
    before, scores = _findings(), _assessments()
    rows = departments["files"]["vehicle"][1]
    # 张伟's car is scrapped (his vehicle findings in P001 and P003 close); 李娜's cancelled car is back in use (a
    # new finding in P003); P002's 张伟 buys a motorbike: not a car (his finding stays as it was, unwritten) but his
    # household's score counts it
    changed = [[*r[:4], "报废", r[5]] if r[0] == 1 else [*r[:4], "正常", r[5]] if r[0] == 7 else r for r in rows]
    changed.append([12, "张伟", people["ids"]["zhang_twin"], "普通二轮摩托车", "正常", 6000])
    _reload(departments, "vehicle", changed, "vehicle_changed.csv")
    run = _run(evaluated)
    inc = run.stats["incremental"]
    assert inc["sources"] == ["vehicle"] and inc["households"] == 3  # P001, P002, P003; not P004
    # only the rules reading the vehicle records were evaluated (count_assets reads count_vehicle: the scores too)
    assert "vehicle" in inc["rules"] and "count_assets" in inc["rules"]
    assert evaluated[1] == {"vehicle"} | {c for c in evaluated[0] if c in inc["rules"]}
    assert not {"business", "payroll", "property", "deceased", "duplicate_member"} & evaluated[1]
    after = _findings()
    ids = people["ids"]
    assert after[("P001", "vehicle", ids["zhang"])][0] == "cleared"
    assert after[("P003", "vehicle", ids["zhang"])][0] == "cleared"
    assert after[("P003", "vehicle", ids["li"])][0] == "open"
    # bystanders: P002's vehicle finding (evaluated again, its evidence the same) and every other rule's finding
    untouched = {k: v for k, v in before.items() if k[1] != "vehicle" or k[0] == "P002"}
    assert ("P002", "vehicle", ids["zhang_twin"]) in untouched
    assert untouched and all(after[k] == v for k, v in untouched.items())
    assert run.stats["changes"]["new"] == 1 and run.stats["changes"]["cleared"] == 2
    assessed = _assessments()
    p2 = people["h2"].pk
    assert assessed[p2][3]["count_assets"] == scores[p2][3]["count_assets"] - 5

    # positive control: a full run over the same data (the program's version changed) finds nothing to change
    incremental_state = _findings(), assessed
    services.PROGRAM_VERSION += 1
    try:
        full = _run(evaluated)
    finally:
        services.PROGRAM_VERSION -= 1
    assert full.stats["incremental"] is None and {"business", "payroll"} <= evaluated[2]
    assert full.stats["changes"] == {"new": 0, "reopened": 0, "kept_dismissed": 0, "updated": 0, "cleared": 0}
    assert (_findings(), _assessments()) == incremental_state


def test_a_registry_change_makes_the_run_full(people, departments, evaluated):
    from django.utils import timezone

    from fupin.registry.models import Household

    _run(evaluated)
    assert ("P003", "income_above_line", "") not in _findings()
    Household.objects.filter(pk=people["h3"].pk).update(per_capita_net_income=99999, updated_at=timezone.now())
    run = _run(evaluated)
    assert run.stats["incremental"] is None and {"business", "payroll", "vehicle"} <= evaluated[1]
    assert _findings()[("P003", "income_above_line", "")][0] == "open"
