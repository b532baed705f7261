"""Moving many rows in and out of the database without the ORM: the platform's one bulk writer and bulk reader.

`bulk_create` prepares every value of every row through the field machinery (about 40 calls per row for a Person,
140 µs per resident row in the demo): at 100,000 rows that is most of an import's, a seeding's or a county
recompute's time. `BulkWriter` chooses one converter per column once, from the field's type and the backend (the
same conversions Django's `get_db_prep_save` makes: UUIDs as 32 hex digits and dates as ISO text on SQLite, JSON as
text), and writes with COPY on PostgreSQL and a chunked `executemany` on SQLite, on Django's connection and inside
the caller's transaction.

What every row of one write shares is the batch stamp: `auto_now`/`auto_now_add` columns take one timestamp, other
defaults are taken once, and `stamp=` adds constants of the caller's (a batch id, a run id). The one exception is a
UUID column left out of a row (or None in it): each row gets its own version-7 UUID (`uuid7`), the platform's one scheme for
UUIDs that are made in bulk. Model `save()`, signals and validation do not run: callers validate first.

`fetch_arrow` is the other direction: a query's rows as an Arrow table, column by column, for DuckDB or Polars.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, models, router
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from fupin.core.fields import BlindIndexField

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK = 10_000
REBUILD_MIN = 20_000


def uuid7() -> uuidlib.UUID:
    """A time-ordered UUID (RFC 9562 version 7): rows inserted together land next to each other in the unique
    index, instead of at random places as uuid4 values do (a large difference for SQLite at 100,000 rows)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return uuidlib.UUID(int=value)


def _uuids(*, as_hex: bool = False) -> Callable[[], uuidlib.UUID | str]:
    """Consecutive version-7 UUIDs from one random start (the low 32 bits count: RFC 9562 §6.2 method 1); `as_hex`:
    as the 32 hex digits SQLite stores, made at once rather than as UUID objects converted afterwards."""
    base = uuid7().int & ~0xFFFFFFFF
    counter = itertools.count(base)
    if as_hex:
        return lambda: format(next(counter), "032x")
    return lambda: uuidlib.UUID(int=next(counter))


def _converter(f: models.Field, conn) -> Callable[[Any], Any] | None:
    """Python value -> database value for this column on this backend; None when the driver takes it as it is."""
    ops, sqlite = conn.ops, conn.vendor == "sqlite"
    if getattr(f, "encrypted", False):  # fupin/core/fields.py: sealed here as save() would
        return lambda v: f.get_db_prep_value(v, conn)
    if isinstance(f, models.DecimalField):
        # what get_db_prep_save does: a float or text becomes the Decimal Django would write (SQLite would otherwise
        # keep text that is not a number as it is in a numeric column), a Decimal passes as it is
        to_python = f.to_python
        return lambda v: v if type(v) is Decimal else to_python(v)
    if isinstance(f, models.JSONField):
        encoder = f.encoder
        return lambda v: None if v is None else json.dumps(v, cls=encoder, ensure_ascii=False)
    if isinstance(f, models.UUIDField):
        if not sqlite:
            return None
        return lambda v: None if v is None else (v.hex if isinstance(v, uuidlib.UUID) else uuidlib.UUID(str(v)).hex)
    if isinstance(f, models.DateTimeField):  # before DateField: a DateTimeField is one
        return (lambda v: None if v is None else ops.adapt_datetimefield_value(v)) if sqlite else None
    if isinstance(f, models.DateField):
        return (lambda v: None if v is None else ops.adapt_datefield_value(v)) if sqlite else None
    if isinstance(f, models.TimeField):
        return (lambda v: None if v is None else ops.adapt_timefield_value(v)) if sqlite else None
    return None


