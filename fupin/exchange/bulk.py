"""Moving hundreds of thousands of rows between the database and the engines without the ORM.

`bulk_insert` uses COPY on PostgreSQL and `executemany` on SQLite; `fetch_arrow` reads a query into an Arrow table
(column by column) that DuckDB or Polars read without copying. Both run on Django's connection, so they take part
in the surrounding transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

import pyarrow as pa
from django.db import connection


def _sqlite_value(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def bulk_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, json_columns: Sequence[str] = ()
                ) -> int:
    """Insert rows (tuples in `columns` order) into `table`; dict/list values of `json_columns` are serialised."""
    json_idx = [columns.index(c) for c in json_columns]
    n = 0
    if connection.vendor == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cur:
            raw = cur.cursor
            with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    if json_idx:
                        row = list(row)
                        for i in json_idx:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                    copy.write_row(row)
                    n += 1
        return n
    convert = [i for i, c in enumerate(columns) if c in json_columns or c.endswith(("_date", "_at"))]
    placeholders = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})'  # noqa: S608 - names are ours
    connection.ensure_connection()
    raw_cur = connection.connection.cursor()
    chunk: list = []
    for row in rows:
        if convert:
            row = list(row)
            for i in convert:
                row[i] = _sqlite_value(row[i])
        chunk.append(row)
        if len(chunk) >= 20000:
            raw_cur.executemany(sql, chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        raw_cur.executemany(sql, chunk)
        n += len(chunk)
    raw_cur.close()
    return n


def fetch_arrow(sql: str, params: Sequence = (), *, types: dict[str, pa.DataType] | None = None,
                chunk: int = 100_000) -> pa.Table:
    """Run a query and return its rows as an Arrow table; `types` fixes column types (else inferred).

    Rows are converted a chunk at a time, so the Python objects of only one chunk are alive at once.
    """
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


def delete_where(table: str, column: str, values: Sequence) -> int:
    """DELETE FROM table WHERE column IN (values), in chunks."""
    total = 0
    values = list(values)
    with connection.cursor() as cur:
        for i in range(0, len(values), 5000):
            part = values[i:i + 5000]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(f'DELETE FROM "{table}" WHERE "{column}" IN ({marks})', part)  # noqa: S608
            total += cur.rowcount
    return total
