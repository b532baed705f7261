"""The registry's columnar copy: every person with the columns the linkage and the rules read, ID values opened.

Building it from the database (about 390,000 persons: read, open three sealed columns, pinyin of every name) was
the first ~6 s of every county `compare`. It is now kept current outside the comparison — after each department
import commits, and by the nightly step `exchange.registry_copy` — and the comparison reuses it while its fingerprint
(`linkage.registry_fingerprint`) matches the registry; else it is brought up to date here.

Bringing it up to date is incremental. Beside the copy (`persons`) a second file (`persons_sealed`) keeps, per
person, the change stamp the row was read with (updated_at and version: every write of a person moves one of them)
and the sealed values as stored. A refresh reads every person's stamp (two small columns), re-reads only the
persons whose stamp differs or who are new, drops the deleted ones, and merges; a re-read person whose sealed value
is byte for byte the one kept is not opened again (the same sealed bytes open to the same value). The result is the
same table a full rebuild makes (rows in person id order; tests/test_registry_copy.py compares the two). Both files
carry the same build token: a pair that does not belong together is never merged (a full rebuild then).
"""

from __future__ import annotations

import logging
import time
import uuid

import pyarrow as pa
import pyarrow.compute as pc

from fupin.core.bulk import fetch_arrow
from fupin.exchange import cache, skew
from fupin.exchange.pinyin import names_pinyin

log = logging.getLogger(__name__)

NAME, SEALED, BLOCKS, HOUSEHOLDS = "persons", "persons_sealed", "persons_blocks", "households"
SEALED_COLUMNS = ("id_number", "health", "disability_card")  # the sealed columns of the copy (fupin/core/fields.py)
STAMP_TYPES = {"person_id": pa.int64(), "stamp_at": pa.string(), "stamp_v": pa.int64()}
# more than this share of the persons changed: everything is read again (the sealed values are still reused)
FULL_SHARE, FULL_MIN = 0.5, 1000
CHUNK = 500  # ids per `IN (...)` of a partial read (under SQLite's limit of bound values)


def _person_types() -> dict:
    from fupin.exchange.linkage import PERSON_TYPES

    return {**PERSON_TYPES, **STAMP_TYPES}


def _select(where: str = "") -> str:
    from fupin.eligibility.facts import text_col
    from fupin.registry.models import Person

    return (f'SELECT id AS person_id, household_id, name, id_number, id_valid, '  # noqa: S608 - no user input
            f'CAST(birth_date AS TEXT) AS birth_date, sex, area_code, relationship, labour_skill, schooling, dibao, '
            f'is_alive, {text_col("health")} AS health, disability_card, CAST(updated_at AS TEXT) AS stamp_at, '
            f'version AS stamp_v FROM "{Person._meta.db_table}" {where} ORDER BY id')


def _read_rows(ids: list[int] | None) -> pa.Table:
    """Persons as stored (sealed columns still sealed) with their stamps: all (ids None) or these ids."""
    types = _person_types()
    if ids is None:
        return fetch_arrow(_select(), types=types)
    parts = [fetch_arrow(_select(f"WHERE id IN ({', '.join(['%s'] * len(ids[i:i + CHUNK]))})"),
                         ids[i:i + CHUNK], types=types) for i in range(0, len(ids), CHUNK)]
    if not parts:
        return fetch_arrow(_select("WHERE 1 = 0"), types=types)
    return pa.concat_tables(parts).sort_by("person_id")


def _stamps() -> pa.Table:
    from fupin.registry.models import Person

    return fetch_arrow(f'SELECT id AS person_id, CAST(updated_at AS TEXT) AS stamp_at, version AS stamp_v '  # noqa: S608
                       f'FROM "{Person._meta.db_table}" ORDER BY id', types=STAMP_TYPES)