class BulkWriter:
    """Writes rows of one model: dicts keyed by attname (household_id, not household), or sequences in `columns`
    order, both of Python values. The columns are every concrete field but an auto-increment key (with it when
    `with_pk`: rows that bring their own ids); `columns` puts some first, in the order of a sequence's values, the
    others following from the batch stamp (`only`: no others but the stamped ones, for a table of that shape).
    `encoded` names columns whose values come already in database form (JSON text, ISO dates); `table` writes the
    model's columns into another table of the same shape (a temporary one)."""

    def __init__(self, model: type[models.Model], *, columns: Sequence[str] | None = None, only: bool = False,
                 with_pk: bool = False, stamp: Mapping[str, Any] | None = None, encoded: Sequence[str] = (),
                 table: str | None = None, using: str | None = None):
        self.model = model
        self.conn = connections[using or router.db_for_write(model)]
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        every = [f for f in model._meta.concrete_fields if with_pk or not isinstance(f, AutoFieldMixin)]
        if columns is None:
            self.fields = every
        else:
            unknown = [c for c in columns if c not in by_name]
            if unknown:
                raise KeyError(f"{model.__name__} has no column {unknown[0]}")
            self.fields = [by_name[c] for c in columns]
            if not only:  # the other columns follow, from the batch stamp
                self.fields += [f for f in every if f.attname not in columns]
            elif stamp:
                self.fields += [by_name[c] for c in stamp if c in by_name and c not in columns]
        self.attnames = [f.attname for f in self.fields]
        self.index = {a: i for i, a in enumerate(self.attnames)}
        # a blind index (fupin/core/fields.py) is computed from its source column's plain value, never given
        self._blind = [(i, self.index[f.source], f) for i, f in enumerate(self.fields)
                       if isinstance(f, BlindIndexField) and f.source in self.index]
        self.table = table or model._meta.db_table
        # a sealed column (fupin/core/fields.py) is turned into its plain text row by row (as it is when `encoded`)
        # and sealed a chunk at a time, column by column (`_finish`: one key and cipher context per column, not one
        # lookup per value, the cost that made an import with encryption on 1.6 times as long)
        self._sealed = [(i, f) for i, f in enumerate(self.fields) if getattr(f, "encrypted", False)]
        self.converters = [None if f.attname in encoded else
                           (f.db_text if getattr(f, "encrypted", False) else _converter(f, self.conn))
                           for f in self.fields]
        self._convert = [(i, c) for i, c in enumerate(self.converters) if c is not None]
        # the batch stamp: what a row leaves out, every row of this writer shares (but its UUID)
        now = timezone.now()
        stamp = dict(stamp or {})
        self.template: list[Any] = []
        self.fresh_uuid: list[int] = []
        # fresh UUIDs in the database's form (the column's converter, if any, is the SQLite hex one)
        self._next_uuid = _uuids(as_hex=self.conn.vendor == "sqlite")
        for i, f in enumerate(self.fields):
            if f.attname in stamp:
                value = stamp.pop(f.attname)
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif isinstance(f, models.UUIDField) and f.has_default():
                value = None
                self.fresh_uuid.append(i)
            elif f.primary_key:
                value = None
            else:
                value = f.get_default()  # "" for text columns without a default, as Django would write
            # a default is a Python value, also in an `encoded` column; a sealed column's is kept as plain text,
            # sealed with the chunk's values (each row its own nonce)
            convert = f.db_text if getattr(f, "encrypted", False) else _converter(f, self.conn)
            self.template.append(value if convert is None or value is None else convert(value))
        if stamp:
            raise KeyError(f"{model.__name__} has no column {next(iter(stamp))}")

    def takes_rows_as_they_are(self) -> bool:
        """True when a sequence of every column's value, in order, is already the database row (nothing to convert,
        seal, stamp, index or number): such rows can go to `write_prepared` without a per-row Python step."""
        return not (self._convert or self._sealed or self._blind or self.fresh_uuid)

    def row(self, values: Mapping[str, Any]) -> tuple:
        """The database row for a dict; absent columns take the batch stamp, an unknown key is an error."""
        return self._finish([self._row(values)])[0]

    def prepare(self, values: Sequence[Any]) -> tuple:
        """The database row for a sequence of Python values in `columns` order (the stamped columns may follow)."""
        return self._finish([self._prepare(values)])[0]

    def _row(self, values: Mapping[str, Any]) -> list:
        """A dict's row, converted but for the sealing and the blind indexes: a blind index's slot holds its
        source's plain value until `_finish`."""
        out = self.template.copy()
        index, converters = self.index, self.converters
        try:
            for name, value in values.items():
                i = index[name]
                convert = converters[i]
                out[i] = value if convert is None or value is None else convert(value)
        except KeyError as exc:
            raise KeyError(f"{self.model.__name__} has no column {exc.args[0]}") from None
        for i, src, _f in self._blind:
            out[i] = values.get(self.attnames[src], "")
        return out

    def _prepare(self, values: Sequence[Any]) -> list:
        n = len(values)
        out = list(values) if n == len(self.template) else [*values, *self.template[n:]]
        for i, src, _f in self._blind:
            out[i] = values[src] if src < n else ""
        for i, convert in self._convert:
            if i < n and out[i] is not None:
                out[i] = convert(out[i])
        return out

    def _finish(self, rows: list[list]) -> list[tuple]:
        """The chunk's blind indexes and sealed columns, a column at a time, and its fresh UUIDs."""
        for i, _src, f in self._blind:
            for out, index in zip(rows, f.index_many([out[i] for out in rows]), strict=True):
                out[i] = index
        for i, f in self._sealed:
            for out, sealed in zip(rows, f.seal_many([out[i] for out in rows]), strict=True):
                out[i] = sealed
        if self.fresh_uuid:
            for out in rows:
                self._fill_uuids(out)
        return [tuple(out) for out in rows]

    def _fill_uuids(self, out: list) -> None:
        for i in self.fresh_uuid:
            if out[i] is None:
                out[i] = self._next_uuid()

    def write(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]], *, set_indexes_aside: bool = False,
              expected_rows: int | None = None) -> int:
        """Convert and write rows (dicts or sequences of Python values); return the number written.
        `set_indexes_aside`: a first load of at least REBUILD_MIN rows rebuilds the non-unique indexes afterwards
        (`expected_rows`: how many rows an iterator brings, so it need not be held in memory to be counted)."""
        prepared = self._prepared(rows)
        if set_indexes_aside and expected_rows is None:
            prepared = list(prepared)
        return self.write_prepared(prepared, set_indexes_aside=set_indexes_aside, expected_rows=expected_rows)

    def _prepared(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]):
        """The database rows, a chunk of CHUNK at a time (sealing and indexing column by column per chunk)."""
        row, prepare = self._row, self._prepare
        it = iter(rows)
        while chunk := list(itertools.islice(it, CHUNK)):
            yield from self._finish([row(r) if isinstance(r, Mapping) else prepare(r) for r in chunk])

    def write_prepared(self, rows: Iterable[tuple], *, set_indexes_aside: bool = False,
                       expected_rows: int | None = None) -> int:
        """Write rows already in database form (from `row` or `prepare`); return the number written."""
        conn = self.conn
        qn = conn.ops.quote_name
        table = qn(self.table)
        cols = ", ".join(qn(f.column) for f in self.fields)
        if not set_indexes_aside:
            incoming = 0
        elif expected_rows is not None:
            incoming = expected_rows
        else:
            incoming = len(rows) if isinstance(rows, Sequence) else 0
        n = 0
        with conn.cursor() as cur, _indexes_set_aside(conn, cur, self.table, incoming):
            if conn.vendor == "postgresql":
                # COPY: one stream instead of one INSERT per row (an order of magnitude faster on PostgreSQL)
                with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
                        n += 1
                return n
            # table and column names come from the model, values are parameters
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(self.fields))})"  # noqa: S608
            it = iter(rows)
            while chunk := list(itertools.islice(it, CHUNK)):
                cur.executemany(sql, chunk)
                n += len(chunk)
        return n


