"""The household layer, boundaries and choropleth: formats, filters, clusters, scoping and query budgets."""

import pytest
from django.db.models import Case, CharField, Value, When

from fupin.core import extensions
from fupin.core.testing import make_user
from fupin.maps import layers, selectors

LAYER_QUERY_BUDGET = 8  # session, user, area, code lists, legend counts, points (+ bbox count)


@pytest.fixture
def users(mapped):
    return {
        "leader": make_user("leader", "city_leader", division=mapped["county"]),
        "village": make_user("va1_team", "village_team", division=mapped["va1"]),
        "grid": make_user("ga1_worker", "grid_worker", grid=mapped["ga1"]),
    }


def test_points_of_the_county_in_compact_form(client, mapped, users, django_assert_max_num_queries):
    client.force_login(users["leader"])
    with django_assert_max_num_queries(LAYER_QUERY_BUDGET):
        data = client.get("/api/v1/map/households").json()
    assert data["mode"] == "points" and data["complete"] is True
    assert data["total"] == 7 and data["located"] == 6 and data["unlocated"] == 1
    legend = {item["code"]: item for item in data["legend"]}
    assert legend["0"]["color"] == "#d7301f" and legend["0"]["n"] == 4
    assert legend["2"]["n"] == 1 and legend["1"]["n"] == 1
    ids = {p[0] for p in data["points"]}
    assert mapped["hh"]["a_resident"].pk not in ids  # not registered poor
    point = next(p for p in data["points"] if p[0] == mapped["hh"]["a_open"].pk)
    assert point[1:3] == [111.4, 30.5]
    assert data["legend"][point[3]]["code"] == "0"


def test_the_legend_speaks_the_readers_language(client, mapped, users, settings):
    """The legend (and the filter list the map builds from it) shows the built-in code labels through the catalogue:
    English labels for an English reader, the code list's own Chinese labels otherwise."""
    client.force_login(users["leader"])
    zh = {i["code"]: i["label"] for i in client.get("/api/v1/map/households?color=cause").json()["legend"]}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = {i["code"]: i["label"] for i in client.get("/api/v1/map/households?color=cause").json()["legend"]}
    assert zh["1"] == "因病" and zh["4"] == "因灾"
    assert en["1"] == "illness" and en["4"] == "disaster" and set(en) == set(zh)


def test_filters_by_division_status_cause_and_attribute(client, mapped, users):
    client.force_login(users["leader"])

    def ids(query):
        return {p[0] for p in client.get("/api/v1/map/households?" + query).json()["points"]}

    hh = mapped["hh"]
    assert ids(f"division={mapped['town_b'].code}") == {hh["b_secret"].pk, hh["b_two"].pk}
    assert ids(f"division={mapped['ga1'].code}") == {hh["a_open"].pk, hh["a_pre"].pk, hh["a_out"].pk}
    assert ids("status=2,3") == {hh["a_pre"].pk, hh["a2_back"].pk}
    assert ids("cause=1") == {hh["a_open"].pk, hh["a_out"].pk}
    assert ids("attribute=2") == {hh["a2_back"].pk}
    assert ids(f"division={mapped['town_a'].code}&status=0") == {hh["a_open"].pk}


def test_colour_by_another_attribute(client, mapped, users):
    client.force_login(users["leader"])
    data = client.get("/api/v1/map/households?color=cause").json()
    assert data["color"] == "cause"
    by_code = {item["code"]: item["n"] for item in data["legend"]}
    assert by_code["1"] == 2 and by_code["2"] == 2
    assert client.get("/api/v1/map/households?color=nonsense").status_code == 400
    assert client.get("/api/v1/map/households?bbox=1,2,3").status_code == 400


def test_clusters_when_there_are_too_many_points(client, mapped, users, monkeypatch):
    monkeypatch.setattr(selectors, "POINTS_MAX", 2)
    client.force_login(users["leader"])
    data = client.get("/api/v1/map/households?zoom=10&bbox=111.3,30.3,111.6,30.6").json()
    assert data["mode"] == "clusters" and data["complete"] is False
    assert sum(c[2] for c in data["clusters"]) == 6
    for lng, lat, n, by_color, _hl in data["clusters"]:
        assert sum(by_color) == n and 111.3 < lng < 111.6 and 30.3 < lat < 30.6
    # zoomed into one village, the points of that view come back as points
    near = client.get("/api/v1/map/households?zoom=16&bbox=111.425,30.415,111.435,30.425").json()
    assert near["mode"] == "points" and {p[0] for p in near["points"]} == {
        mapped["hh"]["b_secret"].pk, mapped["hh"]["b_two"].pk}


