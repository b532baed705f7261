"""The dashboard kept per process (fupin/core/readcache.py): the same page and figures as computed afresh, each
reader's own scope, new figures as soon as the snapshot is recomputed, fewer queries when repeated."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fupin.core.testing import make_user
from fupin.dashboards.services import refresh_snapshots
from fupin.registry.models import Household


@pytest.fixture
def ready(mapped):
    refresh_snapshots()
    mapped["leader"] = make_user("leader", "city_leader", division=mapped["county"])
    mapped["village_user"] = make_user("va1_team", "village_team", division=mapped["va1"])
    mapped["town_b_user"] = make_user("tb_staff", "town_staff", division=mapped["town_b"])
    return mapped


def _answers(client, ready) -> dict:
    out = {}
    for name in ("leader", "village_user", "town_b_user"):
        client.force_login(ready[name])
        for path in ("/dashboard/", "/api/v1/dashboard/figures", f"/dashboard/?division={ready['county'].code}"):
            response = client.get(path)
            out[name, path] = (response.status_code, _without_csrf(response.content.decode()))
    return out


def _without_csrf(body: str) -> str:
    """CSRF tokens are masked afresh in every response."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    body = re.sub(r'data-csrf="[^"]+"', "", body)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", body)


def test_cached_dashboards_equal_fresh_ones_for_every_scope(client, ready, settings):
    settings.FUPIN_READ_CACHE_SECONDS = 0
    fresh = _answers(client, ready)
    settings.FUPIN_READ_CACHE_SECONDS = 60
    assert _answers(client, ready) == fresh
    assert _answers(client, ready) == fresh  # from the cache
    assert fresh["village_user", "/dashboard/"][0] == 200
    assert "乙镇" not in fresh["village_user", "/api/v1/dashboard/figures"][1]
    assert "甲镇" not in fresh["town_b_user", "/api/v1/dashboard/figures"][1]
    assert fresh["town_b_user", f"/dashboard/?division={ready['county'].code}"][0] == 404


def test_new_figures_show_as_soon_as_the_snapshot_is_recomputed(client, ready):
    client.force_login(ready["leader"])
    before = client.get("/api/v1/dashboard/totals").json()["totals"]["poor_households"]
    client.get("/api/v1/dashboard/figures")
    Household.objects.filter(pk=ready["hh"]["a_resident"].pk).update(is_registered_poor=True)
    figures = {f["key"]: f["value"] for f in client.get("/api/v1/dashboard/figures").json()["figures"]}
    assert figures["poor_households"] == before  # the snapshot, not the registry
    refresh_snapshots()
    figures = {f["key"]: f["value"] for f in client.get("/api/v1/dashboard/figures").json()["figures"]}
    assert figures["poor_households"] == before + 1


def test_a_repeated_dashboard_costs_fewer_queries(client, ready):
    client.force_login(ready["leader"])
    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/dashboard/figures")
    with CaptureQueriesContext(connection) as again:
        client.get("/api/v1/dashboard/figures")
    assert len(again) < len(first)
    assert not any("dashboards_figuresnapshot" in q["sql"] for q in again.captured_queries)