def insert_rows(model: type[models.Model], rows: Iterable[Mapping[str, Any]], *,
                stamp: Mapping[str, Any] | None = None, set_indexes_aside: bool = True) -> int:
    """INSERT `rows` (dicts keyed by field attname) into `model`'s table; return the number written."""
    return BulkWriter(model, stamp=stamp).write(rows, set_indexes_aside=set_indexes_aside)


@contextmanager
def _indexes_set_aside(conn, cur, table: str, incoming: int):
    """A load of at least REBUILD_MIN rows into a table that holds fewer rows than that drops the table's
    non-unique indexes and creates them again afterwards, in the same transaction: building an index from the whole
    column at once is cheaper than inserting tens of thousands of random keys one by one. Unique indexes stay (they
    guard the data). On PostgreSQL the dropped indexes lock the table until the import commits, which is why this
    is kept for first loads into a (nearly) empty table."""
    if incoming < REBUILD_MIN or not conn.in_atomic_block or conn.vendor not in ("sqlite", "postgresql"):
        yield
        return
    qn = conn.ops.quote_name
    cur.execute(f"SELECT COUNT(*) FROM {qn(table)}")  # noqa: S608 - a model's table name
    if cur.fetchone()[0] > incoming:
        yield
        return
    if conn.vendor == "sqlite":
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table])
    else:
        cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", [table])
    indexes = [(name, sql) for name, sql in cur.fetchall() if " UNIQUE " not in f" {sql.upper()} "]
    for name, _sql in indexes:
        cur.execute(f"DROP INDEX {qn(name)}")
    try:
        yield
    finally:
        if conn.vendor == "postgresql":  # the foreign keys are checked at commit; CREATE INDEX wants that done first
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, sql in indexes:
            cur.execute(sql)
        if conn.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector held off while a bulk step builds many objects that stay alive to its end
    (rows on their way to the database, model instances, evidence): each collection would walk them all and free
    nothing (at 1x, 0.4 s of the 1.3 s of CPU planning 8,710 findings). Memory is freed as ever by reference
    counting; cyclic garbage waits for the next collection after the step. Steps that hold DuckDB or Splink objects
    (which may hold memory in cycles) should not run inside. Nests; re-enables only what it disabled."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def foreign_keys_checked_in_bulk(model: type[models.Model]):
    """Around a write transaction (not inside one): on SQLite, the transaction runs without SQLite's per-row
    foreign-key lookups, and its writer checks what it wrote at once with `check_references`. SQLite looks every
    inserted row's parents up one by one (at 235,645 links to persons and records, about 1.2 s of CPU, more than
    the insert itself); one scan of each parent's keys costs a fraction of that. Yields whether the lookups are
    off: not on PostgreSQL (its checks stay as they are), nor inside an outer transaction, where SQLite cannot
    change the setting (tests): the rows are then checked as usual, row by row."""
    conn = connections[router.db_for_write(model)]
    off = conn.vendor == "sqlite" and not conn.in_atomic_block and conn.disable_constraint_checking()
    try:
        yield off
    finally:
        if off:
            conn.enable_constraint_checking()


