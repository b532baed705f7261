"""A small county with departments, their handlers and heads, area workers and households, and the default rules."""

from types import SimpleNamespace

import pytest

from fupin.core.testing import make_household, make_user
from fupin.dispatch.testing import make_departments


@pytest.fixture
def world(county):
    from fupin.dispatch.services import dispatch_setup_defaults

    depts = make_departments()
    users = {}
    for code in ("weiji", "jiaoyu", "zhujian", "minzheng", "fupinban", "renshe"):
        head = make_user(f"{code}_head", "dept_handler", department=depts[code], display_name=f"{code}负责人")
        depts[code].head = head
        depts[code].save()
        users[f"{code}_head"] = head
        users[code] = make_user(f"{code}_handler", "dept_handler", department=depts[code],
                                display_name=f"{code}经办人")
    users["city"] = make_user("city_office", "city_office", division=county["county"], display_name="市扶贫办")
    users["town_a"] = make_user("town_a_staff", "town_staff", division=county["town_a"], display_name="甲镇管理站")
    users["team_a"] = make_user("team_a", "village_team", division=county["va1"], display_name="甲一村工作队")
    users["grid_a"] = make_user("grid_a", "grid_worker", grid=county["ga1"], display_name="甲一网格员")
    users["grid_b"] = make_user("grid_b", "grid_worker", grid=county["gb1"], display_name="乙一网格员")
    users["cadre_a"] = make_user("cadre_a", "pairing_cadre", division=county["va1"], display_name="帮扶干部")
    users["auditor"] = make_user("auditor", "auditor", division=county["county"], display_name="审计")
    hh_a = make_household(county["va1"], grid=county["ga1"], head="王病户", is_registered_poor=True,
                          poor_code="A-001", main_cause="1", attribute="1", poverty_status="0")
    hh_a2 = make_household(county["va1"], grid=county["ga1"], head="李学户", is_registered_poor=True,
                           poor_code="A-002", main_cause="3", attribute="2", poverty_status="0")
    hh_b = make_household(county["vb1"], grid=county["gb1"], head="赵乙户", is_registered_poor=True,
                          poor_code="B-001", main_cause="9", attribute="1", poverty_status="0")
    setup = dispatch_setup_defaults(actor=users["city"])
    return SimpleNamespace(county=county, depts=depts, users=users, hh_a=hh_a, hh_a2=hh_a2, hh_b=hh_b,
                           setup=setup)
