"""Running the linkage: read current snapshots and the registry in bulk, link in the engine, write links back.

Links are computed per snapshot and kept with the registry state they were computed on (`link_fingerprint`): a
rerun after one department reloads relinks only that snapshot, unless the registry changed meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.bulk import (
    BulkWriter,
    check_references,
    delete_where,
    fetch_arrow,
    foreign_keys_checked_in_bulk,
    foreign_keys_enforced,
)
from fupin.core.i18n import join_list
from fupin.exchange import cache
from fupin.exchange.engine import PERSON_COLUMNS, DuckDBEngine, Engine, LinkSettings, arrow_memory_returned
from fupin.exchange.models import LinkModel, LinkReview, LinkRun, RecordLink, Snapshot, StagedRecord
from fupin.exchange.pinyin import names_pinyin
from fupin.exchange.skew import guard as skew_guard
from fupin.exchange.skew import guard_records as skew_guard_records

log = logging.getLogger(__name__)
Progress = Callable[[int, str], None]


ENGINES = ("duckdb", "spark")


def default_engine(name: str | None = None, *, spark_master: str | None = None) -> Engine:
    """The engine of a run: `name` (else the setting FUPIN_ENGINE, default duckdb); Spark runs on `spark_master`
    (else FUPIN_SPARK_MASTER, else local[*])."""
    from django.conf import settings as dj

    name = name or getattr(dj, "FUPIN_ENGINE", "") or "duckdb"
    if name == "duckdb":
        return DuckDBEngine(**duckdb_options())
    if name == "spark":
        from fupin.core.errors import ServiceError
        from fupin.exchange.engine_spark import SparkEngine, pyspark_available

        if not pyspark_available():
            raise ServiceError(_("The Spark engine needs pyspark and Java: run make setup-spark first (see docs/scale.md)"))
        return SparkEngine(master=spark_master or getattr(dj, "FUPIN_SPARK_MASTER", "") or None,
                           staging=getattr(dj, "FUPIN_SPARK_STAGING", "") or None,
                           driver_memory=getattr(dj, "FUPIN_SPARK_DRIVER_MEMORY", "") or None,
                           timeout=getattr(dj, "FUPIN_SPARK_TIMEOUT", 0) or None,
                           conf=getattr(dj, "FUPIN_SPARK_CONF", None) or None)
    from fupin.core.errors import ServiceError

    raise ServiceError(_("Unknown comparison engine “%(name)s”; the choices are: %(engines)s")
                       % {"name": name, "engines": join_list(ENGINES)})


def duckdb_options() -> dict:
    """The DuckDB engine's bounds from the settings: memory limit, the folder it spills to, threads, and how many
    residual records and registry persons one prediction pass compares (docs/scale.md)."""
    temp = getattr(django_settings, "FUPIN_DUCKDB_TEMP", None)
    if temp:
        Path(temp).mkdir(parents=True, exist_ok=True)
    return {"memory_limit": getattr(django_settings, "FUPIN_DUCKDB_MEMORY", "1GB"),
            "rules_memory_limit": getattr(django_settings, "FUPIN_DUCKDB_RULES_MEMORY", "") or None,
            "temp_directory": str(temp) if temp else None,
            "threads": getattr(django_settings, "FUPIN_DUCKDB_THREADS", 0) or None,
            "predict_chunk_records": int(getattr(django_settings, "FUPIN_PREDICT_CHUNK", 1_000_000)),
            "predict_chunk_persons": int(getattr(django_settings, "FUPIN_PREDICT_PERSONS", 4_000_000))}


def max_block() -> int:
    """The largest block (record × person pairs under one blocking key) a run may compare (FUPIN_MAX_BLOCK)."""
    return int(getattr(django_settings, "FUPIN_MAX_BLOCK", 2_000_000))


def pair_budget() -> tuple[float, int]:
    """The pair budget of a blocking rule: pairs per record to match (FUPIN_PAIR_BUDGET, 0: none) and the floor
    under which a rule is never split for it (FUPIN_PAIR_BUDGET_FLOOR); docs/scale.md, "The pair budget"."""
    return (float(getattr(django_settings, "FUPIN_PAIR_BUDGET", 10)),
            int(getattr(django_settings, "FUPIN_PAIR_BUDGET_FLOOR", 1_000_000)))


def _guard_config() -> dict:
    """The skew guard's DuckDB bounds: the engine's memory limit and spill folder."""
    options = duckdb_options()
    return {"memory_limit": options["memory_limit"], "temp_directory": options["temp_directory"]}


def registry_fingerprint(settings: LinkSettings | None = None) -> str:
    """What the registry looked like: counts, newest ids and changes of persons and households. A change is seen
    by its updated_at or its version (the roster importer's updates move the version, not updated_at)."""
    from fupin.registry.models import Household, Person

    mark = _database_unchanged_mark()
    kept = getattr(connection, "_fupin_registry_state", None)
    if mark is not None and kept is not None and kept[0][0] is mark[0] and kept[0][1:] == mark[1:]:
        state = kept[1]  # nothing at all was written to the database since it was read (see below)
    else:
        parts = []
        with connection.cursor() as cur:
            for model in (Person, Household):
                cur.execute(f'SELECT count(*), max(id), max(updated_at), sum(version) '  # noqa: S608
                            f'FROM "{model._meta.db_table}"')
                parts.append(":".join(str(x) for x in cur.fetchone()))
        state = "|".join(parts)
        if mark is not None:
            connection._fupin_registry_state = (mark, state)
    return state + f"|{settings.version if settings else ''}"


@contextmanager
def registry_fingerprint_kept_through():
    """Around a transaction of this connection that changes no person and no household (the links' transaction:
    `linkage_write`, and the audit's sequence numbers given at its commit): the registry's fingerprint this
    connection read before it is still the registry's after it, though this connection's count of changed rows
    moved (`_database_unchanged_mark`). Kept when it was current at the start and no other connection committed
    meanwhile (`PRAGMA data_version` the same). `compare` writes 2.3 million links at 10x; its findings'
    transaction then read the fingerprint again, a scan of every person's row (1.2 CPU s at 10x against 0.08 at
    1x: the persons' table outgrows the caches)."""
    before = _database_unchanged_mark()
    kept = getattr(connection, "_fupin_registry_state", None)
    current = before is not None and kept is not None and kept[0][0] is before[0] and kept[0][1:] == before[1:]
    yield
    if current:
        after = _database_unchanged_mark()
        if after[0] is before[0] and after[1] == before[1]:
            connection._fupin_registry_state = (after, kept[1])


def _database_unchanged_mark() -> tuple | None:
    """On SQLite, what says that nothing was written to the database since: this connection's count of rows it
    changed (`total_changes`: inserts, updates and deletes, committed or not) and `PRAGMA data_version` (moves when
    any other connection commits). Both the same on the same connection: no row of any table changed, so the
    registry's fingerprint read then is still the registry's (a `compare` reads it three times, 0.1–0.2 s each at
    1x; the second is inside the links' transaction, with nothing written in between). None elsewhere (read again)."""
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cur:
        cur.execute("PRAGMA data_version")
        version = cur.fetchone()[0]
    return raw, version, raw.total_changes


PERSON_TYPES = {"person_id": pa.int64(), "household_id": pa.int64(), "name": pa.string(), "id_number": pa.string(),
                "id_valid": pa.bool_(), "birth_date": pa.string(), "sex": pa.string(), "area_code": pa.string(),
                "relationship": pa.string(), "labour_skill": pa.string(), "schooling": pa.string(),
                "dibao": pa.bool_(), "is_alive": pa.bool_(), "health": pa.string(), "disability_card": pa.string()}


def load_persons(fingerprint: str | None = None) -> pa.Table:
    """Every registry person with the columns linkage and the rules read, in person id order: the registry's
    columnar copy, brought up to date first if the registry changed since it was kept (registry_copy.py)."""
    from fupin.exchange import registry_copy

    return registry_copy.refresh(fingerprint)[0]


def _opened(table: pa.Table, model) -> pa.Table:
    """The engine reads sealed columns (fupin/core/fields.py) opened here, in the run's memory only."""
    from fupin.core import crypto
    from fupin.core.fields import encrypted_fields

    for f in encrypted_fields(model):
        if f.column not in table.column_names:
            continue
        purpose = f.purpose
        idx = table.column_names.index(f.column)
        values = crypto.decrypt_many(table.column(idx).to_pylist(), purpose)
        table = table.set_column(idx, f.column, pa.array(values, pa.string()))
    return table


RECORD_TYPES = {"record_id": pa.int64(), "snapshot_id": pa.int64(), "source_code": pa.string(),
                "id_clean": pa.string(), "id_number": pa.string(), "id_status": pa.string(), "name": pa.string(),
                "birth_date": pa.string(), "sex": pa.string(), "address": pa.string(), "id_kind": pa.string(),
                "id_area6": pa.string(), "id_birth_year": pa.string(), "id_last4": pa.string()}


def load_records(snapshots: list) -> pa.Table:
    """The readable records of these snapshots (Snapshot objects or ids), from their cached copies when present."""
    parts = []
    missing = []
    for snap in snapshots:
        if isinstance(snap, int):
            missing.append(snap)
            continue
        table = cache.snapshot_records_read(snap, columns=[*RECORD_TYPES, "name_py", "readable"])
        if table is None or not {*RECORD_TYPES, "name_py", "readable"} <= set(table.column_names):  # none, or written by an older version
            missing.append(snap.pk)
            continue
        table = table.filter(table.column("readable")).select([*RECORD_TYPES, "name_py"])
        table = table.set_column(table.column_names.index("id_birth_year"), "id_birth_year",
                                 pc.cast(table.column("id_birth_year"), pa.string()))
        parts.append(table)
        del table
        arrow_memory_returned()  # the copy's other columns (the records' JSON text), read and let go
    if missing or not parts:
        ids = missing or [-1]
        t = StagedRecord._meta.db_table
        marks = ", ".join(["%s"] * len(ids))
        table = fetch_arrow(
            f'SELECT id AS record_id, snapshot_id, source_code, id_clean, id_number, id_status, name, '  # noqa: S608
            f'CAST(birth_date AS TEXT) AS birth_date, sex, address, id_kind, id_area6, '
            f'CAST(id_birth_year AS TEXT) AS id_birth_year, id_last4, CAST(id_once AS INTEGER) AS id_once '
            f'FROM "{t}" WHERE snapshot_id IN ({marks}) AND readable', ids, types={**RECORD_TYPES, "id_once": pa.int64()})
        table = _opened(table, StagedRecord)  # id_clean, id_number sealed: opened in the run's memory only
        once = table.column("id_once")  # the ID stored once (StagedRecord.id_once): id_clean is id_number
        table = table.set_column(table.column_names.index("id_clean"), "id_clean",
                                 pc.if_else(pc.fill_null(pc.not_equal(once, 0), False), table.column("id_number"),
                                            table.column("id_clean"))).drop_columns(["id_once"])
        parts.append(table.append_column("name_py", pa.array(names_pinyin(table.column("name").to_pylist()),
                                                             pa.string())))
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _inputs_database(engine: Engine):
    """The DuckDB database a run's inputs are read into: the DuckDB engine's own connection (its memory limit and
    spill folder), else one with the same bounds (the skew guard's, before another engine is handed them)."""
    if isinstance(engine, DuckDBEngine):
        return engine.connect()
    import duckdb

    from fupin.exchange.engine import NO_CHECKPOINT

    return duckdb.connect(config={"checkpoint_threshold": NO_CHECKPOINT, "preserve_insertion_order": False,
                                  **{k: str(v) for k, v in _guard_config().items() if v}})


def _records_into(con, stale: list, fp: str, *, force: bool) -> tuple[CarryOver, int]:
    """The stale snapshots' records to link made the table `records_in` of `con`, a snapshot at a time (its copy
    read, its Arrow let go before the next): each snapshot's records whose content an earlier snapshot of its source
    holds keep that one's links (a department that resends an unchanged file; force: none do), the others go in,
    with the visible parts of masked IDs (`visible_id_parts`). Returns what was carried over and the records in."""
    carried = CarryOver(links=pa.table({k: pa.array([], t) for k, t in CARRIED_TYPES.items()}), remaining=None,
                        stats={}, carried_from={}, reviews={})
    links = []
    created = False
    for snap in stale:
        part = load_records([snap])
        carry = _carry_over([] if force else [snap], part, fp)
        part, carry.remaining = visible_id_parts(carry.remaining), None
        if carry.links.num_rows:
            links.append(carry.links)
        carried.stats.update(carry.stats)
        carried.carried_from.update(carry.carried_from)
        carried.reviews.update(carry.reviews)
        con.register("records_part", part)
        con.execute("INSERT INTO records_in BY NAME SELECT * FROM records_part" if created
                    else "CREATE TABLE records_in AS SELECT * FROM records_part")
        con.unregister("records_part")
        created = True
        del part, carry
        arrow_memory_returned()  # the copy's other columns (the records' JSON text) and its records, let go
    if links:
        carried.links = pa.concat_tables(links)
    return carried, con.execute("SELECT count(*) FROM records_in").fetchall()[0][0]


def visible_id_parts(records: pa.Table) -> pa.Table:
    """What a masked (脱敏) ID shows — area code, birth year, last four — as staged by the one ID parser
    (fupin.core.idnumber.parse), kept on masked records only: the engine reads full IDs from id_clean itself."""
    masked = pc.fill_null(pc.equal(records.column("id_kind"), "masked"), False)
    for name in ("id_area6", "id_birth_year", "id_last4"):
        col = pc.cast(records.column(name), pa.string())
        col = pc.if_else(pc.and_(masked, pc.invert(pc.equal(col, ""))), col, pa.scalar(None, pa.string()))
        records = records.set_column(records.column_names.index(name), name, col)
    return records


def stored_parameters() -> tuple[dict, LinkModel | None]:
    """The newest trained model's parameters (what a run too small to train falls back on)."""
    model = LinkModel.objects.filter(trained=True).order_by("-created_at", "-id").first()
    return (dict(model.parameters) if model else {}), model


def load_divisions() -> pa.Table:
    from fupin.geo.models import Division

    t = Division._meta.db_table
    return fetch_arrow(
        f'SELECT d.code, d.name, d.level, p.code AS parent_code FROM "{t}" d '  # noqa: S608
        f'LEFT JOIN "{t}" p ON p.id = d.parent_id',
        types={"code": pa.string(), "name": pa.string(), "level": pa.string(), "parent_code": pa.string()})


def load_decisions() -> pa.Table:
    rows = list(LinkReview.objects.exclude(status=LinkReview.Status.OPEN).values_list("record_key", "person_id",
                                                                                      "status"))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return pa.table({"record_key": pa.array(list(cols[0]), pa.string()),
                     "person_id": pa.array(list(cols[1]), pa.int64()),
                     "status": pa.array(list(cols[2]), pa.string())})


@dataclass
class LinkagePlan:
    """A linkage computed and not yet written (`linkage_compute`): what `linkage_write` writes, and what it was
    computed on (so the writer can tell whether the inputs changed meanwhile)."""

    stale: list
    fingerprint: str
    registry_fp: str
    settings: LinkSettings
    engine: str
    links: pa.Table  # record_id, person_id, snapshot_id, source_code, method, score, area_code, explanation
    reviews: pa.Table
    stats: dict
    model: dict | None
    stored_model: LinkModel | None
    snap_of_review: dict
    records: int
    persons: int
    t0: float
    t_load: float
    t_link: float
    # links carried over from an earlier snapshot of the same source whose records have the same content:
    # {new snapshot id: (earlier snapshot id, its links' count and newest link id when read)}
    carried_from: dict = field(default_factory=dict)
    carried_reviews: dict = field(default_factory=dict)  # {earlier record id: new record id} for open reviews


def linkage_inputs_key(stale: list, fp: str) -> tuple:
    """What a plan was computed on: the registry and settings (`fp`) and the snapshots it relinks."""
    return fp, tuple(sorted((s.pk, s.file_sha256, s.row_count) for s in stale))


def linkage_compute(*, force: bool = False, engine: Engine | None = None, settings: LinkSettings | None = None,
                    progress: Progress | None = None, persons: pa.Table | None = None,
                    registry_fp: str | None = None) -> LinkagePlan | None:
    """Link the current snapshots whose links are stale (all with force=True) without writing anything: reads,
    the engine's work, and the rows to write. None when nothing is stale. `registry_fp`: the registry's
    fingerprint, when the caller has it (not read again); `persons`: the registry's copy read for it, else read
    here — and then let go once the engine holds it (DuckDB: in its own buffer-managed tables)."""
    progress = progress or (lambda p, m="": None)
    engine = engine or default_engine()
    settings = settings or LinkSettings()
    t0 = time.perf_counter()
    registry_fp = registry_fp or registry_fingerprint()
    fp = f"{registry_fp}|{settings.version}"
    current = list(Snapshot.objects.filter(is_current=True).select_related("source"))
    stale = [s for s in current if force or s.link_fingerprint != fp]
    if not stale:
        return None
    progress(5, "读取人口库与部门数据")
    # the run's inputs live in one DuckDB database from here: the records read into it a snapshot copy at a time
    # (each copy's Arrow let go before the next), the registry's persons and block counts streamed into it, the
    # skew guard working on it; the DuckDB engine takes it over, another engine is handed Arrow tables made from
    # it. Never the whole records, persons and block counts in Arrow beside DuckDB's memory (at 10x 1.6 GB).
    con = _inputs_database(engine)
    try:
        carry, n_records = _records_into(con, stale, fp, force=force)
        t_load = time.perf_counter()
        if not n_records:
            links = carry.links
            empty = pa.table({"record_id": pa.array([], pa.int64()), "person_id": pa.array([], pa.int64()),
                              "score": pa.array([], pa.float64()), "record_key": pa.array([], pa.string())})
            return LinkagePlan(stale=stale, fingerprint=fp, registry_fp=registry_fp, settings=settings,
                               engine=engine.name, links=links, reviews=empty, stats={"carried": carry.stats},
                               model=None, stored_model=None, snap_of_review={}, records=0,
                               # the registry's persons were not read (every record carried): its count, the
                               # fingerprint's first figure (registry_fingerprint)
                               persons=persons.num_rows if persons is not None else int(registry_fp.split(":", 1)[0]),
                               t0=t0, t_load=t_load, t_link=time.perf_counter(), carried_from=carry.carried_from,
                               carried_reviews=carry.reviews)
        from fupin.exchange import registry_copy

        divisions = load_divisions()
        # the skew guard's side of the records (their blocking columns), made while the database holds the records
        # alone: with the persons in it, at 10x past its memory limit, the records are read back from its spill
        # folder (docs/performance.md, hcpu)
        guard_cursor = con.cursor()
        try:
            skew_guard_records(guard_cursor, divisions, exact_rule=settings.exact_rule)
        finally:
            guard_cursor.close()
        # the persons' columns the engines and the skew guard read (the rules' columns stay in the copy)
        if persons is not None:  # the caller's copy, read for it
            con.register("persons_given", persons.select(PERSON_COLUMNS))
            con.execute("CREATE TABLE persons_in AS SELECT * FROM persons_given")
            con.unregister("persons_given")
            n_persons = persons.num_rows
        else:  # read only when the engine runs
            n_persons = registry_copy.persons_into(con, "persons_in", registry_fp, PERSON_COLUMNS)
        del persons
        arrow_memory_returned()
        progress(20, f"比对 {n_records} 条部门记录")
        stored, stored_model = stored_parameters()
        if not settings.parameters:
            settings = LinkSettings.from_dict({**settings.to_dict(), "parameters": stored})
        inputs = model_inputs(stale, fp, settings)  # before the stored model and the skew guard's rules join them
        reused = reusable_model(stale, fp, settings) if settings.train else None
        if reused is not None:  # the same inputs trained this model: it is used as it is, not trained again
            settings = LinkSettings.from_dict({**settings.to_dict(), "parameters": dict(reused.parameters),
                                               "train": False})
            stored_model = reused
        # the skew guard: block sizes measured (DuckDB, whatever the engine) and large blocks split or skipped
        # (the registry's side of the block sizes is kept with the registry's copy: counted at import or nightly)
        registry_copy.blocks_into(con, "registry_blocks", registry_fp, "persons_in", settings.blocking_rules)
        budget, floor = pair_budget()
        rules, skew = skew_guard(con=con, divisions=divisions, rules=settings.blocking_rules, max_block=max_block(),
                                 exact_rule=settings.exact_rule, kept_blocks="registry_blocks", pair_budget=budget,
                                 budget_floor=floor, records_keyed=True)
        con.execute("DROP TABLE registry_blocks")
        if rules != settings.blocking_rules:
            settings = LinkSettings.from_dict({**settings.to_dict(), "blocking_rules": rules})
        # the links are joined back to their snapshots on these two columns
        ids = con.sql("SELECT record_id, snapshot_id FROM records_in").to_arrow_table()
        if isinstance(engine, DuckDBEngine):  # the engine takes the database over (and closes it)
            held, con = con, None
            out = engine.link(records=None, persons=None, divisions=divisions, decisions=load_decisions(),
                              settings=settings, con=held)
        else:  # another engine is handed Arrow tables (Spark: from memory, see engine_spark.py)
            handed = [con.sql("SELECT * FROM records_in").to_arrow_table(),
                      con.sql("SELECT * FROM persons_in").to_arrow_table()]
            con.close()
            con = None
            out = engine.link(records=handed.pop(0), persons=handed.pop(), divisions=divisions,
                              decisions=load_decisions(), settings=settings)
    finally:
        if con is not None:
            con.close()
    out.stats["skew"] = skew
    if carry.stats:
        out.stats["carried"] = carry.stats
    model = out.stats.pop("model", None)
    if model is not None:
        model["inputs"] = inputs
        if reused is not None:
            model["reason"] = "reused"
    t_link = time.perf_counter()
    # the snapshot and source of every link, joined in Arrow
    source_of = {s.pk: s.source.code for s in stale}
    at = pc.index_in(out.links.column("record_id"), value_set=ids.column("record_id"))
    snap_ids = pc.take(ids.column("snapshot_id"), at)
    links = out.links.append_column("snapshot_id", snap_ids)
    snap_keys = pa.array(list(source_of), pa.int64())
    codes = pc.take(pa.array(list(source_of.values()), pa.string()), pc.index_in(snap_ids, value_set=snap_keys))
    links = links.append_column("source_code", codes)
    if "explanation" not in links.column_names:
        links = links.append_column("explanation", pa.nulls(links.num_rows, pa.string()))
    if carry.links.num_rows:
        links = pa.concat_tables([links.select(CARRIED_COLUMNS).cast(carry.links.schema), carry.links])
    snap_of = dict(zip(out.reviews.column("record_id").to_pylist(), pc.take(
        ids.column("snapshot_id"), pc.index_in(out.reviews.column("record_id"),
                                               value_set=ids.column("record_id"))).to_pylist(), strict=True))
    return LinkagePlan(stale=stale, fingerprint=fp, registry_fp=registry_fp, settings=settings, engine=engine.name,
                       links=links, reviews=out.reviews, stats=out.stats, model=model, stored_model=stored_model,
                       snap_of_review=snap_of, records=n_records, persons=n_persons, t0=t0,
                       t_load=t_load, t_link=t_link, carried_from=carry.carried_from, carried_reviews=carry.reviews)


# What a record's linkage reads: two records equal in these columns link to the same persons on the same registry
# and settings (the pinyin of the name follows the name).
LINK_CONTENT = ["source_code", "id_clean", "id_number", "id_status", "name", "birth_date", "sex", "address",
                "id_kind", "id_area6", "id_birth_year", "id_last4"]
CARRIED_COLUMNS = ["record_id", "person_id", "method", "score", "area_code", "explanation", "snapshot_id",
                   "source_code"]
CARRIED_TYPES = {"record_id": pa.int64(), "person_id": pa.int64(), "method": pa.string(), "score": pa.float64(),
                 "area_code": pa.string(), "explanation": pa.string(), "snapshot_id": pa.int64(),
                 "source_code": pa.string()}


@dataclass
class CarryOver:
    links: pa.Table  # CARRIED_COLUMNS: the earlier links under the new records' ids
    remaining: pa.Table  # the records left to link
    stats: dict  # {source: {"from_snapshot", "records", "relinked"}}
    carried_from: dict  # {new snapshot id: (earlier snapshot id, its links' mark)}
    reviews: dict  # {earlier record id: new record id} of the earlier records with an open review


def _links_mark(snapshot_id: int) -> tuple:
    """(count, newest id) of a snapshot's links: a reviewer's decision on one of its records changes it."""
    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*), max(id) FROM "{RecordLink._meta.db_table}" '  # noqa: S608
                    "WHERE snapshot_id = %s", [snapshot_id])
        return tuple(cur.fetchone())