@contextmanager
def page_cache(model: type[models.Model], mb: int):
    """On SQLite, the connection's page cache raised to `mb` MB while a large write (or its reads) runs, and set
    back afterwards (SQLite then frees the pages beyond the old size). Its own default (2 MB) is smaller than what
    a write of a county's findings and assessments keeps touching: the unique index of 87,000 random keys, the
    table each index set aside is built again from, the sorter of 1.1 million assessments' area codes (whose
    memory is the cache's size). Each page that fell out of the cache is read again, a cost that grows faster than
    the rows. The cache holds only the pages read or written (`mb` is a ceiling, not an allocation). Not on
    PostgreSQL (its buffers are the server's)."""
    conn = connections[router.db_for_write(model)]
    if conn.vendor != "sqlite":
        yield
        return
    with conn.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = int(cur.fetchone()[0])
        cur.execute(f"PRAGMA cache_size = {-int(mb) * 1024}")  # negative: KiB
    try:
        yield
    finally:
        if conn.connection is not None:  # (a connection closed meanwhile opens with the default again)
            with conn.cursor() as cur:
                cur.execute(f"PRAGMA cache_size = {before}")


def foreign_keys_enforced(model: type[models.Model]) -> bool:
    """Does the database check each written row's foreign keys itself (see `foreign_keys_checked_in_bulk`)?"""
    conn = connections[router.db_for_write(model)]
    if conn.vendor != "sqlite":
        return True
    with conn.cursor() as cur:
        cur.execute("PRAGMA foreign_keys")
        return bool(cur.fetchone()[0])


