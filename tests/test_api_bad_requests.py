"""The requests the fuzzer found answering 500 (issue 12): each now answers 4xx, and nothing is written."""

import pytest

from fupin.core.testing import make_household, make_user
from fupin.registry.models import Household


@pytest.fixture
def api(db, county, client):
    make_household(county["va1"], head="王五")
    client.force_login(make_user("bad-county", "city_office", division=county["county"]))
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("url", [
    "/api/v1/dispatch/orders?overdue=true&state=&order_type=&department=&q=",
    "/api/v1/dispatch/minqing?category=&status=",
    "/api/v1/quality/problems?village=&rule=",
    "/api/v1/households/?q=1e9999",
    "/api/v1/households/export.csv?q=1e9999",
])
def test_empty_filters_and_huge_numbers_in_text_are_answered(api, url):
    r = api.get(url)
    assert r.status_code in (200, 404), r.content[:300]


@pytest.mark.parametrize("url", [
    "/api/v1/surveys/forms/household_income/responses?limit=-892",
    "/api/v1/assistance/lights?offset=-1",
    "/api/v1/assistance/lights?offset=99999999999999999999",
    "/api/v1/dispatch/orders?offset=-1",
    "/api/v1/dispatch/orders?offset=18446744073709551616",
    "/api/v1/dispatch/minqing?offset=99999999999999999999",
    "/api/v1/households/?offset=-1",
    "/api/v1/households/?offset=99999999999999999999",
    "/api/v1/households/?limit=0",
    "/api/v1/households/persons?limit=-1",
    "/api/v1/quality/problems?offset=-5",
])
def test_out_of_range_paging_is_422(api, url):
    r = api.get(url)
    assert r.status_code == 422, (r.status_code, r.content[:300])
    assert r.json()["detail"][0]["loc"][-1] in ("limit", "offset")


@pytest.mark.parametrize("url", ["/api/v1/dispatch/orders?q=a%00b", "/api/v1/households/?q=%00"])
def test_nul_in_a_query_is_422(api, url):
    assert api.get(url).status_code == 422


def test_household_with_no_members_is_refused(api, county):
    before = Household.objects.count()
    r = api.post("/api/v1/households/", {"members": [], "village": county["va1"].code},
                 content_type="application/json")
    assert r.status_code == 400
    assert "至少要有一名家庭成员" in r.json()["detail"]
    assert Household.objects.count() == before


def test_nul_in_a_json_body_is_refused_not_500(api, county):
    before = Household.objects.count()
    r = api.post("/api/v1/households/", {"members": [{"name": "a\x00b", "relationship": "户主"}],
                                         "village": county["va1"].code}, content_type="application/json")
    assert r.status_code in (400, 422), r.content[:300]
    assert Household.objects.count() == before


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/octet-stream", "image/png"])
@pytest.mark.parametrize("url", ["/api/v1/households/", "/api/v1/dispatch/orders", "/api/v1/dispatch/minqing"])
def test_undeclared_body_types_are_415(api, url, ctype):
    before = Household.objects.count()
    r = api.generic("POST", url, b'{"members": []}', content_type=ctype)
    assert r.status_code == 415
    assert "不支持的请求内容类型" in r.json()["detail"]
    assert Household.objects.count() == before


def test_openapi_component_names_are_unique():
    """Two response schemas of one name made the document describe /dispatch/figures with the dashboards' schema."""
    from ninja import Schema

    from fupin.api.api import api

    api.get_openapi_schema()
    seen: dict[str, type] = {}
    clashes = []

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("fupin.") and ".tests" not in sub.__module__:
                other = seen.setdefault(sub.__name__, sub)
                if other is not sub:
                    clashes.append(f"{sub.__name__}: {other.__module__} / {sub.__module__}")
            walk(sub)

    walk(Schema)
    assert not clashes, clashes
