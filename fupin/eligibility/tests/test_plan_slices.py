"""The findings planned in slices give the findings planned whole (issue 19: a run that stays small as the county
grows), and the rules' inputs let go during the evaluation leave its results as they were."""

import weakref

import pyarrow as pa
import pytest

from fupin.eligibility import services
from fupin.eligibility.models import Finding
from fupin.eligibility.services import _plan_slices, compare_run
from fupin.exchange.engine import DuckDBEngine, Load, Release
from fupin.exchange.services import import_department
from fupin.registry.models import Person

from .conftest import EXPECTED, write_csv
from .test_findings import _got

pytestmark = pytest.mark.django_db


def test_slices_end_only_where_the_household_changes():
    ids = pa.array([1, 1, 2, 2, 2, 3, 7, 7], pa.int64())
    assert _plan_slices(ids, 1) == [(0, 2), (2, 3), (5, 1), (6, 2)]
    assert _plan_slices(ids, 3) == [(0, 5), (5, 3)]
    assert _plan_slices(ids, 100) == [(0, 8)]
    assert _plan_slices(pa.array([], pa.int64()), 5) == []


def _plan_rows(plan: dict) -> dict:
    """What a plan decides, in the order it will be written (the order gives the new findings their ids)."""
    def row(f):
        return (f.key, f.household_id, f.person_id, f.person_id_number, f.rule_code, f.source_code, f.evidence,
                f.evidence_hash, f.area_code, f.status, f.version)

    return {"changes": plan["changes"], "new": [row(f) for f in plan["new"]],
            "changed": [row(f) for f in plan["changed"]], "reopened": [row(f) for f in plan["reopened"]],
            "cleared": sorted(f.key for f in plan["cleared"])}


def _zhang(people) -> int:
    return Person.objects.get(household=people["h1"], relationship="户主").pk


@pytest.fixture
def two_cars(people, departments):
    """张伟 owns two cars: his vehicle finding cites two records (two hit rows of one finding), in his household
    P001 and in P003 (李娜's, where he is listed too)."""
    header, rows = departments["files"]["vehicle"]
    rows = [*rows, [12, "张伟", people["ids"]["zhang"], "小型普通客车", "正常", 60000]]
    import_department(actor="test", source_code="vehicle",
                      path=write_csv(departments["tmp"] / "vehicle_two_cars.csv", header, rows))


def test_findings_planned_in_slices_are_those_planned_whole(people, departments, two_cars, monkeypatch):
    seen = {}
    plan = services._reconcile_plan

    def keep(rules, result, **kw):
        seen.update(rules=rules, result=result, kw=kw)
        return plan(rules, result, **kw)

    monkeypatch.setattr(services, "_reconcile_plan", keep)
    compare_run(actor="test")
    assert _got(people["ids"]) == EXPECTED
    rules, result = seen["rules"], seen["result"]
    hits = result["hits"]
    # the data has what a slice boundary could break: a household with several findings, and one finding with two
    # hit rows (张伟's two cars)
    per_household = pa.TableGroupBy(hits, "household_id").aggregate([("rule_code", "count")])
    assert max(per_household.column("rule_code_count").to_pylist()) >= 3
    cars = [r for r in hits.to_pylist() if r["rule_code"] == "vehicle" and r["person_id"] == _zhang(people)]
    assert len(cars) == 2
    # the first run's findings are written: planning again compares with them (nothing new, nothing changed)
    whole = _plan_rows(plan(rules, result, slice_size=10**9))
    assert whole["changes"] == {"new": 0, "reopened": 0, "kept_dismissed": 0, "updated": 0, "cleared": 0}
    for size in (1, 2, 3):
        assert len(_plan_slices(hits.column("household_id"), size)) > 1
        assert _plan_rows(plan(rules, result, slice_size=size)) == whole
    # and from nothing stored: every finding new, in the same order, with the same evidence
    Finding.objects.all().delete()
    whole = _plan_rows(plan(rules, result, slice_size=10**9))
    assert whole["changes"]["new"] == len(EXPECTED) and len(whole["new"]) == len(EXPECTED)
    vehicle = [r for r in whole["new"] if r[4] == "vehicle" and r[1] == people["h1"].pk]
    assert len(vehicle[0][6]["records"]) == 2  # both cars cited
    for size in (1, 2, 3):
        assert _plan_rows(plan(rules, result, slice_size=size)) == whole