def _matched(new: pa.Table, old: pa.Table) -> pa.Table:
    """new_id, old_id: each new record paired with an earlier record of the same content (a hash of LINK_CONTENT;
    the n-th of several equal records with the n-th), each earlier record used once."""
    import duckdb

    key = "md5(concat_ws(chr(31), " + ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in LINK_CONTENT) + "))"
    con = duckdb.connect()
    try:
        con.register("new_r", new.select(["record_id", *LINK_CONTENT]))
        con.register("old_r", old.select(["record_id", *LINK_CONTENT]))
        return con.sql(f"""
            WITH n AS (SELECT record_id, h, row_number() OVER (PARTITION BY h ORDER BY record_id) AS k
                       FROM (SELECT record_id, {key} AS h FROM new_r)),
                 o AS (SELECT record_id, h, row_number() OVER (PARTITION BY h ORDER BY record_id) AS k
                       FROM (SELECT record_id, {key} AS h FROM old_r))
            SELECT n.record_id AS new_id, o.record_id AS old_id FROM n JOIN o USING (h, k)""").to_arrow_table()  # noqa: S608
    finally:
        con.close()


def _carry_over(stale: list, records: pa.Table, fp: str) -> CarryOver:
    """The links of the stale snapshots' records that an earlier snapshot of the same source holds for a record of
    the same content, computed on this registry and settings (`fp`): copied under the new records' ids. A resent
    unchanged file is not linked again; of a changed file only the changed or new records are."""
    parts, stats, carried_from, reviews = [], {}, {}, {}
    done = pa.array([], pa.int64())
    for snap in stale:
        earlier = (Snapshot.objects.filter(source_id=snap.source_id, pk__lt=snap.pk, link_fingerprint=fp)
                   .order_by("-pk").first())
        if earlier is None:
            continue
        mark = _links_mark(earlier.pk)
        new = records.filter(pc.equal(records.column("snapshot_id"), snap.pk))
        pairs = _matched(new, load_records([earlier]))
        if not pairs.num_rows:
            continue
        old_links = fetch_arrow(
            f'SELECT record_id, person_id, method, score, area_code, CAST(explanation AS TEXT) AS explanation '  # noqa: S608
            f'FROM "{RecordLink._meta.db_table}" WHERE snapshot_id = %s', [earlier.pk],
            types={k: v for k, v in CARRIED_TYPES.items() if k not in ("snapshot_id", "source_code")})
        at = pc.index_in(old_links.column("record_id"), value_set=pairs.column("old_id"))
        kept = old_links.filter(pc.is_valid(at))
        kept = kept.set_column(0, "record_id", pc.take(pairs.column("new_id"), pc.drop_null(at)))
        kept = kept.append_column("snapshot_id", pa.array([snap.pk] * kept.num_rows, pa.int64()))
        kept = kept.append_column("source_code", pa.array([snap.source.code] * kept.num_rows, pa.string()))
        parts.append(kept.select(CARRIED_COLUMNS))
        done = pa.concat_arrays([done, pairs.column("new_id").combine_chunks()])
        carried_from[snap.pk] = (earlier.pk, mark)
        open_reviews = set(LinkReview.objects.filter(record__snapshot_id=earlier.pk, status=LinkReview.Status.OPEN)
                           .values_list("record_id", flat=True))
        if open_reviews:
            reviews.update((o, n) for n, o in zip(pairs.column("new_id").to_pylist(),
                                                  pairs.column("old_id").to_pylist(), strict=True) if o in open_reviews)
        stats[snap.source.code] = {"from_snapshot": earlier.pk, "records": pairs.num_rows,
                                   "links": kept.num_rows, "relinked": new.num_rows - pairs.num_rows}
    links = (pa.concat_tables(parts) if parts else
             pa.table({k: pa.array([], t) for k, t in CARRIED_TYPES.items()}))
    remaining = records.filter(pc.invert(pc.is_in(records.column("record_id"), value_set=done))) if len(done) \
        else records
    return CarryOver(links=links, remaining=remaining, stats=stats, carried_from=carried_from, reviews=reviews)


