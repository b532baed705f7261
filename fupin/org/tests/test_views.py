"""Departments (reference data) and command units (scoped) pages."""

import pytest

from fupin.accounts.services import user_create
from fupin.core.testing import make_user
from fupin.org.services import command_unit_create, department_create, department_set_head


@pytest.fixture
def org(county):
    boss = make_user("boss", "city_office", division=county["county"], display_name="李明")
    civil = department_create(actor=boss, code="civil", name="宜都市民政局", short_name="民政", order=1)
    handler = user_create(actor=boss, username="mz1", password="long-enough-1", role="dept_handler", department=civil,
                          display_name="民政经办人")
    department_set_head(actor=boss, department=civil, head=handler)
    hq = command_unit_create(actor=boss, kind="city_hq", name="市扶贫攻坚指挥部", division=county["county"])
    station_a = command_unit_create(actor=boss, kind="town_station", name="甲镇网格化管理站", division=county["town_a"],
                                    parent=hq)
    office_b = command_unit_create(actor=boss, kind="village_office", name="乙一村网格化工作室", division=county["vb1"])
    staff_a = make_user("sa", "town_staff", division=county["town_a"], command_unit=station_a, display_name="甲站员")
    staff_b = make_user("sb", "village_team", division=county["vb1"], command_unit=office_b, display_name="乙室员")
    return {"boss": boss, "civil": civil, "handler": handler, "hq": hq, "station_a": station_a, "office_b": office_b,
            "staff_a": staff_a, "staff_b": staff_b}


@pytest.mark.django_db
def test_departments_list_and_detail(client, county, org):
    client.force_login(org["boss"])
    body = client.get("/org/departments/").content.decode()
    assert "民政" in body and "宜都市民政局" in body
    body = client.get("/org/departments/civil/").content.decode()
    assert "民政经办人" in body and "操作痕迹" in body
    assert client.get("/org/departments/nothing/").status_code == 404


@pytest.mark.django_db
def test_department_staff_are_shown_to_county_users_only(client, county, org):
    client.force_login(make_user("a_team", "village_team", division=county["va1"]))
    response = client.get("/org/departments/civil/")
    assert response.status_code == 200  # departments are reference data
    assert list(response.context["staff"]) == []


@pytest.mark.django_db
def test_units_are_scoped(client, county, org):
    client.force_login(make_user("town_a", "town_staff", division=county["town_a"]))
    body = client.get("/org/units/").content.decode()
    assert "甲镇网格化管理站" in body and "甲站员" in body
    assert "乙一村网格化工作室" not in body and "乙室员" not in body
    hq_link = 'href="/org/units/{}/"'.format(org["hq"].pk)
    assert hq_link not in body  # the HQ above is named as "reports to", not listed
    assert client.get(f"/org/units/{org['station_a'].pk}/").status_code == 200
    assert client.get(f"/org/units/{org['office_b'].pk}/").status_code == 404
    assert client.get(f"/org/units/{org['hq'].pk}/").status_code == 404


@pytest.mark.django_db
def test_unit_list_kind_filter_and_division_filter(client, county, org):
    client.force_login(org["boss"])
    body = client.get("/org/units/", {"kind": "village_office"}).content.decode()
    assert "乙一村网格化工作室" in body and "甲镇网格化管理站" not in body
    body = client.get("/org/units/", {"division": county["town_a"].code}).content.decode()
    assert "甲镇网格化管理站" in body and "乙一村网格化工作室" not in body


@pytest.mark.django_db
def test_unit_detail_shows_staff_children_and_history(client, county, org):
    client.force_login(org["boss"])
    body = client.get(f"/org/units/{org['hq'].pk}/").content.decode()
    assert "甲镇网格化管理站" in body  # a unit below
    assert "指挥机构 · 新建" in body


@pytest.mark.django_db
def test_org_query_budgets(client, county, org, django_assert_max_num_queries):
    for i in range(20):
        make_user(f"u{i}", "town_staff", division=county["town_a"], command_unit=org["station_a"])
    client.force_login(org["boss"])
    with django_assert_max_num_queries(12):
        assert client.get("/org/units/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/org/departments/").status_code == 200
