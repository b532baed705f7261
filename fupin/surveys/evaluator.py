"""A safe Python evaluator for the rule expression language of `fupin.eligibility.expressions`.

Form conditions (visible-if, required-if), validation rules and the data-quality rules are written in the same small
language as the eligibility rules; this module does not parse anything itself. It takes the syntax tree of
`fupin.eligibility.expressions.parse` and turns it into nested Python closures over a dict of values, so stored text
is never given to `eval`/`exec` and a rule can only read the fields it names and call the listed functions.

The semantics follow the SQL compiler: a missing value is null; `and`/`or`/`not` treat null as false; comparing a
number with a text converts the text to a number; texts are compared trimmed; division by zero gives null; a list
value (a multiple choice, a member's health conditions) works with `contains(list, "x")`, `length(list)` and
`is null` (an empty list is null).

>>> evaluate('年收入 >= 3000 and contains(健康状况, "残疾")', {"年收入": 3200, "健康状况": ["4", "残疾"]})
True
>>> evaluate("__import__('os')", {})
Traceback (most recent call last):
...
fupin.eligibility.expressions.ExpressionError: 名称「__import__」含有不允许的「__」(第1个字符处)
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from fupin.eligibility.expressions import ExpressionError, fields_used, parse

Fn = Callable[[dict], Any]
FALSY_TEXT = {"", "0", "false", "否"}


def _today() -> dt.date:
    return dt.date.today()  # noqa: DTZ011 - a calendar date for age() and days_since()


def to_number(v: Any) -> float | None:
    if v is None or isinstance(v, (list, dict)):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, Decimal)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", ""))
    except ValueError:
        return None


def to_date(v: Any) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        return None


def to_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def truthy(v: Any) -> bool:
    if v is True or v is False:
        return v
    if v is None:
        return False
    if isinstance(v, (int, float, Decimal)):
        return v != 0
    if isinstance(v, (list, dict)):
        return bool(v)
    return str(v).strip().lower() not in FALSY_TEXT


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, (list, dict)) and not v)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any]:
    if _is_num(a) or _is_num(b):
        return to_number(a), to_number(b)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        return to_date(a), to_date(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return truthy(a) if a is not None else None, truthy(b) if b is not None else None
    if isinstance(a, str) and isinstance(b, str):
        return a.strip(), b.strip()
    return a, b


def _compare(op: str, a: Any, b: Any) -> bool | None:
    a, b = _coerce_pair(a, b)
    if a is None or b is None:
        return None
    try:
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        return None
    raise ExpressionError(_("Unknown comparison “%(op)s”") % {"op": op})


_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}


def _compare_with_literal(op: str, a: Fn, literal: Any) -> Fn:
    """`field > 16`, `status == "1"`: the common case, with a fast path for a value of the literal's own type
    (data-quality runs compare hundreds of thousands of rows)."""
    fn = _OPS[op]
    if isinstance(literal, str):
        lit = literal.strip()

        def cmp_text(v):
            x = a(v)
            if x.__class__ is str:
                return fn(x.strip(), lit)
            return _compare(op, x, literal)

        return cmp_text

    def cmp_number(v):
        x = a(v)
        if x.__class__ is int or x.__class__ is float:
            return fn(x, literal)
        return _compare(op, x, literal)

    return cmp_number


def _arith(op: str, a: Any, b: Any) -> float | None:
    a, b = to_number(a), to_number(b)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    return a / b if op == "/" else a % b


def _age(v: Any, today: dt.date) -> float | None:
    d = to_date(v)
    if d is None:
        return None
    return float(today.year - d.year - ((today.month, today.day) < (d.month, d.day)))


def _contains(hay: Any, needle: Any) -> bool:
    if hay is None or needle is None:
        return False
    if isinstance(hay, (list, tuple, set)):
        n = to_text(needle)
        return any(to_text(x) == n for x in hay)
    return (to_text(needle) or "") in (to_text(hay) or "")


def _round(x: Any, digits: Any = 0) -> float | None:
    x, d = to_number(x), to_number(digits)
    if x is None or d is None:
        return None
    return round(x, int(d))


def _length(x: Any) -> float | None:
    if x is None:
        return None
    if isinstance(x, (list, tuple, dict)):
        return float(len(x))
    return float(len(to_text(x) or ""))


def _agg(fn, values: Iterable[Any]) -> float | None:
    nums = [n for n in (to_number(v) for v in values) if n is not None]
    return fn(nums) if nums else None


class _Builder:
    def __init__(self, names: set[str] | None, today: dt.date):
        self.names = names
        self.today = today

    def build(self, node) -> Fn:
        kind = node[0]
        if kind in ("num", "str", "bool"):
            value = node[1]
            return lambda v: value
        if kind == "null":
            return lambda v: None
        if kind == "field":
            name = node[1]
            if self.names is not None and name not in self.names:
                raise ExpressionError(_("Unknown field “%(name)s”") % {"name": name})
            return lambda v: v.get(name)
        if kind == "not":
            f = self.build(node[1])
            return lambda v: not truthy(f(v))
        if kind == "and":
            a, b = self.build(node[1]), self.build(node[2])
            return lambda v: truthy(a(v)) and truthy(b(v))
        if kind == "or":
            a, b = self.build(node[1]), self.build(node[2])
            return lambda v: truthy(a(v)) or truthy(b(v))
        if kind == "cmp":
            op, a, b = node[1], self.build(node[2]), self.build(node[3])
            if node[3][0] in ("num", "str"):
                return _compare_with_literal(op, a, node[3][1])
            return lambda v: _compare(op, a(v), b(v))
        if kind == "in":
            left = self.build(node[1])
            items = [self.build(x) for x in node[2][1]]
            negated = node[3]

            def _in(v):
                x = left(v)
                if x is None:
                    return None
                found = any(_compare("==", x, item(v)) for item in items)
                return not found if negated else found

            return _in
        if kind == "isnull":
            f, negated = self.build(node[1]), node[2]
            return lambda v: (not is_blank(f(v))) if negated else is_blank(f(v))
        if kind == "arith":
            op, a, b = node[1], self.build(node[2]), self.build(node[3])
            return lambda v: _arith(op, a(v), b(v))
        if kind == "neg":
            f = self.build(node[1])
            return lambda v: None if (n := to_number(f(v))) is None else -n
        if kind == "list":
            raise ExpressionError(_("A list can only follow “in”"))
        if kind == "call":
            return self.call(node[1], [self.build(a) for a in node[2]])
        raise ExpressionError(_("The expression cannot be evaluated"))

    def call(self, name: str, args: list[Fn]) -> Fn:
        today = self.today
        a0 = args[0]
        if name == "contains":
            return lambda v: _contains(a0(v), args[1](v))
        if name == "contains_any":
            rest = args[1:]
            return lambda v: any(_contains(a0(v), r(v)) for r in rest)
        if name == "startswith":
            return lambda v: (to_text(a0(v)) or "").startswith(to_text(args[1](v)) or "\0")
        if name == "endswith":
            return lambda v: (to_text(a0(v)) or "").endswith(to_text(args[1](v)) or "\0")
        if name == "is_blank":
            return lambda v: is_blank(a0(v))
        if name == "number":
            return lambda v: to_number(a0(v))
        if name == "date":
            return lambda v: to_date(a0(v))
        if name == "year":
            return lambda v: None if (d := to_date(a0(v))) is None else float(d.year)
        if name == "age":
            return lambda v: _age(a0(v), today)
        if name == "days_since":
            return lambda v: None if (d := to_date(a0(v))) is None else float((today - d).days)
        if name == "if":
            c, a, b = args
            return lambda v: a(v) if truthy(c(v)) else b(v)
        if name == "coalesce":
            return lambda v: next((x for x in (f(v) for f in args) if not is_blank(x)), None)
        if name == "min":
            return lambda v: _agg(min, (f(v) for f in args))
        if name == "max":
            return lambda v: _agg(max, (f(v) for f in args))
        if name == "abs":
            return lambda v: None if (n := to_number(a0(v))) is None else abs(n)
        if name == "round":
            return lambda v: _round(a0(v), args[1](v) if len(args) > 1 else 0)
        if name == "length":
            return lambda v: _length(a0(v))
        raise ExpressionError(_("Calling “%(name)s” is not allowed") % {"name": name})


def compile_expr(text_or_tree, *, names: Iterable[str] | None = None, today: dt.date | None = None) -> Fn:
    """A function values -> result for an expression. With `names`, a field not among them is refused.

    Anything that is not an expression of the language is refused with ExpressionError (Chinese, with position).
    """
    tree = parse(text_or_tree) if isinstance(text_or_tree, str) else text_or_tree
    return _Builder(set(names) if names is not None else None, today or _today()).build(tree)


def compile_condition(text: str, *, names: Iterable[str] | None = None, today: dt.date | None = None
                      ) -> Callable[[dict], bool]:
    """Like compile_expr, but the result is a bool (null counts as false)."""
    fn = compile_expr(text, names=names, today=today)
    return lambda values: truthy(fn(values))


def evaluate(text: str, values: dict, *, today: dt.date | None = None) -> Any:
    """Evaluate an expression once (pages and tests; engines compile once and call many times)."""
    return compile_expr(text, today=today)(values)


def check(text: str, names: Iterable[str]) -> None:
    """Raise ExpressionError unless `text` is an expression over `names`."""
    compile_expr(text, names=names)


__all__ = ["ExpressionError", "check", "compile_condition", "compile_expr", "evaluate", "fields_used", "is_blank",
           "truthy"]