def linkage_current(plan: LinkagePlan) -> bool:
    """Are the inputs `plan` was computed on still those of the database (registry, settings, stale snapshots)?"""
    fp = f"{registry_fingerprint()}|{plan.settings.version}"
    ids = [s.pk for s in plan.stale]
    now = list(Snapshot.objects.filter(pk__in=ids, is_current=True).only("pk", "file_sha256", "row_count"))
    return (fp == plan.fingerprint and linkage_inputs_key(now, fp) == linkage_inputs_key(plan.stale, plan.fingerprint)
            and all(_links_mark(earlier) == mark for earlier, mark in plan.carried_from.values()))


def linkage_write(plan: LinkagePlan, *, actor, progress: Progress | None = None, cache: bool = True) -> LinkRun:
    """Write what `linkage_compute` prepared: links (the core bulk writer), reviews, the model and the run. Call it
    inside the caller's transaction (opened inside `foreign_keys_checked_in_bulk`: on SQLite the links' and
    reviews' references are then checked here at once); it computes nothing but the rows' form. cache=False: the links' columnar
    copies are left to `linkage_cache`, for the caller to write after its commit (outside the write lock). It writes
    no person and no household (see `registry_fingerprint_kept_through`)."""
    progress = progress or (lambda p, m="": None)
    progress(70, "写入关联结果")
    t_write = time.perf_counter()
    stale, stale_ids = plan.stale, [s.pk for s in plan.stale]
    model_row = _save_model(plan.model, plan.stored_model, plan.settings)
    delete_where(RecordLink, "snapshot_id", stale_ids)
    links = plan.links

    def link_rows():
        for batch in links.select(["record_id", "person_id", "snapshot_id", "source_code", "method", "score",
                                   "area_code", "explanation"]).to_batches(max_chunksize=50_000):
            yield from zip(*(c.to_pylist() for c in batch.columns), strict=True)

    columns = ["record_id", "person_id", "snapshot_id", "source_code", "method", "score", "area_code", "explanation"]
    writer = BulkWriter(RecordLink, columns=columns, encoded=["explanation"])
    # a first run (the table empty) builds the indexes once afterwards; the rows are already in database form
    write = (writer.write_prepared if writer.takes_rows_as_they_are() and len(writer.fields) == len(columns)
             else writer.write)
    write(link_rows(), set_indexes_aside=True, expected_rows=links.num_rows)
    source_of = {s.pk: s.source.code for s in stale}
    n_reviews = _write_reviews(plan.reviews, stale_ids, plan.snap_of_review, source_of)
    if plan.carried_reviews:  # an open review of a record carried over follows it to the new record
        moved = list(LinkReview.objects.filter(status=LinkReview.Status.OPEN,
                                               record_id__in=list(plan.carried_reviews)))
        for rv in moved:
            rv.record_id = plan.carried_reviews[rv.record_id]
        LinkReview.objects.bulk_update(moved, ["record"], batch_size=500)
    if not foreign_keys_enforced(RecordLink):  # the caller's transaction runs without SQLite's per-row lookups
        marks = ", ".join(["%s"] * len(stale_ids))
        # a link's record is a record of the link's snapshot: looked up in the records' snapshot index
        check_references(RecordLink, f"snapshot_id IN ({marks})", stale_ids, same={"record_id": "snapshot_id"})
        check_references(LinkReview, f'EXISTS (SELECT 1 FROM "{StagedRecord._meta.db_table}" s '  # noqa: S608
                                     f'WHERE s.id = "{LinkReview._meta.db_table}".record_id '
                                     f"AND s.snapshot_id IN ({marks}))", stale_ids, few=True)
    Snapshot.objects.filter(pk__in=stale_ids).update(link_fingerprint=plan.fingerprint)
    for s in stale:
        s.link_fingerprint = plan.fingerprint
    if cache:
        _cache_links(links, stale, plan.fingerprint)
    stats = {**plan.stats, "links": links.num_rows, "records": plan.records, "persons": plan.persons,
             "snapshots": [s.source.code for s in stale], "open_reviews": n_reviews,
             "links_carried": sum(c.get("links", 0) for c in (plan.stats.get("carried") or {}).values()),
             "seconds_load": round(plan.t_load - plan.t0, 3), "seconds_engine": round(plan.t_link - plan.t_load, 3),
             "seconds_write": round(time.perf_counter() - t_write, 3),
             "seconds_total": round(plan.t_link - plan.t0 + time.perf_counter() - t_write, 3)}
    if model_row is not None:
        stats["model"] = {"id": model_row.pk, "trained": model_row.trained, "reason": model_row.reason,
                          "match_rate": model_row.match_rate, "seconds": model_row.figures.get("seconds")}
    run = LinkRun.objects.create(engine=plan.engine, stats=stats, finished_at=timezone.now(), model=model_row)
    audit.record(actor=actor, action="exchange.linkage.run", object_type="exchange.linkrun", object_id=str(run.pk),
                 object_repr=f"linkage {len(stale)} snapshots", after=stats)
    progress(80, "关联完成")
    return run