def _open(raw: pa.Table, kept: pa.Table | None) -> tuple[pa.Table, pa.Table, int]:
    """The copy's rows (sealed columns opened, name_py added) and the sealed side rows of `raw`; a value whose
    sealed bytes `kept` holds is taken opened from there, not opened again (the same sealed bytes — key id, nonce,
    ciphertext — open to the same value). Returns (rows, side rows, how many values were opened)."""
    from fupin.core import crypto
    from fupin.core.fields import encrypted_fields
    from fupin.registry.models import Person

    purposes = {f.column: f.purpose for f in encrypted_fields(Person)}
    side = raw.select(["person_id", "stamp_at", "stamp_v", *SEALED_COLUMNS])
    rows = raw.drop_columns(["stamp_at", "stamp_v"])
    opened_count = 0
    for column in SEALED_COLUMNS:
        sealed = raw.column(column).to_pylist()
        values: list = [None] * len(sealed)
        todo = list(range(len(sealed)))
        if kept is not None and kept.num_rows:
            known = dict(zip(kept.column(f"{column}_sealed").to_pylist(), kept.column(column).to_pylist(),
                             strict=True))
            todo = []
            for i, value in enumerate(sealed):
                hit = known.get(value, _MISSING) if value else _MISSING
                if hit is _MISSING:
                    todo.append(i)
                else:
                    values[i] = hit
        if column in purposes:
            opened = crypto.decrypt_many([sealed[i] for i in todo], purposes[column])
            opened_count += sum(1 for i in todo if sealed[i])
        else:  # not sealed (an older schema): the value as stored
            opened = [sealed[i] for i in todo]
        for i, value in zip(todo, opened, strict=True):
            values[i] = value
        rows = rows.set_column(rows.column_names.index(column), column, pa.array(values, pa.string()))
    rows = rows.append_column("name_py", pa.array(names_pinyin(rows.column("name").to_pylist()), pa.string()))
    return rows, side, opened_count


_MISSING = object()


def _kept_values(copy: pa.Table | None, side: pa.Table | None, only: pa.Array | None = None) -> pa.Table | None:
    """sealed bytes → opened value of the kept persons (of `only`, when given), row by row of the copy and its side
    file: what `_open` need not open again."""
    if copy is None or side is None or copy.num_rows != side.num_rows:
        return None
    if not pc.all(pc.equal(copy.column("person_id"), side.column("person_id"))).as_py():
        return None
    if only is not None:
        mask = pc.is_in(copy.column("person_id"), value_set=only)
        copy, side = copy.filter(mask), side.filter(mask)
    cols = {}
    for column in SEALED_COLUMNS:
        cols[column] = copy.column(column)
        cols[f"{column}_sealed"] = side.column(column)
    return pa.table(cols)


def _token(table: pa.Table | pa.RecordBatchReader | None) -> str:
    return ((table.schema.metadata or {}).get(b"copy", b"") if table is not None else b"").decode()


def build_full(kept: pa.Table | None = None) -> tuple[pa.Table, pa.Table, dict]:
    """The whole copy from the database (values of `kept` reused where their sealed bytes are the same)."""
    copy, side, opened = _open(_read_rows(None), kept)
    return copy, side, {"mode": "full", "read": copy.num_rows, "opened": opened}


def build_incremental(copy: pa.Table, side: pa.Table) -> tuple[pa.Table, pa.Table, dict] | None:
    """The copy brought up to date by re-reading only the persons whose stamp changed (None: too many changed, or
    the pair is unusable — build in full)."""
    if copy.num_rows != side.num_rows or _token(copy) != _token(side) or not _token(copy):
        return None
    if not pc.all(pc.equal(copy.column("person_id"), side.column("person_id"))).as_py():
        return None
    now = _stamps()
    joined = now.join(side.select(list(STAMP_TYPES)), "person_id", join_type="left outer", right_suffix="_kept")
    same = pc.and_(pc.fill_null(pc.equal(joined.column("stamp_at"), joined.column("stamp_at_kept")), False),
                   pc.fill_null(pc.equal(joined.column("stamp_v"), joined.column("stamp_v_kept")), False))
    changed = pc.filter(joined.column("person_id"), pc.invert(same)).to_pylist()
    deleted = pc.filter(side.column("person_id"), pc.invert(pc.is_in(side.column("person_id"),
                                                                      value_set=now.column("person_id"))))
    if len(changed) > max(FULL_SHARE * now.num_rows, FULL_MIN):
        return None
    gone = pa.concat_arrays([pa.array(changed, pa.int64()), deleted.combine_chunks()])
    keep = pc.invert(pc.is_in(copy.column("person_id"), value_set=gone))
    fresh, fresh_side, opened = _open(_read_rows(changed), _kept_values(copy, side, pa.array(changed, pa.int64())))
    base = copy.filter(keep).replace_schema_metadata(None)
    base_side = side.filter(keep).replace_schema_metadata(None)
    merged = pa.concat_tables([base, fresh.cast(base.schema)]).sort_by("person_id")
    merged_side = pa.concat_tables([base_side, fresh_side.cast(base_side.schema)]).sort_by("person_id")
    return merged, merged_side, {"mode": "incremental", "read": len(changed), "deleted": len(deleted),
                                 "opened": opened}


