"""Fast inserts for roster imports: one prepared INSERT run with executemany (SQLite), COPY (PostgreSQL).

`bulk_create` prepares every value of every row through the field machinery (about 40 calls per row for a Person):
at 100,000 rows that is most of an import's time. Here each column gets one adapter chosen once from the field type
and the backend (the same `connection.ops.adapt_*` and `JSONField.get_db_prep_value` that Django would call), so an
import writes at executemany speed on SQLite and PostgreSQL. Rows are dicts by field attname; absent keys take the
field's default. Model `save()`, signals and validation do not run: callers validate first, as the importer does.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid as uuidlib
from collections.abc import Callable
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

from fupin.core.fields import BlindIndexField

CHUNK = 5000
REBUILD_MIN = 20_000


def uuid7() -> uuidlib.UUID:
    """A time-ordered UUID (RFC 9562 version 7): rows inserted together land next to each other in the unique
    index, instead of at random places as uuid4 values do (a large difference for SQLite at 100,000 rows)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return uuidlib.UUID(int=value)


def _adapter(f: models.Field, conn, now) -> Callable[[dict], Any] | None:
    """A function row -> column value, or None when the value goes to the driver as it is."""
    name = f.attname
    ops = conn.ops
    if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
        const = ops.adapt_datetimefield_value(now)
        return lambda r: const
    if isinstance(f, models.UUIDField):
        # one version-7 UUID per call, then consecutive values (the low 32 bits count: RFC 9562 §6.2 method 1)
        base = uuid7().int & ~0xFFFFFFFF
        counter = itertools.count()
        if conn.vendor == "sqlite":  # Django keeps UUIDs as 32 hex digits there
            return lambda r: r[name].hex if name in r else f"{base + next(counter):032x}"
        return lambda r: r[name] if name in r else uuidlib.UUID(int=base + next(counter))
    default = f.get_default()  # "" for text columns without a default, as Django would write
    if getattr(f, "encrypted", False):  # fupin/core/fields.py: sealed here as save() would
        return lambda r: f.get_db_prep_value(r.get(name, default), conn)
    if isinstance(f, BlindIndexField):
        return lambda r: f.index_of(r.get(f.source, ""))
    if isinstance(f, models.JSONField):
        memo: dict = {}

        def json_value(r):
            v = r.get(name, default)
            key = tuple(v) if isinstance(v, list) else None
            if key is None or key not in memo:
                adapted = f.get_db_prep_value(v, conn)
                if key is None:
                    return adapted
                memo[key] = adapted
            return memo[key]

        return json_value
    if isinstance(f, models.DateTimeField):
        if _identity(ops, "adapt_datetimefield_value"):
            return None
        return lambda r: ops.adapt_datetimefield_value(r[name])
    if isinstance(f, models.DateField):
        if _identity(ops, "adapt_datefield_value"):
            return None
        return lambda r: ops.adapt_datefield_value(r[name])
    if isinstance(f, models.DecimalField):
        if _identity(ops, "adapt_decimalfield_value"):  # the driver takes Decimal as it is
            return None
        md, dp = f.max_digits, f.decimal_places
        return lambda r: ops.adapt_decimalfield_value(r[name], md, dp)
    return None


def _identity(ops, method: str) -> bool:
    """The backend hands these values to the driver unchanged (so the row's value can go as it is)."""
    import datetime as dt

    from django.db.backends.base.operations import BaseDatabaseOperations

    if method == "adapt_decimalfield_value":
        return getattr(type(ops), method) is getattr(BaseDatabaseOperations, method)
    probe = dt.datetime(2016, 1, 2, tzinfo=dt.UTC) if method == "adapt_datetimefield_value" else dt.date(2016, 1, 2)
    try:
        return getattr(ops, method)(probe) is probe
    except (TypeError, ValueError):
        return False


def insert_rows(model: type[models.Model], rows: list[dict], *, chunk: int = CHUNK) -> int:
    """INSERT `rows` (dicts keyed by field attname) into `model`'s table; return the number written."""
    if not rows:
        return 0
    conn = connections[router.db_for_write(model)]
    now = timezone.now()
    defaults: dict[str, Any] = {}
    plain: list[str] = []
    special: list[Callable[[dict], Any]] = []
    columns: list[str] = []
    special_columns: list[str] = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            defaults[f.attname] = conn.ops.adapt_datetimefield_value(now)  # the same for every row
            plain.append(f.attname)
            columns.append(f.column)
            continue
        if not isinstance(f, models.UUIDField):
            defaults[f.attname] = f.get_default()  # "" for text columns without a default, as Django would write
        adapter = _adapter(f, conn, now)
        if adapter is None:
            plain.append(f.attname)
            columns.append(f.column)
        else:
            special.append(adapter)
            special_columns.append(f.column)
    columns += special_columns
    take = itemgetter(*plain)
    qn = conn.ops.quote_name
    # table and column names come from the model, values are parameters
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    if conn.vendor == "postgresql":
        # COPY: one stream instead of one INSERT per row (an order of magnitude faster on PostgreSQL)
        copy_sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
        with conn.cursor() as cur, _indexes_set_aside(conn, cur, model._meta.db_table, len(rows)), \
                cur.cursor.copy(copy_sql) as copy:
            for r in rows:
                full = {**defaults, **r}
                copy.write_row((*take(full), *[a(full) for a in special]))
        return len(rows)
    with conn.cursor() as cur, _indexes_set_aside(conn, cur, model._meta.db_table, len(rows)):
        for i in range(0, len(rows), chunk):
            batch = []
            for r in rows[i:i + chunk]:
                full = {**defaults, **r}
                batch.append((*take(full), *[a(full) for a in special]))
            cur.executemany(sql, batch)
    return len(rows)


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