def linkage_cache(plan: LinkagePlan) -> None:
    """The columnar copies of the links `linkage_write(plan, cache=False)` wrote: after the commit (a crash before
    leaves them missing, and they are read from the database)."""
    _cache_links(plan.links, plan.stale, plan.fingerprint)


def linkage_run(*, actor, force: bool = False, engine: Engine | None = None, settings: LinkSettings | None = None,
                progress: Progress | None = None, persons: pa.Table | None = None) -> LinkRun | None:
    """Link the current snapshots whose links are stale (all with force=True); None when nothing was stale. The
    linkage is computed first, outside any transaction; the write transaction (on SQLite the one write lock) only
    writes the prepared rows, and computes again inside if the inputs changed meanwhile."""
    plan = linkage_compute(force=force, engine=engine, settings=settings, progress=progress, persons=persons)
    if plan is None:
        return None
    with foreign_keys_checked_in_bulk(RecordLink), transaction.atomic():
        if not linkage_current(plan):
            plan = linkage_compute(force=force, engine=engine, settings=settings, progress=progress)
            if plan is None:
                return None
        run = linkage_write(plan, actor=actor, progress=progress, cache=False)
    linkage_cache(plan)
    return run


def model_inputs(stale: list, fp: str, settings: LinkSettings) -> dict:
    """What a model was trained on: the registry, the settings (all of them but the stored model they fall back
    on) and the content of the snapshots it linked."""
    spec = {k: v for k, v in settings.to_dict().items() if k not in ("parameters", "train")}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return {"fingerprint": f"{fp}|{digest}",
            "snapshots": sorted(f"{s.source.code}:{s.file_sha256}:{s.row_count}" for s in stale)}