def test_a_slice_cutting_a_household_would_be_seen(people, departments, two_cars, monkeypatch):
    """Positive control: slices cut between a finding's two hit rows (what `_plan_slices` never does) plan another
    result, which the comparison above would catch."""
    seen = {}
    plan = services._reconcile_plan
    monkeypatch.setattr(services, "_reconcile_plan",
                        lambda rules, result, **kw: seen.update(rules=rules, result=result) or plan(rules, result, **kw))
    compare_run(actor="test")
    Finding.objects.all().delete()
    rules, result = seen["rules"], seen["result"]
    whole = _plan_rows(plan(rules, result, slice_size=10**9))
    hits = result["hits"]
    rows = hits.to_pylist()
    zhang = _zhang(people)
    cut = next(i for i, r in enumerate(rows) if r["rule_code"] == "vehicle" and r["person_id"] == zhang) + 1
    monkeypatch.setattr(services, "_plan_slices", lambda ids, size: [(0, cut), (cut, len(rows) - cut)])
    broken = _plan_rows(plan(rules, result, slice_size=1))
    assert broken != whole
    keys = [r[0] for r in broken["new"]]
    assert len(keys) > len(set(keys))  # the two-car finding planned twice, each citing one car


def test_the_rules_inputs_are_read_one_after_another_and_let_go(people, departments, monkeypatch):
    """Each input the engine reads by a `Load` step (the households, the persons — a row group at a time —, the
    records of each source without a mapped field) is in memory only until its release: when one is read, none read
    before it is alive any more; and nothing the rules were given or read is left once the evaluation is over."""
    handed, reads, alive, kinds = [], [], {}, {}
    evaluate = DuckDBEngine.evaluate

    def watched(step: Load) -> Load:
        def read():
            got = step.read()
            reads.append((set(got), {n for n, ref in alive.items() if ref() is not None}))
            kinds.update({n: type(t) for n, t in got.items()})
            alive.update({n: weakref.ref(t) for n, t in got.items()})
            return got

        return Load(read)

    def watch(self, *, tables, setup, queries):
        names = set(tables)
        setup = [watched(s) if isinstance(s, Load) else s for s in setup]
        out = evaluate(self, tables=tables, setup=setup, queries=queries)
        handed.append((names, set(tables), {n for s in setup if isinstance(s, Release) for n in s.names}))
        return out

    monkeypatch.setattr(DuckDBEngine, "evaluate", watch)
    compare_run(actor="test")
    assert _got(people["ids"]) == EXPECTED
    read_names = [n for got, _ in reads for n in got]
    assert read_names[:2] == ["hh_all", "persons_all"]
    assert kinds["persons_all"] is pa.RecordBatchReader  # scanned a row group at a time, never one whole table
    assert {n for n in read_names if n.startswith("raw_")}  # some sources' records read one at a time
    # each read after the ones before it were let go (the message: what each read found still alive)
    assert all(live == set() for _, live in reads), [(sorted(got), sorted(live)) for got, live in reads]
    before, after, released = next(h for h in handed if "links_all" in h[0])
    assert {"links_all", "vmap"} <= before and "persons_all" not in before
    assert after == set()  # every input the rules were given, let go by the engine
    assert before | set(read_names) <= released
    assert all(ref() is None for ref in alive.values()), sorted(n for n, ref in alive.items() if ref() is not None)


