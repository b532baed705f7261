"""The rule expression language: a small, documented language parsed here and compiled to SQL.

Stored rule text is never run as Python. It is tokenised and parsed by this module into a tree of a few node kinds,
and only that tree is turned into SQL, with every field name resolved against the facts the engine has and every
string written as an escaped literal. Anything that is not an expression is refused with a message in the user's language (gettext).

Grammar (precedence from low to high)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                     | ["not"] "in" list | "is" ["not"] "null"]
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/" | "%") unary)*
    unary    := "-" unary | atom
    atom     := NUMBER | STRING | "true" | "false" | "null" | FIELD | FUNCTION "(" [expr ("," expr)*] ")"
              | "(" expr ")" | list
    list     := "[" [expr ("," expr)*] "]"

FIELD is a name of letters (Chinese included), digits and "_" (a name with other characters is written in
backticks: `学段/年级`); STRING is in "double", 'single', “Chinese” quotes or 「corner brackets」.
Functions (the only calls allowed): contains(text, s), contains_any(text, s1, s2, ...), startswith(text, s),
endswith(text, s), is_blank(x), number(x), date(x), year(x), age(x), days_since(x), if(cond, a, b),
coalesce(a, b, ...), min(a, b, ...), max(a, b, ...), abs(x), round(x[, digits]), length(text).

Examples::

    (contains(车辆类型, "轿车") or contains(车辆类型, "客车")) and 机动车状态 == "正常"
    contains_any(登记状态, "存续", "在业", "开业") and not contains(市场主体类型, "农民专业合作社")
    if(labour_count == 0, 25, if(labour_count * 2 < members, 12, 0))
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from fupin.core.i18n import join_list

KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
COMPARE = {"==", "!=", "<>", "<", "<=", ">", ">="}
FUNCTIONS: dict[str, tuple[int, int | None]] = {  # name: (min args, max args)
    "contains": (2, 2), "contains_any": (2, None), "startswith": (2, 2), "endswith": (2, 2), "is_blank": (1, 1),
    "number": (1, 1), "date": (1, 1), "year": (1, 1), "age": (1, 1), "days_since": (1, 1), "if": (3, 3),
    "coalesce": (2, None), "min": (2, None), "max": (2, None), "abs": (1, 1), "round": (1, 2), "length": (1, 1),
}
MAX_LENGTH = 2000
MAX_DEPTH = 40  # nested parentheses, function calls, "not" and "-" (each counts one level)
MAX_TREE_DEPTH = 60  # the parsed tree, so 1,000 terms "a + a + ..." are refused (every engine walks it recursively)
MAX_NODES = 400
MAX_PRODUCTS = 8  # "*" per expression: 12-digit numbers multiplied stay far inside a double and the databases' range
MAX_INTEGER_DIGITS = 12
MAX_DECIMAL_DIGITS = 6

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>"[^"\n]*"|'[^'\n]*'|“[^”\n]*”|「[^」\n]*」)
  | (?P<bq>`[^`\n]+`)
  | (?P<name>[A-Za-z_\u3400-\u9fff\uf900-\ufaff][A-Za-z0-9_\u3400-\u9fff\uf900-\ufaff]*)
  | (?P<op>==|!=|<>|<=|>=|<|>|\+|-|\*|/|%|\(|\)|\[|\]|,)
""", re.VERBOSE)