def reusable_model(stale: list, fp: str, settings: LinkSettings) -> LinkModel | None:
    """The newest model trained on the same registry and settings and on snapshots of the same content as every
    stale one (a department that reloads an unchanged file): its inputs are unchanged, so it is not trained again."""
    key = model_inputs(stale, fp, settings)
    wanted = set(key["snapshots"])
    for model in LinkModel.objects.filter(trained=True).order_by("-created_at", "-id")[:5]:
        inputs = (model.figures or {}).get("inputs") or {}
        if inputs.get("fingerprint") == key["fingerprint"] and wanted <= set(inputs.get("snapshots") or []):
            return model
    return None


def _save_model(model: dict | None, stored: LinkModel | None, settings: LinkSettings) -> LinkModel | None:
    """Keep the model a run used: a new row when trained, else a row that names the stored model it fell back on."""
    if not model:
        return None
    return LinkModel.objects.create(
        trained=model.get("trained", False), reason=model.get("reason", ""),
        based_on=None if model.get("trained") else stored, records=model.get("records", 0),
        persons=model.get("persons", 0), match_rate=(model.get("parameters") or {}).get("match_rate"),
        parameters=model.get("parameters") or {}, splink=model.get("splink") or {},
        figures={"seconds": model.get("seconds"), "cpu_seconds": model.get("cpu_seconds"),
                 "seconds_u": model.get("seconds_u"),
                 "seconds_em": model.get("seconds_em"), "settings_version": settings.version,
                 "match_rate_from_exact_ids": model.get("match_rate_from_exact_ids"),
                 "em_sessions": model.get("em_sessions"), "em_iterations": model.get("em_iterations"),
                 "error": model.get("error", ""),
                 "inputs": model.get("inputs")})