def check_references(model: type[models.Model], where: str, params: Sequence = (), *,
                     parents_where: Mapping[str, tuple[str, Sequence]] | None = None, few: bool = False,
                     same: Mapping[str, str] | None = None) -> None:
    """Raise IntegrityError when a row of `model` selected by `where` (SQL over its columns) has a foreign key
    whose parent row does not exist: the check SQLite makes row by row, made for the rows at once. `parents_where`:
    {column: (SQL over the parent's columns, params)} narrows a parent's scan to where the rows' parents must be
    (the records of the snapshots written, not every record). `few`: a few hundred rows, whose parents are looked
    up one by one (cheaper then than reading every parent's key).

    Otherwise the parent's keys are read once, in one scan (of its smallest index), into a temporary B-tree ("+ 0"
    on an integer key keeps SQLite from looking each row's parent up in the parent's own table instead; a text or
    uuid key is compared as it is), and the rows' keys are sorted before they are looked up in it: one after
    another they then touch neighbouring pages, which stay in SQLite's small page cache (2 MB). Unsorted, each
    lookup read a page of a B-tree far larger than the cache at 10x (3.9 million persons' keys): a check that grew
    17 times from 1x (docs/performance.md, hpeak).

    `same`: {foreign key: column}, a parent that must also hold the row's value in that column of its own (a link's
    record is a record of the link's snapshot), where the parent has an index on that column alone: each row's
    parent is then looked up in that index (its entries are the column's value and the parent's key), with no
    parent's key read beforehand and no row sorted. At 10x the links' records: 4 million records' keys read into
    a temporary B-tree and 2.3 million links sorted, 1.8 CPU s, 12 times the 1x check (hwrite4)."""
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    table = qn(model._meta.db_table)
    parents_where = parents_where or {}
    same = same or {}
    with conn.cursor() as cur:
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.ForeignKey):
                continue
            parent = f.related_model
            target = qn(f.target_field.column)
            column = qn(f.column)
            if f.attname in same:
                _check_in_parent_index(cur, conn, model, f, same[f.attname], where, params)
                continue
            narrow, narrow_params = parents_where.get(f.attname, ("", ()))
            key = f"{target} + 0" if not few and isinstance(f.target_field, models.IntegerField) else target
            keys = f"SELECT {key} FROM {qn(parent._meta.db_table)}{' WHERE ' + narrow if narrow else ''}"  # noqa: S608
            rows = f"{table} WHERE ({where}) AND {column} IS NOT NULL"
            if few:
                sql = f"SELECT count(*) FROM {rows} AND {column} NOT IN ({keys})"  # noqa: S608
            else:
                sql = (f"SELECT count(*) FROM (SELECT {column} AS k FROM {rows} ORDER BY 1) rows_ "  # noqa: S608
                       f"WHERE k NOT IN ({keys})")
            cur.execute(sql, [*params, *narrow_params])
            missing = cur.fetchone()[0]
            if missing:
                raise IntegrityError(f"{model.__name__}.{f.attname}: {missing} rows refer to a missing "
                                     f"{parent.__name__}")


def _check_in_parent_index(cur, conn, model: type[models.Model], f: models.ForeignKey, shared: str, where: str,
                           params: Sequence) -> None:
    """`check_references` for a foreign key whose parent must hold the row's value of `shared` too: one lookup per
    row in the parent's index on `shared` (on SQLite named: its planner would otherwise look the parent's key up
    in the parent's own table, reading its whole rows)."""
    qn = conn.ops.quote_name
    parent = f.related_model
    parent_table = parent._meta.db_table
    shared_col = model._meta.get_field(shared).column
    parent_col = parent._meta.get_field(shared).column
    indexed = ""
    if conn.vendor == "sqlite":
        cur.execute("SELECT il.name FROM pragma_index_list(%s) il WHERE (SELECT count(*) FROM "
                    "pragma_index_info(il.name)) = 1 AND (SELECT ii.name FROM pragma_index_info(il.name) ii) = %s",
                    [parent_table, parent_col])
        found = cur.fetchone()
        if found is None:
            raise ValueError(f"{parent.__name__} has no index on {parent_col} alone")
        indexed = f" INDEXED BY {qn(found[0])}"
    column, table = qn(f.column), qn(model._meta.db_table)
    # (the rows' table keeps its name: `where` may name it)
    sql = (f"SELECT count(*) FROM {table} WHERE ({where}) AND {table}.{column} IS NOT NULL "  # noqa: S608
           f"AND NOT EXISTS (SELECT 1 FROM {qn(parent_table)} p_{indexed} WHERE p_.{qn(parent_col)} = "
           f"{table}.{qn(shared_col)} AND p_.{qn(f.target_field.column)} = {table}.{column})")
    cur.execute(sql, list(params))
    missing = cur.fetchone()[0]
    if missing:
        raise IntegrityError(f"{model.__name__}.{f.attname}: {missing} rows refer to a missing {parent.__name__}")


