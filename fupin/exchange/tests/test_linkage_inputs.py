"""The linkage's inputs held once, in DuckDB (issue 19: peak memory at 10x): the records are read into the run's
DuckDB database a snapshot copy at a time (each copy's Arrow let go before the next is read), the registry's copy
and its block counts are streamed into it, the skew guard works on it and the DuckDB engine takes it over. Each
read gives what the Arrow reads give (the guard's rules and report, the persons, the counts)."""

import duckdb
import pyarrow as pa
import pytest

from fupin.exchange import cache, engine, linkage, registry_copy, skew
from fupin.exchange.engine import PERSON_COLUMNS, default_blocking

from .conftest import ident, write_csv
from .test_skew import _tables


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Each test its own cache folder: a copy another test left is not this database's."""
    settings.DATA_DIR = tmp_path


def _rows(table: pa.Table) -> list[tuple]:
    d = table.to_pydict()
    return sorted(zip(*d.values(), strict=True), key=repr)


def _held(records: pa.Table, persons: pa.Table, blocks: pa.Table | None = None):
    con = duckdb.connect()
    for name, table in (("records_in", records), ("persons_in", persons), ("registry_blocks", blocks)):
        if table is not None:
            con.register("t", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM t")
            con.unregister("t")
    return con


@pytest.mark.parametrize("max_block", [150, 400])
@pytest.mark.parametrize("kept", [True, False])
def test_the_guard_on_the_held_database_is_the_guard_on_arrow(max_block, kept):
    """The same rules and report whether the guard is handed Arrow tables or the linkage's database (with the
    kept counts as its table, or counting them itself) — also when a large block is split (150) — and the
    database is left as it was given, with nothing of the guard's in it."""
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    rules = default_blocking()
    blocks = skew.registry_blocks(persons, rules)
    on_arrow = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=max_block,
                          kept_blocks=blocks if kept else None)
    con = _held(records, persons, blocks if kept else None)
    on_held = skew.guard(con=con, divisions=divisions, rules=rules, max_block=max_block,
                         kept_blocks="registry_blocks" if kept else None)
    assert on_held[0] == on_arrow[0]
    assert ({k: v for k, v in on_held[1].items() if k != "seconds"}
            == {k: v for k, v in on_arrow[1].items() if k != "seconds"})
    assert (on_held[1]["split"] == 1) == (max_block == 150)
    left = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert left == {"records_in", "persons_in", *(["registry_blocks"] if kept else [])}
    con.close()


@pytest.mark.django_db
def test_the_copy_and_its_counts_read_into_duckdb_are_those_read_into_arrow(people):
    """`persons_into` and `blocks_into` give the rows `load_persons` and `blocks` give: from the kept files (read a
    row group at a time), and when nothing is kept (built, counted there, then kept)."""
    rules = default_blocking()
    fp = linkage.registry_fingerprint()
    for kept in (False, True):
        if kept:
            registry_copy.refresh(table=False)
            assert cache.registry_batches(registry_copy.NAME, fp) is not None
        else:
            assert cache.registry_batches(registry_copy.NAME, fp) is None
        con = duckdb.connect()
        n = registry_copy.persons_into(con, "persons_in", fp, PERSON_COLUMNS)
        registry_copy.blocks_into(con, "registry_blocks", fp, "persons_in", rules)
        persons = linkage.load_persons(fp)
        assert n == persons.num_rows == 5
        assert _rows(con.sql("SELECT * FROM persons_in").to_arrow_table()) == _rows(persons.select(PERSON_COLUMNS))
        assert _rows(con.sql("SELECT * FROM registry_blocks").to_arrow_table()) == _rows(
            registry_copy.blocks(fp, persons, rules).replace_schema_metadata(None))
        con.close()
    # counted when missing, and kept: the next run reads them
    assert cache.registry_kept(registry_copy.BLOCKS, registry_copy._blocks_key(fp, rules))


@pytest.mark.django_db
def test_each_snapshot_copy_is_let_go_before_the_next_is_read(people, tmp_path, monkeypatch):
    """Three departments' copies: when the third is read, the records of the first two are no longer held in
    Arrow (they are in DuckDB); the engine is handed the database with them all in it, and links as before."""
    from fupin.exchange.services import import_department, sources_ensure_defaults

    sources_ensure_defaults()
    ids = people["ids"]
    for code, id_header in (("dibao", "身份证号"), ("vehicle", "身份证明号码"), ("business", "证件号码")):
        rows = [[f"王{i}", ident("19600101", i % 900 + 100), "宜都市甲镇甲一村"] for i in range(2000)]
        rows.append(["张伟", ids["zhang"], "宜都市甲镇甲一村"])
        header = ["法定代表人" if code == "business" else "机动车所有人" if code == "vehicle" else "姓名",
                  id_header, "住址"]
        import_department(actor="test", source_code=code, path=write_csv(tmp_path / f"{code}.csv", header, rows))
    registry_copy.refresh(table=False)
    reads: list[tuple[int, int]] = []  # Arrow bytes allocated when a copy is read, the copy's bytes
    read = cache.snapshot_records_read

    def watched(snapshot, columns=None):
        held = pa.total_allocated_bytes()
        table = read(snapshot, columns)
        reads.append((held, table.nbytes))
        return table

    monkeypatch.setattr(cache, "snapshot_records_read", watched)
    handed = []
    link = engine.DuckDBEngine.link

    def watch_link(self, *, records, persons, con=None, **kw):
        n = records.num_rows if con is None else con.execute("SELECT count(*) FROM records_in").fetchall()[0][0]
        handed.append((records, persons, n))
        return link(self, records=records, persons=persons, **({"con": con} if con is not None else {}), **kw)

    monkeypatch.setattr(engine.DuckDBEngine, "link", watch_link)
    plan = linkage.linkage_compute(force=True)
    assert len(reads) == 3
    smallest = min(size for _, size in reads)
    # before: the first two copies' records (about 2 × `smallest`) were still held when the third was read
    assert reads[2][0] - reads[0][0] < smallest / 2
    assert handed == [(None, None, 3 * 2001)]
    assert plan.records == 3 * 2001
    from fupin.registry.models import Person

    pk = Person.objects.get(id_number=ids["zhang"]).pk
    zhang = {(r["snapshot_id"], r["method"]) for r in plan.links.to_pylist() if r["person_id"] == pk}
    assert len(zhang) == 3 and {m for _, m in zhang} == {"exact_id"}