def _cache_links(links: pa.Table, stale: list, fp: str) -> None:
    """Each stale snapshot's links (with their snapshot_id and source_code columns) to its Parquet copy."""
    links = links.select(["record_id", "person_id", "method", "score", "area_code", "snapshot_id", "source_code"])
    for snap in stale:
        part = links.filter(pc.equal(links.column("snapshot_id"), snap.pk))
        try:
            cache.snapshot_links_write(snap, fp, part)
        except OSError:
            pass


def load_links(snapshots: list) -> pa.Table:
    """record_id, person_id, method, score, area_code, snapshot_id, source_code of these snapshots' links."""
    parts, missing = [], []
    for snap in snapshots:
        table = cache.snapshot_links_read(snap, snap.link_fingerprint) if snap.link_fingerprint else None
        if table is None:
            missing.append(snap.pk)
        else:
            parts.append(table.replace_schema_metadata(None))
    if missing:
        t = RecordLink._meta.db_table
        marks = ", ".join(["%s"] * len(missing))
        parts.append(fetch_arrow(
            f'SELECT record_id, person_id, method, score, area_code, snapshot_id, source_code FROM "{t}" '  # noqa: S608
            f'WHERE snapshot_id IN ({marks})', missing,
            types={"record_id": pa.int64(), "person_id": pa.int64(), "method": pa.string(), "score": pa.float64(),
                   "area_code": pa.string(), "snapshot_id": pa.int64(), "source_code": pa.string()}))
    if not parts:
        return pa.table({"record_id": pa.array([], pa.int64()), "person_id": pa.array([], pa.int64()),
                         "method": pa.array([], pa.string()), "score": pa.array([], pa.float64()),
                         "area_code": pa.array([], pa.string()), "snapshot_id": pa.array([], pa.int64()),
                         "source_code": pa.array([], pa.string())})
    return pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]


