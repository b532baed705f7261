"""Dashboard pages and API: the user's level, drill-down to a grid, scoping, query budgets, exports."""

import io

import openpyxl
import pytest

from fupin.core.testing import make_user
from fupin.dashboards.services import refresh_snapshots

# Dashboard page: session, user, area, snapshot rows, state, children, children rows, ancestors, code lists,
# navigation badges ... a fixed number whatever the registry's size.
PAGE_QUERY_BUDGET = 14
API_QUERY_BUDGET = 10


@pytest.fixture
def ready(mapped):
    refresh_snapshots()
    mapped["leader"] = make_user("leader", "city_leader", division=mapped["county"])
    mapped["village_user"] = make_user("va1_team", "village_team", division=mapped["va1"])
    return mapped


def test_county_dashboard_shows_towns_and_links_to_households(client, ready, django_assert_max_num_queries):
    client.force_login(ready["leader"])
    with django_assert_max_num_queries(PAGE_QUERY_BUDGET):
        response = client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "甲镇" in body and "乙镇" in body
    assert f"/dashboard/?division={ready['town_a'].code}" in body
    assert f"/households/?division={ready['county'].code}&amp;poor=1" in body
    assert 'data-chart="poor_households_by_cause"' in body
    assert 'id="dash-specs"' in body


def test_drill_down_from_county_to_grid(client, ready):
    client.force_login(ready["leader"])
    town = client.get(f"/dashboard/?division={ready['town_a'].code}").content.decode()
    assert "甲一村" in town and "甲二村" in town and "乙一村" not in town
    village = client.get(f"/dashboard/?division={ready['va1'].code}").content.decode()
    assert "甲一村第1网格" in village
    grid = client.get(f"/dashboard/?division={ready['ga1'].code}")
    assert grid.status_code == 200
    body = grid.content.decode()
    assert "甲一村第1网格" in body and f"/households/?division={ready['ga1'].code}" in body


def test_village_without_grids_shows_households_outside_grids(client, ready):
    client.force_login(ready["leader"])
    body = client.get(f"/dashboard/?division={ready['va2'].code}").content.decode()
    assert "甲二村" in body


def test_village_user_sees_only_their_village(client, ready):
    client.force_login(ready["village_user"])
    response = client.get("/dashboard/")
    body = response.content.decode()
    assert response.status_code == 200
    assert ("甲一村" in body and "乙一村" not in body and "甲镇" not in body.split("</header>", 1)[-1].split("footer")[0]) \
        or "乙一村" not in body
    assert client.get(f"/dashboard/?division={ready['vb1'].code}").status_code == 404
    assert client.get(f"/dashboard/?division={ready['county'].code}").status_code == 404
    api = client.get("/api/v1/dashboard/figures").json()
    assert api["area"]["code"] == ready["va1"].code
    assert {c["code"] for c in api["children"]} == {ready["ga1"].code}
    totals = client.get("/api/v1/dashboard/totals").json()["totals"]
    assert totals["poor_households"] == 3
    assert client.get(f"/api/v1/dashboard/totals?division={ready['county'].code}").status_code == 404
    assert client.get(f"/api/v1/dashboard/figures?division={ready['vb1'].code}").status_code == 404


def test_api_figures_and_budget(client, ready, django_assert_max_num_queries):
    client.force_login(ready["leader"])
    with django_assert_max_num_queries(API_QUERY_BUDGET):
        data = client.get("/api/v1/dashboard/figures").json()
    assert data["area"]["level"] == "county" and data["computed_at"]
    figs = {f["key"]: f for f in data["figures"]}
    assert figs["poor_households"]["value"] == 7
    status = {i["code"]: i["value"] for i in figs["poor_households_by_status"]["items"]}
    assert status == {"0": 4, "2": 1, "1": 1, "3": 1}
    assert all(i["url"].startswith("/households/?") for i in figs["poor_households_by_status"]["items"])
    assert {c["code"] for c in data["children"]} == {ready["town_a"].code, ready["town_b"].code}
    assert client.get("/api/v1/dashboard/state").json()["rows"] > 0


def test_the_page_says_when_figures_were_computed_and_that_changes_wait(client, ready):
    from fupin.dashboards.services import mark_stale

    client.force_login(ready["leader"])
    assert '<span class="computed"' in client.get("/dashboard/").content.decode()
    mark_stale(reason="test")
    body = client.get("/dashboard/").content.decode()
    assert 'class="stale"' in body


def test_export_xlsx_every_table_and_one(client, ready):
    client.force_login(ready["leader"])
    response = client.get("/dashboard/export.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(wb.sheetnames) >= 5
    one = openpyxl.load_workbook(io.BytesIO(client.get(
        "/dashboard/export.xlsx?figure=poor_households_by_status").content))
    assert len(one.sheetnames) == 1
    rows = list(one.active.iter_rows(values_only=True))
    assert rows[-1][1] == 7  # the total of households
    children = openpyxl.load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?figure=children").content))
    names = [r[1] for r in children.active.iter_rows(min_row=5, values_only=True)]
    assert names == ["甲镇", "乙镇"]
    assert client.get("/dashboard/export.xlsx?figure=nonsense").status_code == 404


def test_leader_summary_pdf(client, ready):
    client.force_login(ready["leader"])
    response = client.get(f"/dashboard/summary.pdf?division={ready['town_a'].code}")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 5000  # the subset Chinese font is embedded


def test_refresh_needs_the_edit_capability(client, ready):
    client.force_login(ready["leader"])  # city leaders only view
    assert client.post("/dashboard/refresh/").status_code == 403
    office = make_user("office", "city_office", division=ready["county"])
    client.force_login(office)
    response = client.post("/dashboard/refresh/", {"next": "/dashboard/"})
    assert response.status_code == 302


def test_user_without_jurisdiction_gets_an_explanation(client, db):
    user = make_user("nobody", "auditor")
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert client.get("/api/v1/dashboard/figures").status_code == 404
