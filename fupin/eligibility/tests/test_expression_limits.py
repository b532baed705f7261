"""Expressions that used to pass validation and break later (RecursionError, overflow) are refused when saved, with a
Chinese message, in the three editors (eligibility rules, quality conditions, form rules)."""

import pytest

from fupin.core.errors import ServiceError
from fupin.eligibility.expressions import ExpressionError, parse
from fupin.quality.services import _check_condition
from fupin.surveys import evaluator
from fupin.surveys.definitions import _check_expr

HOSTILE = {
    "nested minus": "-" * 2000 + "1 > 0",
    "nested not": "not " * 400 + "true",
    "added terms": "+".join(["1"] * 900) + " > 0",
    "huge literals": "9" * 990 + " * " + "9" * 990 + " > 1",
    "long decimals": "0." + "1" * 50 + " > 0",
    "many products": " * ".join(["2"] * 12) + " > 1",
    "deep parentheses": "(" * 500 + "1" + ")" * 500 + " > 0",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_parse_refuses_with_a_message(text):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.message and not info.value.message.isascii()


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_quality_and_form_editors_answer_a_message(text):
    with pytest.raises(ServiceError, match="表达式有误"):
        _check_condition("household", text)
    problems = _check_expr(text, {"x"}, "规则")
    assert problems and all(isinstance(p, str) for p in problems)


def test_ordinary_expressions_still_parse_and_run():
    assert evaluator.evaluate("-(-x) + 3.5 * 2 > 8 and not (y == 'a')", {"x": 2, "y": "b"}) is True
    assert evaluator.evaluate(" + ".join(["x"] * 50) + " == 50", {"x": 1}) is True
    assert evaluator.evaluate("123456789012 * 2 > 0", {}) is True


@pytest.mark.django_db
@pytest.mark.parametrize("text", [HOSTILE["nested minus"], HOSTILE["huge literals"], HOSTILE["added terms"]])
def test_eligibility_rule_check_answers_a_message(text):
    from fupin.eligibility.models import Rule
    from fupin.eligibility.services import rule_check

    rule = Rule(code="X1", kind="exclusion", subject="household", expression=text)
    with pytest.raises(ServiceError, match="表达式有误"):
        rule_check(rule)