class ExpressionError(ValueError):
    """A rule text that is not an accepted expression; the message (in the active language) says where."""

    def __init__(self, message: str, position: int | None = None):
        where = _(" (at character %(n)s)") % {"n": position + 1} if position is not None else ""
        super().__init__(message + where)
        self.message = message + where


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, name, op, kw, end
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("The expression is too long (at most %(n)s characters)") % {"n": MAX_LENGTH})
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            ch = text[pos]
            if ch == "." and tokens and tokens[-1].kind in ("name", "op") and tokens[-1].value not in "([,":
                raise ExpressionError(_("Attribute access (“.”) is not allowed; write the field name itself"), pos)
            if ch == "=":
                raise ExpressionError(_("Assignment is not allowed; to compare for equality write “==”"), pos)
            raise ExpressionError(_("Unrecognised character “%(ch)s”") % {"ch": ch}, pos)
        kind = m.lastgroup
        value = m.group()
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "str":
            value = value[1:-1]
        elif kind == "bq":
            kind, value = "name", value[1:-1]
        elif kind == "name":
            if "__" in value:
                raise ExpressionError(_("The name “%(name)s” contains “__”, which is not allowed") % {"name": value}, pos)
            if value.lower() in KEYWORDS:
                kind, value = "kw", value.lower()
        if kind == "num" and m.end() < len(text) and text[m.end()] == ".":
            raise ExpressionError(_("The number is not written correctly"), pos)
        tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        t = self.tok
        if t.kind == kind and (value is None or t.value == value):
            self.i += 1
            return t
        return None

    def expect(self, kind: str, value: str, what: str) -> Token:
        t = self.accept(kind, value)
        if t is None:
            raise ExpressionError(_("Expected %(what)s here") % {"what": what}, self.tok.pos)
        return t

    def parse(self):
        if self.tok.kind == "end":
            raise ExpressionError(_("The expression is empty"))
        node = self.expr()
        if self.tok.kind != "end":
            raise ExpressionError(_("Unexpected extra content “%(text)s”") % {"text": self.tok.value}, self.tok.pos)
        return node

    def expr(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("The expression is nested too deeply"))
        try:
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self):
        node = self.and_()
        while self.accept("kw", "or"):
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.accept("kw", "and"):
            node = ("and", node, self.not_())
        return node

    def nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("The expression is nested too deeply"), self.tok.pos)

    def not_(self):
        if self.accept("kw", "not"):
            self.nested()
            try:
                return ("not", self.not_())
            finally:
                self.depth -= 1
        return self.compare()

    def compare(self):
        left = self.sum_()
        t = self.tok
        if t.kind == "op" and t.value in COMPARE:
            self.take()
            op = "!=" if t.value == "<>" else t.value
            return ("cmp", op, left, self.sum_())
        if t.kind == "kw" and t.value in ("in", "not") and (t.value == "in" or self.tokens[self.i + 1].value == "in"):
            negated = t.value == "not"
            self.take()
            if negated:
                self.take()
            if self.tok.kind != "op" or self.tok.value != "[":
                raise ExpressionError(_("“in” must be followed by a list, such as [\"a\", \"b\"]"), self.tok.pos)
            return ("in", left, self.list_(), negated)
        if self.accept("kw", "is"):
            negated = bool(self.accept("kw", "not"))
            self.expect("kw", "null", "「null」")
            return ("isnull", left, negated)
        return left

    def sum_(self):
        node = self.product()
        while self.tok.kind == "op" and self.tok.value in "+-":
            op = self.take().value
            node = ("arith", op, node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/", "%"):
            op = self.take().value
            node = ("arith", op, node, self.unary())
        return node

    def unary(self):
        if self.accept("op", "-"):
            self.nested()
            try:
                return ("neg", self.unary())
            finally:
                self.depth -= 1
        return self.atom()

    def atom(self):
        t = self.tok
        if t.kind == "num":
            self.take()
            whole, _point, fraction = t.value.partition(".")
            if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction) > MAX_DECIMAL_DIGITS:
                raise ExpressionError(_("The number is too large or too long (at most %(int)s digits before the point, %(dec)s after it)")
                                      % {"int": MAX_INTEGER_DIGITS, "dec": MAX_DECIMAL_DIGITS}, t.pos)
            return ("num", float(t.value) if "." in t.value else int(t.value))
        if t.kind == "str":
            self.take()
            return ("str", t.value)
        if t.kind == "kw" and t.value in ("true", "false"):
            self.take()
            return ("bool", t.value == "true")
        if t.kind == "kw" and t.value == "null":
            self.take()
            return ("null",)
        if t.kind == "name":
            self.take()
            if self.tok.kind == "op" and self.tok.value == "(":
                name = t.value.lower()
                if name not in FUNCTIONS:
                    raise ExpressionError(_("Calling “%(name)s” is not allowed (functions available: %(functions)s)") % {"name": t.value, "functions": join_list(sorted(FUNCTIONS))}, t.pos)
                self.take()
                args = []
                if not self.accept("op", ")"):
                    args.append(self.expr())
                    while self.accept("op", ","):
                        args.append(self.expr())
                    self.expect("op", ")", "「)」")
                lo, hi = FUNCTIONS[name]
                if len(args) < lo or (hi is not None and len(args) > hi):
                    raise ExpressionError(_("Wrong number of arguments to the function %(name)s") % {"name": name}, t.pos)
                return ("call", name, args)
            if self.tok.kind == "op" and self.tok.value == "[":
                raise ExpressionError(_("Subscripts (“[”) are not allowed"), self.tok.pos)
            return ("field", t.value)
        if t.kind == "op" and t.value == "(":
            self.take()
            node = self.expr()
            self.expect("op", ")", "「)」")
            return node
        if t.kind == "op" and t.value == "[":
            return self.list_()
        if t.kind == "end":
            raise ExpressionError(_("The expression is incomplete"), t.pos)
        raise ExpressionError(_("“%(text)s” cannot appear here") % {"text": t.value}, t.pos)

    def list_(self):
        self.expect("op", "[", "「[」")
        items = []
        if not self.accept("op", "]"):
            items.append(self.expr())
            while self.accept("op", ","):
                items.append(self.expr())
            self.expect("op", "]", "「]」")
        return ("list", items)


