"""The scoping sweep: for every registered page and API endpoint, a user of village A gets nothing of village B.

It walks the URL resolver (pages and the /api/v1/ routes alike), fills every path parameter with every identifier
of village B's objects (codes, 户编号, uuids, primary keys, usernames) and asserts that no response shows B's markers
(village name, household and member names, ID numbers in full or masked). Objects come from the registry factories
and from each app's optional `fupin/<app>/testing.py: sweep_objects(*, village, grid, actor)`, so a new capability
is swept as soon as it exists.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
from importlib.util import find_spec

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from fupin.core import idnumber
from fupin.core.appconfig import fupin_apps
from fupin.core.testing import make_household, make_user

SKIP_PREFIXES = ("admin/", "i18n/", "static/", "files/", "logout/", "api/v1/docs", "api/v1/openapi.json")
PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def _routes() -> list[str]:
    out = []
    for route in _walk(get_resolver().url_patterns):
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        if route.startswith(SKIP_PREFIXES) or "(?P" in route:
            continue
        out.append(route)
    return sorted(set(out))


def _identifiers(prefix: str) -> dict[str, set[str]]:
    """Identifiers of every scoped row inside `prefix`, by converter kind."""
    ids: dict[str, set[str]] = {"int": set(), "uuid": set(), "str": set()}
    for model in apps.get_models():
        field = getattr(model, "scope_field", "area_code")
        if field is None or not any(f.name == field.split("__")[0] for f in model._meta.get_fields()):
            continue
        for obj in model._default_manager.filter(**{f"{field}__startswith": prefix}).order_by("pk")[:1]:
            ids["int"].add(str(obj.pk))
            ids["str"].add(str(obj.pk))
            for attr in ("uuid", "code", "poor_code", "username", "device_id"):
                value = getattr(obj, attr, None)
                if value:
                    ids["uuid" if attr == "uuid" else "str"].add(str(value))
    ids["str"] |= ids["uuid"]
    return ids


def _fill(route: str, ids: dict[str, set[str]]) -> list[str]:
    params = list(PARAM.finditer(route))
    if not params:
        return ["/" + route]
    choices = []
    for m in params:
        conv = m.group("conv") or "str"
        choices.append(sorted(ids.get(conv, ids["str"]) if conv in ids else ids["str"]))
    urls = []
    for combo in itertools.islice(itertools.product(*choices), 60):
        url = route
        for m, value in zip(params, combo, strict=True):
            url = url.replace(m.group(0), value, 1)
        urls.append("/" + url)
    return urls


@pytest.fixture
def two_villages(county):
    va, vb, ga, gb = county["va1"], county["vb1"], county["ga1"], county["gb1"]
    actor = make_user("sweep_admin", "city_office", division=county["county"])
    hh_a = make_household(va, grid=ga, head="甲村民", members=3, is_registered_poor=True, poor_code="A0001",
                          poverty_status="0", attribute="1", main_cause="1")
    hh_b = make_household(vb, grid=gb, head="乙秘密", members=3, is_registered_poor=True, poor_code="B0001",
                          poverty_status="0", attribute="1", main_cause="1")
    make_household(vb, head="乙无格", members=2)
    make_user("village_b_worker", "grid_worker", grid=gb, display_name="乙网格员")
    for app in fupin_apps():
        if find_spec(f"{app.name}.testing") is not None:
            module = importlib.import_module(f"{app.name}.testing")
            if hasattr(module, "sweep_objects"):
                module.sweep_objects(village=va, grid=ga, actor=actor)
                module.sweep_objects(village=vb, grid=gb, actor=actor)
    user_a = make_user("village_a_team", "village_team", division=va, display_name="甲工作队")
    markers = {"乙一村", "乙秘密", "乙无格", "乙网格员", gb.code, "B0001"}
    for number in hh_b.members.values_list("id_number", flat=True):
        markers |= {number, idnumber.mask(number)}
    return {"user_a": user_a, "hh_a": hh_a, "hh_b": hh_b, "markers": markers, "prefix_b": vb.code}


def test_user_of_village_a_gets_nothing_of_village_b(client, two_villages):
    client.force_login(two_villages["user_a"])
    ids = _identifiers(two_villages["prefix_b"])
    leaks, checked = [], 0
    for route in _routes():
        for url in _fill(route, ids):
            response = client.get(url)
            checked += 1
            if response.status_code != 200 or getattr(response, "streaming", False):
                continue
            body = response.content.decode("utf-8", errors="replace")
            if response.get("Content-Type", "").startswith("application/json"):
                body = json.dumps(response.json(), ensure_ascii=False)
            found = [m for m in two_villages["markers"] if m and m in body]
            if found:
                leaks.append(f"{url}: {found}")
    assert checked > 0
    print(f"scoping sweep: {checked} requests over {len(_routes())} routes")
    assert not leaks, "village B's data visible to a village A user:\n" + "\n".join(leaks)


def test_sweep_is_not_vacuous(client, two_villages):
    """The same machinery sees village A's own data, so an empty page cannot pass for a scoped one."""
    client.force_login(two_villages["user_a"])
    response = client.get("/api/v1/geo/divisions")
    assert response.status_code == 200
    assert "甲一村" in response.content.decode()
    assert "乙一村" not in response.content.decode()
