"""Grid network pages: scoped divisions and grids, post reassignment with history, assigning households by location."""

import datetime as dt
import json

import pytest

from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_user
from fupin.geo.models import GridPost
from fupin.geo.services import grid_assign_post, grid_create, import_boundaries
from fupin.registry.models import Household


@pytest.fixture
def boss(county):
    return make_user("boss", "city_office", division=county["county"], display_name="李明")


@pytest.fixture
def town_a_user(county):
    return make_user("town_a", "town_staff", division=county["town_a"], display_name="甲镇干部")


@pytest.mark.django_db
def test_index_shows_the_network_with_counts(client, county, boss):
    make_household(county["va1"], grid=county["ga1"], head="甲户", is_registered_poor=True)
    make_household(county["va1"], head="甲无格")
    client.force_login(boss)
    response = client.get("/geo/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "甲镇" in body and "甲一村" in body and "乙社区" in body
    row = next(r for r in response.context["rows"] if r["division"] == county["va1"])
    assert (row["grids"], row["households"], row["poor"], row["unassigned"]) == (1, 2, 1, 1)
    town = next(r for r in response.context["rows"] if r["division"] == county["town_a"])
    assert (town["villages"], town["grids"], town["households"]) == (2, 1, 2)


@pytest.mark.django_db
def test_index_is_scoped_and_follows_the_tree_choice(client, county, boss, town_a_user):
    client.force_login(town_a_user)
    body = client.get("/geo/").content.decode()
    assert "甲一村" in body and "乙一村" not in body
    client.force_login(boss)
    body = client.get("/geo/", {"division": county["town_b"].code}).content.decode()
    assert "乙一村" in body and "甲一村" not in body.split('class="main"')[1].split("footer")[0]


@pytest.mark.django_db
def test_division_detail_in_and_out_of_scope(client, county, town_a_user):
    client.force_login(town_a_user)
    response = client.get(f"/geo/{county['va1'].code}/")
    assert response.status_code == 200
    assert "甲一村第1网格" in response.content.decode()
    assert client.get(f"/geo/{county['town_a'].code}/").status_code == 200
    assert client.get(f"/geo/{county['vb1'].code}/").status_code == 404
    assert client.get(f"/geo/{county['county'].code}/").status_code == 404
    assert client.get("/geo/999999999999/").status_code == 404


@pytest.mark.django_db
def test_grid_pages_in_and_out_of_scope(client, county, town_a_user):
    client.force_login(town_a_user)
    body = client.get("/geo/grids/").content.decode()
    assert "甲一村第1网格" in body and "乙一村第1网格" not in body
    assert client.get(f"/geo/grids/{county['ga1'].code}/").status_code == 200
    assert client.get(f"/geo/grids/{county['gb1'].code}/").status_code == 404


@pytest.mark.django_db
def test_grid_list_vacancy_filter_and_search(client, county, boss):
    worker = make_user("gw", "grid_worker", grid=county["ga1"], display_name="张网格")
    grid_assign_post(actor=boss, grid=county["ga1"], post="grid_worker", user=worker)
    client.force_login(boss)
    body = client.get("/geo/grids/", {"vacant": "grid_worker"}).content.decode()
    assert "乙一村第1网格" in body and "甲一村第1网格" not in body
    body = client.get("/geo/grids/", {"vacant": "info_officer"}).content.decode()
    assert "乙一村第1网格" in body and "甲一村第1网格" in body
    body = client.get("/geo/grids/", {"q": "甲一"}).content.decode()
    assert "甲一村第1网格" in body and "乙一村第1网格" not in body
    assert "张网格" in client.get("/geo/grids/").content.decode()


@pytest.mark.django_db
def test_reassigning_a_post_keeps_the_history(client, county, boss):
    grid = county["ga1"]
    first = make_user("gw1", "grid_worker", grid=grid, display_name="张一")
    second = make_user("gw2", "grid_worker", grid=grid, display_name="王二")
    grid_assign_post(actor=boss, grid=grid, post="grid_worker", user=first, start=dt.date(2016, 3, 1))
    client.force_login(boss)
    response = client.post(f"/geo/grids/{grid.code}/posts/", {
        "post": "grid_worker", "user": second.pk, "start": "2016-09-01", "note": "调岗"})
    assert response.status_code == 302
    rows = list(GridPost.objects.filter(grid=grid, post="grid_worker").order_by("start_date"))
    assert [(r.user, r.start_date, r.end_date) for r in rows] == [
        (first, dt.date(2016, 3, 1), dt.date(2016, 9, 1)), (second, dt.date(2016, 9, 1), None)]
    body = client.get(f"/geo/grids/{grid.code}/").content.decode()
    assert "张一" in body and "王二" in body and "调岗" in body
    assert body.count("网格岗位 · 分配") == 2 and "网格岗位 · 结束" in body


@pytest.mark.django_db
def test_reassignment_refusals(client, county, boss, town_a_user):
    grid = county["ga1"]
    outsider = make_user("gwb", "grid_worker", grid=county["gb1"])
    client.force_login(town_a_user)  # town staff have no manage_geo
    assert client.post(f"/geo/grids/{grid.code}/posts/", {"post": "grid_worker", "user": outsider.pk,
                                                          "start": "2016-09-01"}).status_code == 403
    client.force_login(boss)
    response = client.post(f"/geo/grids/{grid.code}/posts/", {"post": "grid_worker", "user": outsider.pk,
                                                              "start": "2016-09-01"})
    assert response.status_code == 400  # only users of the grid's village may be chosen
    worker = make_user("gw1", "grid_worker", grid=grid)
    grid_assign_post(actor=boss, grid=grid, post="grid_worker", user=worker, start=dt.date(2016, 3, 1))
    other = make_user("gw2", "grid_worker", grid=grid)
    response = client.post(f"/geo/grids/{grid.code}/posts/", {"post": "grid_worker", "user": other.pk,
                                                              "start": "2015-01-01"})
    assert response.status_code == 400
    assert "新任职日期不能早于现任人员的任职日期" in response.content.decode()
    assert GridPost.objects.filter(grid=grid).count() == 1


@pytest.mark.django_db
def test_reassignment_outside_the_jurisdiction_is_404(client, county):
    boss_a = make_user("boss_a", "city_office", division=county["town_a"])
    client.force_login(boss_a)
    assert client.post(f"/geo/grids/{county['gb1'].code}/posts/", {"post": "grid_worker"}).status_code == 404


@pytest.mark.django_db
def test_assign_households_by_location(client, county, boss, tmp_path):
    village = county["va1"]
    second = grid_create(actor=boss, village=village, number=2)
    west = {"type": "Polygon", "coordinates": [[[111.0, 30.0], [111.4, 30.0], [111.4, 31.0], [111.0, 31.0], [111.0, 30.0]]]}
    east = {"type": "Polygon", "coordinates": [[[111.4, 30.0], [111.8, 30.0], [111.8, 31.0], [111.4, 31.0], [111.4, 30.0]]]}
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": county["ga1"].code}, "geometry": west},
        {"type": "Feature", "properties": {"code": second.code}, "geometry": east}]}), encoding="utf-8")
    import_boundaries(actor=boss, path=path)
    west_hh = make_household(village, head="西户", lng=111.2, lat=30.5)
    east_hh = make_household(village, head="东户", lng=111.6, lat=30.5)
    nowhere = make_household(village, head="无位置户")
    client.force_login(boss)
    body = client.get(f"/geo/{village.code}/").content.decode()
    assert "按位置分配" in body
    response = client.post(f"/geo/{village.code}/assign-households/", follow=True)
    assert "已按位置为2户分配网格,仍有1户待分配" in response.content.decode()
    assert Household.objects.get(pk=west_hh.pk).grid == county["ga1"]
    assert Household.objects.get(pk=east_hh.pk).area_code == second.code
    assert Household.objects.get(pk=nowhere.pk).grid is None
    assert AuditEvent.objects.filter(action="batch.assign_grid").count() == 1


