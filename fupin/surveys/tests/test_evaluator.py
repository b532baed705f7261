"""The evaluator over the rule language's parse tree: semantics, and refusal of anything that is not an expression."""

import datetime as dt

import pytest

from fupin.eligibility.expressions import ExpressionError
from fupin.surveys.evaluator import check, compile_condition, evaluate

TODAY = dt.date(2017, 6, 30)


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("a + b * 2", {"a": 1, "b": 3}, 7),
    ("a / 0", {"a": 1}, None),
    ("a > 5", {"a": "7"}, True),              # a text compared with a number is read as a number
    ("a == 'x'", {"a": " x "}, True),          # texts are compared trimmed
    ("a > 5 and b", {"a": None, "b": True}, False),  # null is false
    ("not a", {"a": None}, True),
    ("a in ['1', '2']", {"a": "2"}, True),
    ("a not in [1, 2]", {"a": 3}, True),
    ("a is null", {"a": []}, True),
    ("a is not null", {"a": ["4"]}, True),
    ('contains(health, "4")', {"health": ["1", "4"]}, True),
    ('contains(name, "山")', {"name": "黄大山"}, True),
    ('contains_any(name, "甲", "山")', {"name": "黄大山"}, True),
    ("length(members)", {"members": [{}, {}]}, 2),
    ("age(birth) >= 16", {"birth": "2001-07-01"}, False),
    ("age(birth)", {"birth": dt.date(2001, 6, 30)}, 16),
    ("if(a > 1, 'big', 'small')", {"a": 2}, "big"),
    ("coalesce(a, b, 0)", {"a": None, "b": ""}, 0),
    ("min(a, b)", {"a": 3, "b": None}, 3),
    ("round(a / 3, 2)", {"a": 10}, 3.33),
    ("year(d)", {"d": "2016-02-29"}, 2016),
    ("days_since(d)", {"d": "2017-06-01"}, 29),
    ("`学段/年级` == '初中'", {"学段/年级": "初中"}, True),
    ("startswith(code, '4205')", {"code": "420581"}, True),
    ("is_blank(x)", {"x": "  "}, True),
    ("-a + abs(b)", {"a": 2, "b": -5}, 3),
])
def test_semantics(text, values, expected):
    assert evaluate(text, values, today=TODAY) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('ls')",
    "open('/etc/passwd')",
    "a.__class__",
    "a[0]",
    "x = 1",
    "lambda: 1",
    "a; b",
    "exec('1')",
    "",
    "(a",
    "1 +",
    "'a' * 10 ** 9",
])
def test_anything_that_is_not_an_expression_is_refused(text):
    with pytest.raises(ExpressionError):
        evaluate(text, {"a": 1, "b": 2, "x": 3})


def test_unknown_field_is_refused_when_names_are_given():
    check("a > 1", ["a"])
    with pytest.raises(ExpressionError, match="未知字段"):
        check("b > 1", ["a"])


def test_condition_is_boolean():
    cond = compile_condition("a", today=TODAY)
    assert cond({"a": "否"}) is False and cond({"a": "是"}) is True and cond({}) is False