def refresh(fingerprint: str | None = None, *, table: bool = True) -> tuple[pa.Table | None, dict]:
    """The copy for the registry as it is now (`fingerprint`: linkage.registry_fingerprint, computed if not
    given): the kept copy when its fingerprint matches, else brought up to date (incrementally when a usable
    previous copy exists) and kept. Returns the table (None when `table` is false and the kept copy is current:
    it is not opened) and what was done (mode current | incremental | full)."""
    from fupin.exchange.linkage import registry_fingerprint

    t0, c0 = time.perf_counter(), time.process_time()
    fingerprint = fingerprint or registry_fingerprint()
    if not table and cache.registry_kept(NAME, fingerprint) and cache.registry_kept(SEALED, fingerprint):
        return None, {"mode": "current", "blocks": _blocks_ensured(fingerprint, None),
                      "households": _households_ensured(fingerprint)}
    copy = cache.registry_read(NAME, fingerprint)
    if copy is not None and _token(copy):
        copy = copy.replace_schema_metadata(None)
        info = {"mode": "current", "rows": copy.num_rows}
        if not table:
            info.update(blocks=_blocks_ensured(fingerprint, copy), households=_households_ensured(fingerprint))
        return copy, info
    previous, side = cache.registry_latest(NAME), cache.registry_latest(SEALED)
    built = build_incremental(previous, side) if previous is not None and side is not None else None
    if built is None:
        built = build_full(_kept_values(previous, side))
    copy, side, info = built
    token = uuid.uuid4().hex
    try:  # the side file first: a copy is only ever paired with the side file written with it
        cache.registry_write(SEALED, fingerprint, side.replace_schema_metadata({"copy": token}))
        cache.registry_write(NAME, fingerprint, copy.replace_schema_metadata({"copy": token}))
    except OSError:
        log.warning("the registry copy could not be written", exc_info=True)
    copy = copy.replace_schema_metadata(None)
    if not table:  # at import and nightly: the skew guard's registry side and the rules' households too, so the
        # comparison does not make them
        info.update(blocks=_blocks_ensured(fingerprint, copy), households=_households_ensured(fingerprint))
    info.update(rows=copy.num_rows, seconds=round(time.perf_counter() - t0, 3),
                cpu_seconds=round(time.process_time() - c0, 3))
    log.info("registry copy: %s", info)
    return copy, info


def batches(fingerprint: str, columns: list[str] | None = None) -> pa.RecordBatchReader:
    """The copy for the registry as `fingerprint` names it (these columns of it), a row group at a time (for a
    reader that scans it once: the rules' setup, `persons_into`): the kept copy when it is current, else the table
    `refresh` makes, as batches."""
    reader = cache.registry_batches(NAME, fingerprint, columns)
    if reader is not None and _token(reader):
        return reader
    table = refresh(fingerprint)[0]
    if columns is not None:
        table = table.select(columns)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def persons_into(con, table: str, fingerprint: str, columns: list[str]) -> int:
    """These columns of the copy for the registry as `fingerprint` names it (what `refresh` returns) made the table
    `table` of the DuckDB connection `con`: read from the kept copy a row group at a time when it is current (never
    a whole Arrow table beside DuckDB's: 473 MB at 10x), else brought up to date by `refresh` and handed over.
    Returns its rows."""
    reader = batches(fingerprint, columns)
    con.register("registry_copy_in", reader)
    try:
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM registry_copy_in')  # noqa: S608 - the caller's name
    finally:
        con.unregister("registry_copy_in")
        del reader
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]  # noqa: S608


def _default_rules() -> list[str]:
    from fupin.exchange.engine import LinkSettings

    return LinkSettings().blocking_rules


def _blocks_key(fingerprint: str, rules: list[str]) -> str:
    return f"{fingerprint}|{skew.blocks_spec(rules)}"


