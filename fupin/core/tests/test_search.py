"""The one search semantics (fupin/core/search.py): what an entry means, and that every app's search box uses it."""

import ast

from fupin.core import search
from fupin.core.testing import sweep_app_modules


def test_entry_kinds():
    assert search.parse("11010519491231002x").id_exact == ("11010519491231002X",)
    assert "11010519491231002X" in search.parse("110105491231002").id_exact
    assert search.parse(" 1101 0519 4912 3100 2x ").id_exact == ("11010519491231002X",)
    assert search.parse("１２３４").id_tail == "1234"
    assert search.parse("002x").id_tail == "002X"
    three = search.parse("123")
    assert three.id_tail == "" and three.code_exact == "123" and search.person_q(three) is None
    assert search.parse("张三").name_prefix == "张三"
    assert search.parse("A-01").code_exact == "A-01" and search.parse("A-01").name_prefix == "A-01"
    assert search.parse("  ").text == "" and search.code_q("  ", "poor_code") is None


def test_id_branch_is_separate():
    """The ID part is id_q alone: a name entry asks nothing of ID columns, an ID entry nothing of names."""
    assert search.id_q(search.parse("张三")) is None
    assert "members__id_tail4_index" in str(search.id_q(search.parse("002x"), path="members__"))
    assert "name" not in str(search.person_q("002x")).replace("id_", "")
    assert "id_" not in str(search.person_q("张三"))


def test_codes_exact_and_free_text_contained():
    assert str(search.code_q("GD2026", "number")) == str(search.code_q(search.parse("GD2026"), "number"))
    assert "number" in str(search.code_q("GD2026", "number")) and "startswith" not in str(
        search.code_q("x", "n")
    )
    assert "icontains" in str(search.text_q("漏水", "title"))
    assert search.any_q(None, None) is None


SEARCHING_LOOKUPS = ("__contains", "__icontains", "__startswith", "__istartswith")
NAME_FIELDS = ("name", "head_name")


def _own_name_searches(tree: ast.AST) -> list[str]:
    """Keyword filters like `head_name__contains=` or `household__name__startswith=`: a search of a person's or
    household head's name that does not go through fupin/core/search.py."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg and node.arg.endswith(SEARCHING_LOOKUPS):
            field = node.arg.rsplit("__", 1)[0].split("__")[-1]
            if field in NAME_FIELDS and (
                "household" in node.arg or field == "head_name" or "person" in node.arg
            ):
                found.append(f"{node.lineno}: {node.arg}")
    return found


def test_no_app_searches_people_by_its_own_rule():
    assert sweep_app_modules(lambda text: _own_name_searches(ast.parse(text))) == {}


def test_sweep_finds_an_own_rule():
    """Positive control: the sweep sees the searches it forbids."""
    code = "qs.filter(Q(household__head_name__icontains=q) | Q(number=q))\nPerson.objects.filter(name__startswith=t)"
    hits = _own_name_searches(ast.parse(code))
    assert hits == ["1: household__head_name__icontains"]
    assert _own_name_searches(ast.parse("qs.filter(person__name__contains=q)")) == [
        "1: person__name__contains"
    ]