def test_a_registered_attribute_filters_colours_and_highlights(client, mapped, users):
    """What the assistance / dispatch capabilities do: an attribute from their own table (here an expression)."""
    pinned_pk = mapped["hh"]["b_two"].pk
    attr = layers.HouseholdAttribute(
        key="pinned_test", label="置顶", order=99, highlight="1",
        choices=lambda: [("1", "置顶", "#000000"), ("0", "未置顶", "#cccccc")],
        expression=lambda: Case(When(pk=pinned_pk, then=Value("1")), default=Value("0"), output_field=CharField()))
    with extensions.added(attr):
        client.force_login(users["leader"])
        data = client.get("/api/v1/map/households").json()
        flags = {p[0]: p[4] for p in data["points"]}
        assert flags[pinned_pk] == 1 and sum(flags.values()) == 1
        only = client.get("/api/v1/map/households?pinned_test=1").json()
        assert [p[0] for p in only["points"]] == [pinned_pk]
        colored = client.get("/api/v1/map/households?color=pinned_test").json()
        assert {i["code"]: i["n"] for i in colored["legend"]} == {"1": 1, "0": 6}
        config = client.get("/api/v1/map/config").json()
        assert any(a["key"] == "pinned_test" and a["highlight"] == "1" for a in config["attributes"])



def test_village_user_layers_hold_only_their_village(client, mapped, users):
    client.force_login(users["village"])
    data = client.get("/api/v1/map/households").json()
    assert {p[0] for p in data["points"]} == {mapped["hh"][k].pk for k in ("a_open", "a_pre", "a_out")}
    assert client.get(f"/api/v1/map/households?division={mapped['vb1'].code}").status_code == 404
    for level in ("county", "town", "village", "grid"):
        fc = client.get(f"/api/v1/map/boundaries?level={level}").json()
        codes = {f["properties"]["code"] for f in fc["features"]}
        assert codes <= {mapped["va1"].code, mapped["ga1"].code}, (level, codes)
    assert client.get(f"/api/v1/map/households/{mapped['hh']['b_secret'].pk}").status_code == 404
    results = client.get("/api/v1/map/search?q=乙秘密").json()["results"]
    assert results == []


def test_grid_worker_sees_their_grid(client, mapped, users):
    client.force_login(users["grid"])
    data = client.get("/api/v1/map/households").json()
    assert data["total"] == 3


def test_boundaries_are_geojson_with_the_schematic_flag(client, mapped, users):
    client.force_login(users["leader"])
    fc = client.get("/api/v1/map/boundaries?level=village").json()
    assert fc["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in fc["features"]}
    assert by_code[mapped["va1"].code]["geometry"]["type"] == "Polygon"
    assert by_code[mapped["va1"].code]["properties"]["synthetic"] is True
    assert mapped["cb"].code not in by_code  # a community with neither boundary nor point
    grids = client.get(f"/api/v1/map/boundaries?level=grid&division={mapped['va1'].code}").json()
    assert [f["properties"]["code"] for f in grids["features"]] == [mapped["ga1"].code]
    assert client.get("/api/v1/map/boundaries?level=planet").status_code == 400


def test_choropleth_reads_the_snapshot(client, mapped, users):
    from fupin.dashboards.services import refresh_snapshots

    refresh_snapshots()
    client.force_login(users["leader"])
    data = client.get("/api/v1/map/choropleth?indicator=poor_households&level=village").json()
    assert data["values"] == {mapped["va1"].code: 3, mapped["va2"].code: 2, mapped["vb1"].code: 2}
    assert data["computed_at"]
    towns = client.get("/api/v1/map/choropleth?indicator=incidence&level=town").json()
    assert set(towns["values"]) == {mapped["town_a"].code, mapped["town_b"].code}
    client.force_login(users["village"])
    mine = client.get("/api/v1/map/choropleth?indicator=poor_households&level=village").json()
    assert mine["values"] == {mapped["va1"].code: 3}
    assert client.get("/api/v1/map/choropleth?indicator=nope").status_code == 400


def test_class_breaks():
    assert selectors.class_breaks([]) == []
    assert selectors.class_breaks([1, 1, 1]) == []
    breaks = selectors.class_breaks(list(range(100)))
    assert breaks == sorted(breaks) and len(breaks) == 4


def test_a_change_shows_on_the_next_request_despite_the_cache(client, mapped, users, monkeypatch):
    from fupin.core.testing import make_household

    monkeypatch.setattr(selectors, "POINTS_MAX", 2)  # clusters: the grouped counts come from the cache
    client.force_login(users["leader"])
    url = "/api/v1/map/households?zoom=10&bbox=111.3,30.3,111.6,30.6"
    assert client.get(url).json()["located"] == 6
    assert client.get(url).json()["located"] == 6
    make_household(mapped["vb1"], grid=mapped["gb1"], head="乙新户", members=1, is_registered_poor=True,
                   poor_code="420581101201099", poverty_status="0", lng=111.431, lat=30.422)
    data = client.get(url).json()
    assert data["located"] == 7 and sum(c[2] for c in data["clusters"]) == 7
