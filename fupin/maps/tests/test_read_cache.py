"""The map's answers kept per process (fupin/core/readcache.py): the same answer as computed afresh, each reader's
own scope, and a new answer once a division or grid changes."""

import json
import re

import pytest

from fupin.core import readcache
from fupin.core.testing import make_user
from fupin.geo.services import grid_create


@pytest.fixture
def users(mapped):
    return {
        "leader": make_user("leader", "city_leader", division=mapped["county"]),
        "village": make_user("va1_team", "village_team", division=mapped["va1"]),
        "other_village": make_user("vb1_team", "village_team", division=mapped["vb1"]),
    }


PATHS = ["/api/v1/map/boundaries?level=village", "/api/v1/map/boundaries?level=grid", "/api/v1/map/boundaries?level=town",
         "/map/"]


def _answers(client, user) -> dict:
    client.force_login(user)
    out = {}
    for path in PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        out[path] = _without_csrf(response.content.decode())
    return out


def _without_csrf(body: str) -> str:
    """CSRF tokens are masked afresh in every response."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    body = re.sub(r'data-csrf="[^"]+"', "", body)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", body)


def test_cached_answers_equal_fresh_ones_for_every_scope(client, mapped, users, settings):
    settings.FUPIN_READ_CACHE_SECONDS = 0
    fresh = {name: _answers(client, user) for name, user in users.items()}
    settings.FUPIN_READ_CACHE_SECONDS = 60
    first = {name: _answers(client, user) for name, user in users.items()}
    again = {name: _answers(client, user) for name, user in users.items()}  # from the cache
    assert first == fresh and again == fresh
    # each scope its own answer: a village team never gets the county's (or another village's) boundaries
    villages = {name: {f["properties"]["code"] for f in
                       json.loads(again[name]["/api/v1/map/boundaries?level=village"])["features"]}
                for name in users}
    assert villages["village"] == {mapped["va1"].code}
    assert villages["other_village"] == {mapped["vb1"].code}
    assert {mapped["va1"].code, mapped["vb1"].code} <= villages["leader"]
    assert mapped["town_b"].name not in again["village"]["/map/"]
    assert mapped["va1"].name not in again["other_village"]["/map/"]


def test_a_new_grid_shows_at_once(client, mapped, users):
    client.force_login(users["leader"])
    before = client.get("/api/v1/map/boundaries?level=grid").json()
    page_before = client.get("/map/").content.decode()
    grid = grid_create(actor=users["leader"], village=mapped["va2"], number=7, name="新建第7网格")
    after = client.get("/api/v1/map/boundaries?level=grid").json()
    codes = {f["properties"]["code"] for f in after["features"]}
    assert len(after["features"]) >= len(before["features"])
    assert grid.code in codes or grid.lng is None  # drawn when it has a boundary or a point
    page_after = client.get("/map/").content.decode()
    assert "新建第7网格" in page_after and "新建第7网格" not in page_before


def test_a_renamed_village_shows_at_once(client, mapped, users):
    client.force_login(users["leader"])
    assert "甲一村改名" not in client.get("/api/v1/map/boundaries?level=village").content.decode()
    va1 = mapped["va1"]
    va1.name = "甲一村改名"
    va1.save()
    assert "甲一村改名" in client.get("/api/v1/map/boundaries?level=village").content.decode()


def test_the_cache_is_bounded_and_expires(settings):
    settings.FUPIN_READ_CACHE_SECONDS = 60
    calls = []
    for i in range(readcache.MAX_ENTRIES + 10):
        readcache.cached("t", (i,), lambda i=i: calls.append(i) or i)
    assert len(readcache._entries) == readcache.MAX_ENTRIES
    assert readcache.cached("t", (readcache.MAX_ENTRIES + 9,), lambda: "recomputed") == readcache.MAX_ENTRIES + 9
    assert readcache.cached("t", (0,), lambda: "recomputed") == "recomputed"  # the oldest went first
    settings.FUPIN_READ_CACHE_SECONDS = 0
    assert readcache.cached("t", (1,), lambda: "fresh") == "fresh"
