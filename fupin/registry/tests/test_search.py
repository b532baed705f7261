"""Search: exact ID (18 or 15 digits, typing noise), the last 4+ characters, 户编号, name exact or prefix."""

import pytest
from django.db import connection

from fupin.core import idnumber, search
from fupin.core.fields import with_indexes
from fupin.core.testing import make_household
from fupin.registry import selectors
from fupin.registry.models import Person


@pytest.fixture
def people(county, users):
    a = make_household(county["va1"], head="欧阳修", members=3, poor_code="S-001", is_registered_poor=True)
    b = make_household(county["vb1"], head="欧阳锋", members=2, poor_code="S-002", is_registered_poor=True)
    return {"a": a, "b": b, "head_a": Person.objects.get(household=a, relationship="户主"),
            "head_b": Person.objects.get(household=b, relationship="户主")}


def names(result):
    return sorted(p.name for p in result)


def test_parse_search_kinds():
    assert search.parse("11010519491231002x").id_exact == ("11010519491231002X",)
    assert "11010519491231002X" in search.parse("110105491231002").id_exact
    assert search.parse("１２３４").id_tail == "1234"
    assert search.parse("002x").id_tail == "002X"
    assert search.parse("123").id_tail == ""
    assert search.parse("张三").name_prefix == "张三"
    assert search.parse("A-01").code_exact == "A-01"


def test_exact_id(users, people):
    number = people["head_a"].id_number
    assert names(selectors.search_persons(users["county"], number)) == ["欧阳修"]
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}".lower()
    assert names(selectors.search_persons(users["county"], spaced)) == ["欧阳修"]


def test_id_tail(users, people):
    number = people["head_b"].id_number
    assert "欧阳锋" in names(selectors.search_persons(users["county"], number[-4:]))
    assert names(selectors.search_persons(users["county"], number[-8:])) == ["欧阳锋"]


def test_name_exact_and_prefix(users, people):
    assert names(selectors.search_persons(users["county"], "欧阳修")) == ["欧阳修"]
    assert names(selectors.search_persons(users["county"], "欧阳")) == ["欧阳修", "欧阳锋"]
    assert names(selectors.search_persons(users["county"], "阳")) == []


def test_search_is_scoped(users, people):
    assert names(selectors.search_persons(users["village_a1"], "欧阳")) == ["欧阳修"]
    assert selectors.search_persons(users["village_a1"], people["head_b"].id_number) == []


def test_household_search_by_poor_code_and_member(users, people):
    assert list(selectors.household_list(users["county"], q="S-002")) == [people["b"]]
    member = Person.objects.filter(household=people["a"]).exclude(relationship="户主").first()
    assert list(selectors.household_list(users["county"], q=member.id_number[-6:])) == [people["a"]]


def test_invalid_stored_id_is_found_verbatim(users, people):
    p = people["head_a"]
    Person.objects.filter(pk=p.pk).update(**with_indexes(Person, {"id_number": "42058119900101123"}),
                                          id_valid=False)
    assert names(selectors.search_persons(users["county"], "42058119900101123")) == ["欧阳修"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan; PostgreSQL uses the _like indexes")
def test_prefix_searches_use_indexes_on_sqlite(users, people):
    for q in ("0123", "欧阳"):
        qs = Person.objects.filter(search.parse(q).person_q)
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(r) for r in cur.fetchall())
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert idnumber.is_valid(people["head_a"].id_number)
