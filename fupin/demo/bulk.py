"""Writing hundreds of thousands of rows fast: a plain multi-row insert (SQLite) or COPY (PostgreSQL).

`bulk_create` prepares every value of every row through the field's Python methods, which costs about 140 µs per
resident row here, three quarters of the demo's time at full scale. For the two big tables the seeder knows the
values' types, so it builds the database values itself: one converter per column, chosen once from the field's
type the way Django's own `get_db_prep_save` would convert it on that database. The rows go in through the same
connection and transaction as everything else; the test `test_bulk.py` reads them back through the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, models
from django.utils import timezone


def _identity(value: Any) -> Any:
    return value


class RowWriter:
    """Turns dicts keyed by attname (household_id, not household) into database rows of one model, and writes them."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.attnames = [f.attname for f in self.fields]
        sqlite = connection.vendor == "sqlite"
        now = timezone.now()
        self.converters: list[Callable[[Any], Any]] = []
        self.defaults: list[Any] = []
        for f in self.fields:
            convert = self._converter(f, sqlite=sqlite)
            self.converters.append(convert)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults.append(convert(now))  # one timestamp for the whole seeding
            elif f.primary_key:
                self.defaults.append(None)
            elif f.has_default() and callable(f.default) and f.default not in (list, dict):
                self.defaults.append(_PER_ROW)  # uuid4 and the like: a fresh value for each row
            else:
                self.defaults.append(convert(f.get_default()))
        # per row, only the values given are converted: a copy of the defaults is the starting row
        self.index = {a: i for i, a in enumerate(self.attnames)}
        self.template = [None if d is _PER_ROW else d for d in self.defaults]
        self.per_row = [(i, f) for i, (f, d) in enumerate(zip(self.fields, self.defaults, strict=True)) if d is _PER_ROW]
        self.convert_by_name = {a: (None if c is _identity else c)
                                for a, c in zip(self.attnames, self.converters, strict=True)}

    @staticmethod
    def _converter(field: models.Field, *, sqlite: bool) -> Callable[[Any], Any]:
        kind = field.get_internal_type()
        if kind == "JSONField":
            encoder = field.encoder
            return lambda v: None if v is None else json.dumps(v, cls=encoder)
        if kind == "UUIDField":
            return (lambda v: None if v is None else v.hex) if sqlite else _identity
        if kind == "DecimalField":
            return (lambda v: None if v is None else str(v)) if sqlite else _identity
        if kind == "DateField":
            return (lambda v: None if v is None else v.isoformat()) if sqlite else _identity
        if kind == "DateTimeField":
            return lambda v: None if v is None else connection.ops.adapt_datetimefield_value(v)
        if kind in ("BooleanField", "NullBooleanField"):
            return (lambda v: None if v is None else int(v)) if sqlite else _identity
        return _identity

    def row(self, values: dict[str, Any]) -> tuple:
        """The database row for `values`; absent columns take the field's default, an unknown key is an error."""
        out = self.template.copy()
        index, converters = self.index, self.convert_by_name
        try:
            for name, value in values.items():
                convert = converters[name]
                out[index[name]] = value if convert is None else convert(value)
        except KeyError as exc:
            raise KeyError(f"{self.model.__name__} has no column {exc.args[0]}") from None
        for i, field in self.per_row:
            if field.attname not in values:
                out[i] = self.converters[i](field.get_default())
        return tuple(out)

    def write(self, rows: Iterable[tuple]) -> int:
        rows = list(rows)
        if not rows:
            return 0
        table = connection.ops.quote_name(self.model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        connection.ensure_connection()
        raw = connection.connection
        if connection.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        elif connection.vendor == "sqlite":
            marks = ", ".join(["?"] * len(self.columns))
            cursor = raw.cursor()
            try:
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
            finally:
                cursor.close()
        else:
            raise NotImplementedError(f"fast insert not written for {connection.vendor}")
        return len(rows)


_PER_ROW = object()