def parse(text: str):
    """The syntax tree of an expression, or ExpressionError (Chinese, with the position).

    Everything that could fail later, when a rule runs over real data, is refused here: literals beyond 12 digits,
    nesting, trees too deep or too large for the engines that walk them, chains of products that could overflow."""
    tree = _Parser(text or "").parse()
    _check_shape(tree)
    return tree


def _children(node) -> list:
    if not isinstance(node, tuple) or not node:
        return []
    kind = node[0]
    if kind in ("and", "or"):
        return [node[1], node[2]]
    if kind in ("not", "neg"):
        return [node[1]]
    if kind in ("cmp", "arith"):
        return [node[2], node[3]]
    if kind == "in":
        return [node[1], node[2]]
    if kind == "isnull":
        return [node[1]]
    if kind == "call":
        return list(node[2])
    if kind == "list":
        return list(node[1])
    return []


def _check_shape(tree) -> None:
    """Depth, size and products of a parsed tree, walked without recursion."""
    stack = [(tree, 1)]
    nodes = products = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_TREE_DEPTH:
            raise ExpressionError(_("The expression has too many levels (at most %(n)s): split it into several rules or group it with brackets") % {"n": MAX_TREE_DEPTH})
        if nodes > MAX_NODES:
            raise ExpressionError(_("The expression is too complex (at most %(n)s parts)") % {"n": MAX_NODES})
        if isinstance(node, tuple) and node and node[0] == "arith" and node[1] == "*":
            products += 1
            if products > MAX_PRODUCTS:
                raise ExpressionError(_("Too many multiplications (at most %(n)s): the result could go out of range") % {"n": MAX_PRODUCTS})
        stack.extend((child, depth + 1) for child in _children(node))


def fields_used(tree) -> set[str]:
    out: set[str] = set()

    def walk(node):
        if isinstance(node, tuple):
            if node[0] == "field":
                out.add(node[1])
            for part in node[1:]:
                walk(part)
        elif isinstance(node, list):
            for part in node:
                walk(part)

    walk(tree)
    return out


# -- compiling to SQL --------------------------------------------------------------------------------------------