def delete_where(model: type[models.Model], column: str, values: Sequence) -> int:
    """DELETE FROM the model's table WHERE column IN (values), in chunks, without loading the rows."""
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    total = 0
    values = list(values)
    with conn.cursor() as cur:
        for i in range(0, len(values), 5000):
            part = values[i:i + 5000]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(column)} IN ({marks})", part)  # noqa: S608
            total += cur.rowcount
    return total


def update_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                encoded: Sequence[str] = ()) -> int:
    """UPDATE the model's rows by primary key: each row is (pk, value of columns[0], …) as Python values (attnames),
    converted for this backend as the writer does: sealed when the column is encrypted, and a sealed column's blind
    indexes (fupin/core/fields.py) computed from its plain value and written with it, as an insert does. One prepared
    statement run for every row (executemany: pipelined by psycopg), not Django's bulk_update, whose CASE WHEN over
    a batch grows with the batch's square on PostgreSQL. `encoded` names columns whose values come already in
    database form (JSON text), as for BulkWriter. Returns the number of rows given."""
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    fields = [model._meta.get_field(c) for c in columns]
    attnames = [f.attname for f in fields]
    blind = [(f, attnames.index(f.source)) for f in model._meta.concrete_fields
             if isinstance(f, BlindIndexField) and f.source in attnames and f.attname not in attnames]
    # sealed columns as plain text row by row, then sealed (and indexed) a column at a time, as BulkWriter does
    # (an `encoded` sealed column brings its plain text: sealed, not converted)
    convert = [None if f.attname in encoded else f.db_text if getattr(f, "encrypted", False) else _converter(f, conn)
               for f in fields]
    sealed = [(k, f) for k, f in enumerate(fields) if getattr(f, "encrypted", False)]
    sets = ", ".join(f"{qn(f.column)} = %s" for f in [*fields, *(b for b, _i in blind)])
    sql = f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {qn(model._meta.pk.column)} = %s"  # noqa: S608
    params = []
    sources: list[list] = [[] for _b in blind]
    for row in rows:
        pk, values = row[0], row[1:]
        params.append([v if c is None or v is None else c(v) for c, v in zip(convert, values, strict=True)]
                      + [None] * len(blind) + [pk])
        for plain, (_f, i) in zip(sources, blind, strict=True):
            plain.append(values[i])
    for k, f in sealed:
        for p, value in zip(params, f.seal_many([p[k] for p in params]), strict=True):
            p[k] = value
    for j, ((f, _i), plain) in enumerate(zip(blind, sources, strict=True)):
        for p, index in zip(params, f.index_many(plain), strict=True):
            p[len(fields) + j] = index
    if params:
        with conn.cursor() as cur:
            cur.executemany(sql, params)
    return len(params)


def fetch_arrow(sql: str, params: Sequence = (), *, types: dict[str, pa.DataType] | None = None,
                chunk: int = 100_000) -> pa.Table:
    """Run a query and return its rows as an Arrow table; `types` fixes column types (else inferred).

    Rows are converted a chunk at a time, so the Python objects of only one chunk are alive at once.
    """
    import pyarrow as pa
    from django.db import connection

    types = types or {}
    batches: list[pa.RecordBatch] = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            columns = list(zip(*rows, strict=True))
            del rows
            arrays = [pa.array(list(values), type=types.get(name)) if types.get(name) is not None
                      else pa.array(list(values)) for name, values in zip(names, columns, strict=True)]
            del columns
            batches.append(pa.RecordBatch.from_arrays(arrays, names=names))
    if not batches:
        return pa.table({name: pa.array([], type=types.get(name, pa.null())) for name in names})
    if len(batches) > 1:
        # inferred types may differ between chunks (a column all NULL in one): unify on the first non-null
        schema = pa.unify_schemas([b.schema for b in batches], promote_options="permissive")
        batches = [b.cast(schema) if b.schema != schema else b for b in batches]
    return pa.Table.from_batches(batches)