@pytest.mark.django_db
def test_assign_households_needs_manage_geo_and_scope(client, county, town_a_user):
    client.force_login(town_a_user)
    assert client.post(f"/geo/{county['va1'].code}/assign-households/").status_code == 403
    client.force_login(make_user("boss_a", "city_office", division=county["town_a"]))
    assert client.post(f"/geo/{county['vb1'].code}/assign-households/").status_code == 404
    response = client.post(f"/geo/{county['va1'].code}/assign-households/", follow=True)
    assert "网格还没有边界" in response.content.decode()  # a Chinese message, nothing written


@pytest.mark.django_db
def test_staff_page(client, county, boss):
    worker = make_user("gw", "grid_worker", grid=county["ga1"], display_name="张网格")
    grid_assign_post(actor=boss, grid=county["ga1"], post="grid_worker", user=worker)
    client.force_login(boss)
    response = client.get("/geo/staff/")
    assert "张网格" in response.content.decode()
    assert response.context["summary"] == {"grids": 2, "grid_worker": 1, "info_officer": 0,
                                           "vacant_grid_worker": 1, "vacant_info_officer": 2}
    assert "张网格" not in client.get("/geo/staff/", {"post": "info_officer"}).content.decode()
    client.force_login(make_user("b_team", "village_team", division=county["vb1"]))
    assert "张网格" not in client.get("/geo/staff/").content.decode()


@pytest.mark.django_db
def test_list_pages_query_budgets(client, county, boss, django_assert_max_num_queries):
    for village in (county["va1"], county["va2"], county["vb1"]):
        for n in range(2, 12):
            grid = grid_create(actor=boss, village=village, number=n)
            worker = make_user(f"gw{grid.code}", "grid_worker", grid=grid)
            grid_assign_post(actor=boss, grid=grid, post="grid_worker", user=worker)
        make_household(village, head="户")
    client.force_login(boss)
    budgets = {"/geo/": 14, "/geo/grids/": 14, "/geo/staff/": 14, f"/geo/{county['va1'].code}/": 20,
               f"/geo/{county['town_a'].code}/": 18, f"/geo/grids/{county['ga1'].code}/": 22}
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200, url
