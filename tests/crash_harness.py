"""SIGKILL at random points (issue 12): a roster import, a department import, a comparison and the nightly run.

Run by tests/test_crash.py in its own process against its own database (a SQLite file, or a PostgreSQL database
named after FUPIN_TEST_DB_SUFFIX), because a killed process must leave its work in a real database for the next one to
find. After migrate and a small county, each operation is first run uninterrupted (a forked child) to learn how long it
takes and what state it leaves; then, POINTS times, a forked child starts it and is killed with SIGKILL after a random
delay (fixed seed) within that time (shortened by 30 % after each kill that came when the child had already finished:
a machine whose load drops runs it faster than when it was timed). After every kill the harness checks:

- the state is the one before or the one after the operation, never in between (no partial batch or snapshot,
  nothing duplicated, no batch left "running");
and after all the kills, running the operations again uninterrupted gives exactly the states of the reference run.

Prints one JSON line: {"scenario": {"points": n, "killed_mid_run": k, "seconds": s}, ...}; exits 1 with the reason
on the first broken invariant.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _database(tmp: Path) -> str:
    url = os.environ.get("CRASH_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        name = f"crash_fupin_{os.environ.get('FUPIN_TEST_DB_SUFFIX', 'main')}"
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return url.rsplit("/", 1)[0] + "/" + name
    return f"sqlite:///{tmp / 'crash.sqlite3'}"


def _drop(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def digest(rows) -> str:
    lines = sorted(json.dumps(list(r), ensure_ascii=False, default=str) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


class Broken(Exception):
    pass


def main() -> None:
    points = int(os.environ.get("CRASH_POINTS", "20"))
    rng = random.Random(int(os.environ.get("CRASH_SEED", "12")))
    tmp = Path(tempfile.mkdtemp(prefix="fupin-crash-"))
    url = _database(tmp)
    os.environ.update({"DATABASE_URL": url, "FUPIN_DATA_DIR": str(tmp / "data"),
                       "DJANGO_SETTINGS_MODULE": "config.test_settings"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        report = run(points, rng, tmp, connections)
        print(json.dumps(report, ensure_ascii=False))
    except Broken as exc:
        print(json.dumps({"broken": str(exc)}, ensure_ascii=False))
        sys.exit(1)
    finally:
        connections.close_all()
        _drop(url)


def run(points: int, rng: random.Random, tmp: Path, connections) -> dict:
    from fupin.assistance.models import HouseholdLight
    from fupin.core.models import Batch
    from fupin.core.nightly import run_refreshers
    from fupin.core.testing import make_county_tree
    from fupin.eligibility.models import ComparisonRun, Finding
    from fupin.eligibility.services import compare_run
    from fupin.exchange.models import Snapshot, StagedRecord
    from fupin.exchange.services import import_department, sources_ensure_defaults
    from fupin.quality.models import Problem
    from fupin.registry.importer import import_roster
    from fupin.registry.models import Household, Person
    from fupin.registry.testdata import roster_rows, write_csv

    county = make_county_tree()
    sources_ensure_defaults()
    places = [(v.parent.name, v.name, v.code) for v in (county["va1"], county["va2"], county["vb1"])]
    first = roster_rows(places, households=60, seed=3)
    second = [dict(r, **{"人均纯收入": "9999.00", "组": "9组"}) if i % 3 == 0 else r for i, r in enumerate(first)]
    roster_a, roster_b = write_csv(tmp / "a.csv", first), write_csv(tmp / "b.csv", second)
    people = [(r["姓名"], r["证件号码"]) for r in first]
    dept = []
    for n, rows in enumerate((people[::2], people[1::3])):
        path = tmp / f"civil{n}.csv"
        path.write_text("姓名,身份证号,状态\n" + "".join(f"{a},{b},{'正常' if i % 2 else '注销'}\n"
                                                      for i, (a, b) in enumerate(rows)), encoding="utf-8")
        dept.append(path)

    def registry_state():
        hh = list(Household.objects.values_list("poor_code", "head_name", "size", "group_name"))
        persons = list(Person.objects.values_list("household__poor_code", "id_number", "name"))
        if len({p[1] for p in persons}) != len(persons):
            raise Broken("a person was duplicated")
        if Batch.objects.filter(status=Batch.Status.RUNNING).exists():
            raise Broken("a batch was left running")
        return digest(hh + persons)

    source = _source_with_name_and_id()

    def department_state():
        snaps = list(Snapshot.objects.filter(source__code=source).values_list("id", "row_count", "is_current"))
        for sid, count, _current in snaps:
            if StagedRecord.objects.filter(snapshot_id=sid).count() != count:
                raise Broken(f"snapshot {sid} is partial")
        current = [s for s in snaps if s[2]]
        if len(current) > 1:
            raise Broken("two current snapshots")
        if not current:
            return "none"
        return digest(list(StagedRecord.objects.filter(snapshot_id=current[0][0])
                           .values_list("row_number", "id_clean", "name")))

    def findings_state():
        runs = list(ComparisonRun.objects.values_list("id", "stats"))
        if any(not stats for _, stats in runs):
            raise Broken("a comparison run without its results is visible")
        return digest(list(Finding.objects.values_list("key", "status")))

    def nightly_state():
        return digest(list(Problem.objects.values_list("key", "status"))
                      + list(HouseholdLight.objects.values_list("household_id", "colour")))

    def in_child(fn):
        connections.close_all()
        pid = os.fork()
        if pid == 0:  # the child: do the work, leave without cleanup (as a killed process would)
            code = 0
            try:
                fn()
            except BaseException:
                code = 3
            os._exit(code)
        return pid

    def uninterrupted(fn) -> float:
        t0 = time.perf_counter()
        pid = in_child(fn)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise Broken(f"an uninterrupted run failed: {fn}")
        return time.perf_counter() - t0

    def scenario(name, operations, state):
        """operations: list of callables applied in turn; each kill lands in one of them."""
        t0 = time.perf_counter()
        expected = []
        spans = []
        for op in operations:  # the reference: each operation run uninterrupted from the previous state, twice
            uninterrupted(op)  # (the first run may do one-time work; the second one's time spaces the kills)
            expected.append(state())
            spans.append(uninterrupted(op))
            if state() != expected[-1]:
                raise Broken(f"{name}: running the operation twice does not give the same state")
        killed = 0
        for i in range(points):
            k = i % len(operations)
            before = state()
            pid = in_child(operations[k])
            time.sleep(rng.uniform(0, spans[k] * 1.1))
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
            _, status = os.waitpid(pid, 0)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
                raise Broken(f"{name}: the operation failed by itself at point {i}")
            if os.WIFEXITED(status):
                killed -= 1  # it had finished before the signal: the machine runs it faster now than when it was
                spans[k] *= 0.7  # timed (its load moved), so the next kills of this operation come sooner
            after = state()
            if after not in (before, expected[k]):
                raise Broken(f"{name}: point {i}: state {after} is neither before ({before}) nor after "
                             f"({expected[k]})")
        for k, op in enumerate(operations):  # after all the kills, a rerun gives what an uninterrupted run gave
            uninterrupted(op)
            if state() != expected[k]:
                raise Broken(f"{name}: the rerun after the kills differs from the uninterrupted run")
        return {"points": points, "killed_mid_run": killed, "seconds": round(time.perf_counter() - t0, 1)}

    report = {}
    report["roster_import"] = scenario(
        "roster import", [lambda: import_roster(actor="crash", path=roster_a),
                          lambda: import_roster(actor="crash", path=roster_b)], registry_state)
    report["department_import"] = scenario(
        "department import", [lambda: import_department(actor="crash", source_code=source, path=dept[0]),
                              lambda: import_department(actor="crash", source_code=source, path=dept[1])],
        department_state)
    report["comparison"] = scenario("comparison", [lambda: compare_run(actor="crash")], findings_state)
    report["nightly"] = scenario("nightly", [lambda: run_refreshers(nightly=True)], nightly_state)
    return report


def _source_with_name_and_id() -> str:
    """A department source whose required columns are a name and an ID number (the shipped civil-affairs source)."""
    from fupin.exchange.models import Source

    for s in Source.objects.filter(is_active=True).order_by("code"):
        roles = {f.get("role") for f in s.fields}
        required = [f for f in s.fields if f.get("required")]
        if {"name", "id"} <= roles and len(required) <= 2:
            return s.code
    return Source.objects.filter(is_active=True).order_by("code").first().code


if __name__ == "__main__":
    main()
