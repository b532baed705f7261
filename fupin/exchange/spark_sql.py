"""The Spark SQL dialect of the rule compiler and of the fact programme.

The compiler (`expressions.compile_sql`) and the fact programme (`facts.Program`, `services._evaluate`) write one
small subset of DuckDB SQL. Spark SQL runs most of it as it is; this module is the one place that turns that subset
into Spark SQL (through sqlglot's DuckDB reader and Spark writer), with a rewrite wherever the two engines would
otherwise answer differently:

- `date_diff('year', a, b)` counts year boundaries in DuckDB (`year(b) - year(a)`); Spark's `datediff(YEAR, ...)`
  counts whole years, so it is written `year(b) - year(a)`; `date_diff('day', a, b)` is `datediff(b, a)`;
- `x SIMILAR TO 'p'` (a whole-value match) is `x RLIKE '^(?:p)$'`;
- `json_object(k1, v1, k2, v2, ...)` is `to_json(map(k1, v1, k2, v2, ...))` (a null value kept, as DuckDB keeps
  it: Spark's `to_json` of a struct would leave it out);
- `list(DISTINCT x ORDER BY x)` is `array_sort(collect_set(x))`;
- `t.* EXCLUDE (c)` lists the columns of `t` but `c` (Spark has no EXCLUDE: the caller says what a table holds);
- `CREATE TABLE t AS q` becomes the query `q` and the name `t` (`Statement.create`): the engine computes it as a
  local checkpoint under a temporary view (`SparkEngine._table`), let go at its `Release`.

Anything outside the subset is refused by sqlglot's parser with an error, never run half-translated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

Columns = Callable[[str], list[str]]  # a table's column names, for `* EXCLUDE`


@dataclass
class Statement:
    """A translated statement: `create` names the table a CREATE TABLE ... AS makes (None for a query)."""

    sql: str
    create: str | None = None


def _unit(node) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "day").lower().strip("'")


def _rewrite(node: exp.Expression, columns: Columns | None) -> exp.Expression:
    if isinstance(node, exp.DateDiff):
        unit = _unit(node)
        start, end = node.expression, node.this  # sqlglot: DATE_DIFF(unit, start, end) → this=end, expression=start
        if unit == "year":
            return exp.Sub(this=exp.Year(this=end.copy()), expression=exp.Year(this=start.copy()))
        if unit == "day":
            return exp.Anonymous(this="datediff", expressions=[end.copy(), start.copy()])
        raise ValueError(f"date_diff unit {unit!r} has no Spark form here")
    if isinstance(node, exp.SimilarTo):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise ValueError("SIMILAR TO needs a literal pattern")
        return exp.RegexpLike(this=node.this.copy(), expression=exp.Literal.string(f"^(?:{pattern.this})$"))
    if isinstance(node, exp.JSONObject):
        pairs = [part for kv in node.expressions for part in (kv.this.copy(), kv.expression.copy())]
        return exp.Anonymous(this="to_json", expressions=[exp.Anonymous(this="map", expressions=pairs)])
    if isinstance(node, exp.ArrayAgg):
        inner = node.this
        if isinstance(inner, exp.Order):
            inner = inner.this
        if isinstance(inner, exp.Distinct):
            (inner,) = inner.expressions
            return exp.Anonymous(this="array_sort", expressions=[
                exp.Anonymous(this="collect_set", expressions=[inner.copy()])])
    return node


def _expand_excludes(tree: exp.Expression, columns: Columns | None) -> None:
    """`*` / `t.*` with EXCLUDE (c, ...): the table's columns but those, as plain column references."""
    for select in list(tree.find_all(exp.Select)):
        new = []
        changed = False
        for item in select.expressions:
            star = item if isinstance(item, exp.Star) else (
                item.this if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) else None)
            excluded = (star.args.get("except_") or star.args.get("except")) if star is not None else None
            if not excluded:
                new.append(item)
                continue
            if columns is None:
                raise ValueError("EXCLUDE needs the tables' columns")
            qualifier = item.table if isinstance(item, exp.Column) else ""
            table = _table_of(select, qualifier)
            drop = {e.name for e in excluded}
            for name in columns(table):
                if name not in drop:
                    new.append(exp.column(name, table=qualifier or None, quoted=True))
            changed = True
        if changed:
            select.set("expressions", new)


def _table_of(select: exp.Select, alias: str) -> str:
    tables = [t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]
    for t in tables:
        if not alias or t.alias_or_name == alias:
            return t.name
    raise ValueError(f"no table {alias!r} in the statement")


def translate(sql: str, columns: Columns | None = None) -> Statement:
    """One DuckDB statement of the subset → Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    create = None
    if isinstance(tree, exp.Create):
        create = tree.this.name
        tree = tree.expression
    _expand_excludes(tree, columns)
    tree = tree.transform(lambda n: _rewrite(n, columns))
    return Statement(tree.sql(dialect="spark"), create)


def expression(sql: str) -> str:
    """A compiled rule expression (a SQL fragment) → Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb").transform(lambda n: _rewrite(n, None))
    return tree.sql(dialect="spark")