def test_a_loaded_input_is_read_at_its_step_and_a_released_table_is_gone():
    tables = {"a": pa.table({"x": [1, 2, 3]}), "b": pa.table({"y": [4]})}
    reads = []

    def read_c():
        reads.append("c")
        return {"c": pa.table({"z": [5, 6]})}

    out = DuckDBEngine().evaluate(tables=tables, setup=["CREATE TABLE a2 AS SELECT x * 2 AS x FROM a",
                                                        Release(("a",)), Load(read_c),
                                                        "CREATE TABLE c2 AS SELECT sum(z) AS s FROM c",
                                                        Release(("c",))],
                                  queries={"a2": "SELECT sum(x) AS s FROM a2", "b": "SELECT y FROM b",
                                           "c2": "SELECT s FROM c2"})
    assert out["a2"].column("s").to_pylist() == [12] and out["b"].column("y").to_pylist() == [4]
    assert out["c2"].column("s").to_pylist() == [11] and reads == ["c"]
    assert set(tables) == {"b"}
    with pytest.raises(Exception, match="a"):
        DuckDBEngine().evaluate(tables={"a": pa.table({"x": [1]})}, setup=[Release(("a",))],
                                queries={"q": "SELECT * FROM a"})
    with pytest.raises(Exception, match="t"):  # a table a statement made, dropped by its release
        DuckDBEngine().evaluate(tables={}, setup=["CREATE TABLE t AS SELECT 1 AS x", Release(("t",))],
                                queries={"q": "SELECT * FROM t"})
    with pytest.raises(Exception, match="c"):  # not there before its step
        DuckDBEngine().evaluate(tables={}, setup=["CREATE TABLE c0 AS SELECT * FROM c", Load(read_c)],
                                queries={"q": "SELECT 1"})


def test_a_loaded_reader_is_let_go_at_its_release_even_if_duckdb_keeps_what_it_was_given(monkeypatch):
    """What DuckDB was registered with may be kept past `unregister` (by DuckDB or outside Python): here a
    connection that keeps everything it is given. The loaded reader, and what its batches are read from, still go at
    the input's `Release`."""
    class Source:  # what a reader's batches are decoded from (the registry copy's Parquet bytes)
        pass

    kept, refs = [], {}
    connect = DuckDBEngine.connect

    class Keeping:
        def __init__(self, con):
            self.con = con

        def register(self, name, value):
            kept.append(value)
            return self.con.register(name, value)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(DuckDBEngine, "connect", lambda self: Keeping(connect(self)))

    def read():
        source = Source()
        refs["source"] = weakref.ref(source)

        def batches(source):
            for i in range(3):
                yield pa.record_batch({"x": [i, i + 10]})

        reader = pa.RecordBatchReader.from_batches(pa.schema([("x", pa.int64())]), batches(source))
        refs["reader"] = weakref.ref(reader)
        return {"p": reader}

    def after_release():
        refs["at_next_step"] = (refs["reader"]() is None, refs["source"]() is None)
        return {}

    out = DuckDBEngine().evaluate(tables={}, setup=[Load(read), "CREATE TABLE q AS SELECT CAST(sum(x) AS BIGINT) AS s FROM p",
                                                    Release(("p",)), Load(after_release)],
                                  queries={"q": "SELECT s FROM q"})
    assert out["q"].column("s").to_pylist() == [36]
    assert kept  # the connection kept what it was given
    assert refs["at_next_step"] == (True, True)


def test_the_rules_are_evaluated_under_their_own_duckdb_limit(settings):
    """FUPIN_DUCKDB_RULES_MEMORY: DuckDB's limit while it evaluates the rules, not the linkage's."""
    from fupin.exchange.linkage import default_engine

    settings.FUPIN_DUCKDB_MEMORY, settings.FUPIN_DUCKDB_RULES_MEMORY = "1GB", "100MB"
    engine = default_engine("duckdb")
    limit = "SELECT current_setting('memory_limit') AS limit"
    got = engine.evaluate(tables={}, setup=[], queries={"limit": limit})["limit"].column(0)[0].as_py()
    linkage = engine.connect().execute(limit).fetchall()[0][0]
    assert got.startswith("95.3 MiB") and linkage.startswith("953.6 MiB")
    settings.FUPIN_DUCKDB_RULES_MEMORY = ""
    got = default_engine("duckdb").evaluate(tables={}, setup=[], queries={"limit": limit})["limit"]
    assert got.column(0)[0].as_py().startswith("953.6 MiB")