Resolver = Callable[[str], tuple[str, str]]  # field name -> (SQL, type: text | number | date | bool)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class _Compiler:
    def __init__(self, resolve: Resolver, today: dt.date):
        self.resolve = resolve
        self.today = f"DATE '{today.isoformat()}'"

    def sql(self, node) -> tuple[str, str]:
        kind = node[0]
        if kind == "num":
            return repr(node[1]), "number"
        if kind == "str":
            return _lit(node[1]), "text"
        if kind == "bool":
            return ("TRUE" if node[1] else "FALSE"), "bool"
        if kind == "null":
            return "NULL", "null"
        if kind == "field":
            try:
                return self.resolve(node[1])
            except KeyError:
                raise ExpressionError(_("Unknown field “%(name)s”") % {"name": node[1]}) from None
        if kind == "not":
            return f"(NOT coalesce({self.boolean(node[1])}, FALSE))", "bool"
        if kind in ("and", "or"):
            a, b = self.boolean(node[1]), self.boolean(node[2])
            return f"(coalesce({a}, FALSE) {kind.upper()} coalesce({b}, FALSE))", "bool"
        if kind == "cmp":
            return self.compare(node[1], node[2], node[3])
        if kind == "in":
            left, lt = self.sql(node[1])
            items = [self.sql(x) for x in node[2][1]]
            if not items:
                return ("TRUE" if node[3] else "FALSE"), "bool"
            if lt == "text" and any(t == "number" for _, t in items):
                left = f"TRY_CAST({left} AS DOUBLE)"
            elif lt == "number" and any(t == "text" for _, t in items):
                items = [(f"TRY_CAST({s} AS DOUBLE)", "number") for s, _ in items]
            op = "NOT IN" if node[3] else "IN"
            return f"({left} {op} ({', '.join(s for s, _ in items)}))", "bool"
        if kind == "isnull":
            left, lt = self.sql(node[1])
            blank = f"({left} IS NULL OR CAST({left} AS VARCHAR) = '')" if lt == "text" else f"({left} IS NULL)"
            return (f"(NOT {blank})" if node[2] else blank), "bool"
        if kind == "arith":
            a, b = self.number(node[2]), self.number(node[3])
            if node[1] == "/":
                return f"({a} / NULLIF({b}, 0))", "number"
            if node[1] == "%":
                return f"(CAST({a} AS DOUBLE) % NULLIF({b}, 0))", "number"
            return f"({a} {node[1]} {b})", "number"
        if kind == "neg":
            return f"(- {self.number(node[1])})", "number"
        if kind == "list":
            raise ExpressionError(_("A list can only follow “in”"))
        if kind == "call":
            return self.call(node[1], node[2])
        raise ExpressionError(_("The expression cannot be compiled"))

    def boolean(self, node) -> str:
        s, t = self.sql(node)
        if t == "bool":
            return s
        if t == "number":
            return f"(coalesce({s}, 0) <> 0)"
        return f"({s} IS NOT NULL AND CAST({s} AS VARCHAR) NOT IN ('', '0', 'false', '否'))"

    def number(self, node) -> str:
        s, t = self.sql(node)
        return s if t == "number" else f"TRY_CAST({s} AS DOUBLE)"

    def text(self, node) -> str:
        s, t = self.sql(node)
        return s if t == "text" else f"CAST({s} AS VARCHAR)"

    def date(self, node) -> str:
        s, t = self.sql(node)
        return s if t == "date" else f"TRY_CAST({s} AS DATE)"

    def compare(self, op: str, a, b) -> tuple[str, str]:
        (sa, ta), (sb, tb) = self.sql(a), self.sql(b)
        if "number" in (ta, tb) and "text" in (ta, tb):
            sa = sa if ta == "number" else f"TRY_CAST({sa} AS DOUBLE)"
            sb = sb if tb == "number" else f"TRY_CAST({sb} AS DOUBLE)"
        elif "date" in (ta, tb) and "text" in (ta, tb):
            sa = sa if ta == "date" else f"TRY_CAST({sa} AS DATE)"
            sb = sb if tb == "date" else f"TRY_CAST({sb} AS DATE)"
        elif ta == "text" and tb == "text":
            sa, sb = f"trim({sa})", f"trim({sb})"
        sql_op = "<>" if op == "!=" else ("=" if op == "==" else op)
        return f"({sa} {sql_op} {sb})", "bool"

    def call(self, name: str, args: list) -> tuple[str, str]:
        if name == "contains":
            return f"coalesce(contains({self.text(args[0])}, {self.text(args[1])}), FALSE)", "bool"
        if name == "contains_any":
            hay = self.text(args[0])
            parts = [f"coalesce(contains({hay}, {self.text(a)}), FALSE)" for a in args[1:]]
            return "(" + " OR ".join(parts) + ")", "bool"
        if name == "startswith":
            return f"coalesce(starts_with({self.text(args[0])}, {self.text(args[1])}), FALSE)", "bool"
        if name == "endswith":
            return f"coalesce(ends_with({self.text(args[0])}, {self.text(args[1])}), FALSE)", "bool"
        if name == "is_blank":
            s = self.text(args[0])
            return f"({s} IS NULL OR trim({s}) = '')", "bool"
        if name == "number":
            return self.number(args[0]), "number"
        if name == "date":
            return self.date(args[0]), "date"
        if name == "year":
            return f"CAST(year({self.date(args[0])}) AS DOUBLE)", "number"
        if name == "age":
            return f"CAST(date_diff('year', {self.date(args[0])}, {self.today}) AS DOUBLE)", "number"
        if name == "days_since":
            return f"CAST(date_diff('day', {self.date(args[0])}, {self.today}) AS DOUBLE)", "number"
        if name == "if":
            cond = self.boolean(args[0])
            (sa, ta), (sb, tb) = self.sql(args[1]), self.sql(args[2])
            if ta != tb and "number" in (ta, tb):
                sa, sb, ta = self.number(args[1]), self.number(args[2]), "number"
            return f"(CASE WHEN coalesce({cond}, FALSE) THEN {sa} ELSE {sb} END)", ta
        if name == "coalesce":
            parts = [self.sql(a) for a in args]
            kinds = {t for _, t in parts if t != "null"}
            kind = kinds.pop() if len(kinds) == 1 else "text"
            conv = (lambda s, t: s) if len(kinds) <= 1 else (lambda s, t: f"CAST({s} AS VARCHAR)")
            return "coalesce(" + ", ".join(conv(s, t) for s, t in parts) + ")", kind
        if name in ("min", "max"):
            fn = "least" if name == "min" else "greatest"
            return f"{fn}(" + ", ".join(self.number(a) for a in args) + ")", "number"
        if name == "abs":
            return f"abs({self.number(args[0])})", "number"
        if name == "round":
            digits = self.number(args[1]) if len(args) > 1 else "0"
            return f"round({self.number(args[0])}, CAST({digits} AS INTEGER))", "number"
        if name == "length":
            return f"CAST(length({self.text(args[0])}) AS DOUBLE)", "number"
        raise ExpressionError(_("Calling “%(name)s” is not allowed") % {"name": name})


def compile_sql(tree_or_text, resolve: Resolver, *, today: dt.date | None = None, as_bool: bool = True,
                dialect: str = "duckdb") -> str:
    """SQL for an expression. as_bool=True gives a condition (NULL counts as false), else a number (points).
    dialect: "duckdb" (the engines' common subset) or "spark" (the Spark engine's dialect, fupin.exchange.spark_sql)."""
    tree = parse(tree_or_text) if isinstance(tree_or_text, str) else tree_or_text
    comp = _Compiler(resolve, today or dt.date.today())  # noqa: DTZ011 - a calendar date for age()
    sql = f"coalesce({comp.boolean(tree)}, FALSE)" if as_bool else f"coalesce({comp.number(tree)}, 0)"
    if dialect == "spark":
        from fupin.exchange.public import spark_expression

        return spark_expression(sql)
    if dialect != "duckdb":
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return sql


def validate(text: str, names: dict[str, str], *, as_bool: bool = True) -> None:
    """Raise ExpressionError unless text is an expression over `names` (name → type) that compiles."""

    def resolve(name: str) -> tuple[str, str]:
        if name not in names:
            raise KeyError(name)
        return f'"{name}"', names[name]

    compile_sql(text, resolve, as_bool=as_bool)