LINK_TYPES = {"record_id": pa.int64(), "person_id": pa.int64(), "method": pa.string(), "score": pa.float64(),
              "area_code": pa.string(), "snapshot_id": pa.int64(), "source_code": pa.string()}


def planned_links(snapshots: list, plan: LinkagePlan | None) -> pa.Table:
    """The links of these snapshots as they will be once `plan` is written: the plan's for the snapshots it
    relinks, the stored ones (columnar copies) for the others."""
    if plan is None:
        return load_links(snapshots)
    relinked = {s.pk for s in plan.stale}
    kept = load_links([s for s in snapshots if s.pk not in relinked])
    new = plan.links.select(list(LINK_TYPES)).cast(pa.schema(LINK_TYPES.items()))
    kept = kept.select(list(LINK_TYPES)).cast(pa.schema(LINK_TYPES.items()))
    return pa.concat_tables([kept, new])


def _write_reviews(reviews: pa.Table, stale_ids: list[int], snap_of: dict, source_of: dict) -> int:
    """Open review pairs for the uncertain candidates; decided pairs stay as decided, vanished open ones go."""
    rows = reviews.to_pylist()
    wanted = {(r["record_key"], r["person_id"]): r for r in rows}
    existing = {(rv.record_key, rv.person_id): rv
                for rv in LinkReview.objects.filter(record__snapshot_id__in=stale_ids)}
    existing.update({(rv.record_key, rv.person_id): rv for rv in LinkReview.objects.filter(
        record_key__in=list({k for k, _ in wanted}))} if wanted else {})
    for key, rv in existing.items():
        if key not in wanted and rv.status == LinkReview.Status.OPEN:
            rv.delete()
    # only what the details show (the whole row would open its sealed raw and data cells and ID columns too)
    records = StagedRecord.objects.only("name", "id_clean", "id_status", "birth_date", "sex", "address",
                                        "row_number").in_bulk([r["record_id"] for r in rows])
    new_rows = []
    for key, r in wanted.items():
        rv = existing.get(key)
        rec = records.get(r["record_id"])
        details = {"record": {"name": rec.name, "id": rec.id_clean, "id_status": rec.id_status,
                              "birth_date": rec.birth_date.isoformat() if rec.birth_date else "", "sex": rec.sex,
                              "address": rec.address, "row": rec.row_number} if rec else {},
                   "weight": r["weight"], "second_weight": r["second_weight"],
                   "explanation": json.loads(r["explanation"]) if r.get("explanation") else None}
        if rv is None:
            new_rows.append((r["record_key"], r["person_id"], rec.pk if rec else None,
                             source_of[snap_of[r["record_id"]]], r["score"], details, r["area_code"] or ""))
        elif rv.status == LinkReview.Status.OPEN:
            rv.record, rv.score, rv.details = rec, r["score"], details
            rv.save(update_fields=["record", "score", "details", "updated_at"])
    # the new pairs in one write (the core bulk writer: sealed details, fresh UUIDs, the defaults), not one
    # INSERT through the ORM each
    BulkWriter(LinkReview, columns=["record_key", "person_id", "record_id", "source_code", "score", "details",
                                    "area_code"]).write(new_rows)
    return LinkReview.objects.filter(status=LinkReview.Status.OPEN).count()
