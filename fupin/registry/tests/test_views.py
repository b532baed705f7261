"""Pages: list with filters and search, household page, scoping (404 outside), ID masking, query budgets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fupin.core import extensions
from fupin.core.testing import make_household, make_id
from fupin.registry.models import Person


@pytest.fixture
def no_panels():
    """Other capabilities' panels are measured by their own tests; the registry's budget is its own."""
    with extensions.replaced("registry.household_panel"), extensions.replaced("registry.list_ordering"):
        yield


def login(client, user):
    client.force_login(user)
    return client


def test_list_shows_registered_households_and_masks_ids(client, users, hh_a1, hh_b1):
    head = Person.objects.get(household=hh_a1, relationship="户主")
    r = login(client, users["county"]).get("/households/")
    assert r.status_code == 200
    text = r.content.decode()
    assert hh_a1.poor_code in text and hh_b1.poor_code in text and head.id_number in text
    r = login(client, users["leader"]).get("/households/")  # a city leader may not see full ID numbers
    text = r.content.decode()
    assert hh_a1.poor_code in text and head.id_number not in text and head.id_number[:6] + "********" in text


def test_list_is_scoped_to_the_users_village(client, users, hh_a1, hh_b1):
    text = login(client, users["village_a1"]).get("/households/").content.decode()
    assert hh_a1.poor_code in text and hh_b1.poor_code not in text


def test_list_filters(client, users, county, hh_a1, hh_b1):
    c = login(client, users["county"])

    def row(hh):  # the household's link in the list (its 户编号 may also be a grid's code in the grid picker)
        return f'href="{hh.get_absolute_url()}"'

    assert row(hh_b1) not in c.get("/households/?attribute=1").content.decode()
    assert row(hh_a1) not in c.get("/households/?cause=2").content.decode()
    assert row(hh_a1) in c.get("/households/?status=0,1").content.decode()
    text = c.get(f"/households/?division={county['town_b'].code}").content.decode()
    assert row(hh_b1) in text and row(hh_a1) not in text
    resident = make_household(county["va1"], head="钱多多", members=1)
    assert "钱多多" not in c.get("/households/").content.decode()
    assert "钱多多" in c.get("/households/?poor=all").content.decode()
    assert "钱多多" in c.get("/households/?poor=0").content.decode()
    assert resident.get_absolute_url() == f"/households/{resident.uuid}/"


@pytest.mark.parametrize("kind", ["id", "tail", "tail_x", "code", "name", "prefix"])
def test_search(client, users, county, hh_a1, hh_b1, kind):
    head = Person.objects.get(household=hh_a1, relationship="户主")
    q = {"id": head.id_number, "tail": head.id_number[-6:], "tail_x": head.id_number[-4:].lower(),
         "code": hh_a1.poor_code, "name": head.name, "prefix": head.name[:2]}[kind]
    text = login(client, users["county"]).get("/households/", {"q": q}).content.decode()
    assert f'href="{hh_a1.get_absolute_url()}"' in text
    assert f'href="{hh_b1.get_absolute_url()}"' not in text


def test_household_page_shows_everything_and_masks(client, users, hh_a1):
    head = Person.objects.get(household=hh_a1, relationship="户主")
    r = login(client, users["village_a1"]).get(hh_a1.get_absolute_url())
    assert r.status_code == 200
    text = r.content.decode()
    for part in ('id="members"', 'id="income"', 'id="living"', 'id="changes"', "王大山", head.id_number):
        assert part in text
    text = login(client, users["cadre_a1"]).get(hh_a1.get_absolute_url()).content.decode()
    assert head.id_number not in text and head.id_number[-4:] in text


def test_household_page_404_outside_jurisdiction(client, users, hh_a1, hh_b1):
    c = login(client, users["village_a1"])
    assert c.get(hh_b1.get_absolute_url()).status_code == 404
    assert c.get(f"/households/{hh_b1.uuid}/").status_code == 404
    assert c.get("/households/does-not-exist/").status_code == 404
    assert login(client, users["grid_a1"]).get(hh_a1.get_absolute_url()).status_code == 404  # not in the grid


def test_household_without_number_by_uuid(client, users, county):
    hh = make_household(county["va1"], head="赵六", members=2)
    r = login(client, users["village_a1"]).get(f"/households/{hh.uuid}/")
    assert r.status_code == 200 and "赵六" in r.content.decode()


def test_household_page_query_budget(client, users, hh_a1, no_panels, django_assert_max_num_queries):
    c = login(client, users["village_a1"])
    c.get(hh_a1.get_absolute_url())
    with django_assert_max_num_queries(12):
        assert c.get(hh_a1.get_absolute_url()).status_code == 200


def test_household_list_query_budget(client, users, county, no_panels):
    for i in range(30):
        make_household(county["va1"], head=f"户主{i}", members=2, poor_code=f"B{i:03d}", is_registered_poor=True)
    c = login(client, users["village_a1"])
    c.get("/households/")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/households/").status_code == 200
    # 10, and one for the grid picker (the grids of the jurisdiction, whatever the page size)
    assert len(ctx.captured_queries) <= 11, [q["sql"][:120] for q in ctx.captured_queries]


def test_member_change_from_the_page(client, users, hh_a1):
    c = login(client, users["village_a1"])
    r = c.post(f"{hh_a1.get_absolute_url()}change/", {"kind": "birth", "date": "2016-05-01", "name": "王小小",
                                                      "relationship": "之孙子"})
    assert r.status_code == 302
    hh_a1.refresh_from_db()
    assert hh_a1.size == 4
    text = c.get(hh_a1.get_absolute_url()).content.decode()
    assert "王小小" in text and "2016-05-01" in text
    assert "registry.member.birth" in text  # the member's audit event is in the household's history
    # a user who may only view cannot record changes
    assert login(client, users["leader"]).get(f"{hh_a1.get_absolute_url()}change/").status_code in (403, 404)


def test_member_change_reports_service_errors(client, users, hh_a1, hh_b1):
    other = Person.objects.filter(household=hh_b1).first()
    c = login(client, users["county"])
    r = c.post(f"{hh_a1.get_absolute_url()}change/", {"kind": "marriage_in", "date": "2016-05-01", "name": "某",
                                                      "relationship": "之儿媳", "id_number": other.id_number})
    assert r.status_code == 200 and "迁" in r.content.decode()
    assert Person.objects.filter(id_number=other.id_number).count() == 1


def test_villages_and_incidence(client, users, county, hh_a1):
    from fupin.registry import services

    services.village_set_poor(actor="t", village=county["va1"], is_poor=True)
    c = login(client, users["county"])
    text = c.get("/households/villages/?poor=1").content.decode()
    assert county["va1"].name in text and county["vb1"].name not in text
    r = c.get(f"/households/villages/{county['va1'].code}/")
    assert r.status_code == 200 and "100.00" in r.content.decode()  # 3 poor persons / 3 registered residents
    assert login(client, users["village_b1"]).get(f"/households/villages/{county['va1'].code}/").status_code == 404


def test_anonymous_is_sent_to_login(client, hh_a1):
    r = client.get("/households/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_make_id_helper_is_valid():
    from fupin.core import idnumber

    assert idnumber.is_valid(make_id())


def test_household_page_query_budget_with_every_installed_panel(client, users, hh_a1,
                                                                 django_assert_max_num_queries):
    """A loose ceiling with every other capability's panel (each keeps its own budget): it catches a panel that
    queries per member or per record."""
    c = login(client, users["village_a1"])
    c.get(hh_a1.get_absolute_url())
    with django_assert_max_num_queries(60):
        assert c.get(hh_a1.get_absolute_url()).status_code == 200


def test_pages_are_chinese_by_default(client, users, hh_a1):
    text = login(client, users["county"]).get(hh_a1.get_absolute_url()).content.decode()
    assert "家庭成员" in text and "人均纯收入" in text and "贫困线" in text
    text = client.get("/households/").content.decode()
    assert "建档立卡贫困户" in text and "户编号" in text