def blocks(fingerprint: str, persons: pa.Table, rules: list[str]) -> pa.Table:
    """The skew guard's registry side (`skew.registry_blocks`: persons per blocking key of each rule) for the
    registry as `fingerprint` names it and these rules: the kept table when there is one for both, else counted
    from `persons` (the copy of that registry) and kept. Keyed by the registry's fingerprint and the rules' spec,
    like the copy itself: a registry change or other rules never read a table made for another."""
    key = _blocks_key(fingerprint, rules)
    kept = cache.registry_read(BLOCKS, key)
    if skew.blocks_usable(kept, rules, persons.num_rows):
        return kept
    table = skew.registry_blocks(persons, rules)
    try:
        cache.registry_write(BLOCKS, key, table)
    except OSError:
        log.warning("the registry's block counts could not be kept", exc_info=True)
    return table


def blocks_into(con, table: str, fingerprint: str, persons: str, rules: list[str]) -> None:
    """`blocks` made the table `table` of the DuckDB connection `con`, whose table `persons` holds the registry's
    copy (`persons_into`): the kept counts read a row group at a time when there are usable ones, else counted
    there (`skew.registry_blocks`) and kept."""
    key = _blocks_key(fingerprint, rules)
    n_persons = con.execute(f'SELECT count(*) FROM "{persons}"').fetchall()[0][0]  # noqa: S608 - the caller's name
    reader = cache.registry_batches(BLOCKS, key)
    if reader is not None and skew.blocks_usable(reader, rules, n_persons):
        con.register("blocks_in", reader)
        try:
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM blocks_in')  # noqa: S608
        finally:
            con.unregister("blocks_in")
        return
    del reader
    counted = skew.registry_blocks(None, rules, con=con, persons_table=persons, into=table)
    try:
        cache.registry_write(BLOCKS, key, counted)
    except OSError:
        log.warning("the registry's block counts could not be kept", exc_info=True)


def _blocks_ensured(fingerprint: str, copy: pa.Table | None) -> str:
    """After the copy is current (import, nightly): the block counts of the default rules kept too. Returns
    current | counted."""
    rules = _default_rules()
    if cache.registry_kept(BLOCKS, _blocks_key(fingerprint, rules)):
        return "current"
    if copy is None:
        copy = cache.registry_read(NAME, fingerprint)
        if copy is None:
            return "no copy"
    blocks(fingerprint, copy, rules)
    return "counted"


def refresh_quietly(**_kw) -> dict:
    """`refresh` for after an import and the nightly step: a failure is logged, never raised (the copy is derived;
    the next comparison builds it)."""
    try:
        return refresh(table=False)[1]
    except Exception as exc:  # derived data: the comparison rebuilds it
        log.warning("the registry copy was not refreshed", exc_info=True)
        return {"mode": "failed", "error": str(exc)[:200]}



HOUSEHOLD_TYPES = {"household_id": pa.int64(), "household_code": pa.string(), "area_code": pa.string(),
                   "is_registered_poor": pa.bool_(), "poverty_status": pa.string(), "attribute": pa.string(),
                   "main_cause": pa.string(), "per_capita_income": pa.string(), "net_income": pa.string(),
                   "housing_area": pa.string(), "housing_structure": pa.string(),
                   "dilapidated_grade": pa.string(), "land_cultivated": pa.string()}


def _read_households() -> pa.Table:
    from fupin.registry.models import Household

    return fetch_arrow(
        f"""SELECT h.id AS household_id, coalesce(h.poor_code, '') AS household_code, h.area_code,
                h.is_registered_poor, h.poverty_status, h.attribute, h.main_cause,
                CAST(h.per_capita_net_income AS TEXT) AS per_capita_income,
                CAST(h.net_income AS TEXT) AS net_income, CAST(h.housing_area AS TEXT) AS housing_area,
                h.housing_structure, h.dilapidated_grade, CAST(h.land_cultivated AS TEXT) AS land_cultivated
            FROM "{Household._meta.db_table}" h""",  # noqa: S608 - a model's table name
        types=HOUSEHOLD_TYPES)


def households(fingerprint: str) -> pa.Table:
    """Every registry household with the columns the rules read (the comparison's `hh_all`), for the registry as
    `fingerprint` names it: the kept table (written at import and nightly, beside the persons' copy), else read
    from the database and kept. A registry change changes the fingerprint: a table kept for another is not read."""
    return cache.registry_read_or_build(HOUSEHOLDS, fingerprint, _read_households)


def _households_ensured(fingerprint: str) -> str:
    if cache.registry_kept(HOUSEHOLDS, fingerprint):
        return "current"
    households(fingerprint)
    return "read"
