"""One filter declaration per list (fupin/core/filters.py): each kind reads and refuses alike; the page says a refused
value in Chinese and lists unfiltered by it, the API answers 422 naming the parameter; never a 500."""

import datetime as dt

import pytest
from django.utils import translation

from fupin.core.filters import Filter, FilterDeclarationError, FilterSet
from fupin.core.testing import make_household, make_user

pytestmark = pytest.mark.django_db

SET = FilterSet(
    Filter("state", "状态", choices=[("open", "未办"), ("done", "已办")], field="state"),
    Filter("kinds", "类别", kind="choices", choices=lambda user: [("a", "甲"), ("b", "乙")], field="kind"),
    Filter("q", "搜索", kind="text", max_length=5),
    Filter("start", "起", kind="date"),
    Filter("late", "逾期", kind="flag", aliases=("overdue",)),
    Filter("year", "年", kind="int", min=2000, max=2100),
    Filter("area", "区划", kind="area"),
)


def _read(county, **data):
    from fupin.accounts.models import User

    user = User.objects.filter(username="town-a").first() or make_user("town-a", "town_staff",
                                                                      division=county["town_a"])
    with translation.override("zh-hans"):
        return SET.read(data, user)


def test_each_kind_reads_its_values(county):
    f = _read(county, state="open", kinds="a,b", q=" 张 ", start="2024-03-01", overdue="true", year="2024",
              area=county["va1"].code)
    assert f.errors == {}
    assert f.values == {"state": "open", "kinds": ["a", "b"], "q": "张", "start": dt.date(2024, 3, 1), "late": True,
                        "year": 2024, "area": county["va1"].code}
    assert f.given == ("state", "kinds", "q", "start", "late", "year", "area")


def test_absent_and_empty_values_are_the_filters_empty_values(county):
    f = _read(county, state="", q="   ")
    assert f.errors == {} and f.given == ()
    assert f.values == {"state": "", "kinds": [], "q": "", "start": None, "late": False, "year": None, "area": ""}


@pytest.mark.parametrize(("name", "value"), [
    ("state", "bogus"), ("kinds", "a,c"), ("q", "太长的搜索词"), ("q", "a\x00b"), ("start", "2024-13-01"),
    ("start", "1e9999"), ("late", "maybe"), ("year", "1999"), ("year", "1e9999"), ("year", "9" * 40),
    ("area", "4205"), ("area", "420581101201"),  # not a code; a village of the other town
])
def test_a_refused_value_is_said_in_chinese_and_not_applied(county, name, value):
    f = _read(county, **{name: value})
    assert list(f.errors) == [name]
    assert f.errors[name].startswith(SET[name].label) and f.errors[name].endswith("此条件未使用"), f.errors[name]
    assert f.values[name] == SET[name].empty and name not in f.given


def test_an_area_is_read_as_the_prefix_inside_the_jurisdiction(county):
    assert _read(county, area=county["town_a"].code).values["area"] == county["town_a"].code[:9]
    assert _read(county, area=county["county"].code).values["area"] == county["town_a"].code[:9]  # the user's own
    assert _read(county, area=county["ga1"].code).values["area"] == county["ga1"].code


def test_apply_narrows_by_the_declared_lookups_only():
    class Recorder:
        def __init__(self):
            self.calls = []

        def filter(self, **kw):
            self.calls.append(kw)
            return self

    f = SET.read({"state": "done", "kinds": "b", "q": "x"}, None)
    qs = f.apply(Recorder())
    assert qs.calls == [{"state": "done"}, {"kind__in": ["b"]}]  # q has no lookup: the selector applies it
    assert f.apply(Recorder(), skip=("state",)).calls == [{"kind__in": ["b"]}]
    # a selector's keywords: the values set (not empty, not False), each by its declared lookup
    assert SET.narrow(Recorder(), {"state": "open", "late": False, "q": ""}, None).calls == [{"state": "open"}]
    with pytest.raises(TypeError, match="no such filter: colour"):
        SET.narrow(Recorder(), {"colour": "red"}, None)


def test_wrong_declarations_fail_at_import():
    with pytest.raises(FilterDeclarationError, match="unknown kind"):
        Filter("x", kind="colour")
    with pytest.raises(FilterDeclarationError, match="needs choices"):
        Filter("x")
    with pytest.raises(FilterDeclarationError, match="takes no choices"):
        Filter("x", kind="text", choices=[("a", "a")])
    with pytest.raises(FilterDeclarationError, match="declared twice"):
        FilterSet(Filter("x", kind="text"), Filter("y", kind="text", aliases=("x",)))


# The lists: the page and the API read one declaration ---------------------------------------------------------------

BAD = [
    ("/api/v1/dispatch/orders?state=bogus", "state"),
    ("/api/v1/dispatch/orders?overdue=maybe", "overdue"),
    ("/api/v1/dispatch/orders?department=NOPE", "department"),
    ("/api/v1/dispatch/orders?q=" + "长" * 51, "q"),
    ("/api/v1/dispatch/minqing?status=bogus", "status"),
    ("/api/v1/dispatch/minqing?start=2024-02-30", "start"),
    ("/api/v1/quality/problems?village=4205", "village"),
    ("/api/v1/quality/problems?village=420581101201", "village"),  # the other town's village
    ("/api/v1/quality/problems?rule=no_such_rule", "rule"),
    ("/api/v1/assistance/lights?colour=blue", "colour"),
    ("/api/v1/assistance/lights?cadre=1e9999", "cadre"),
    ("/api/v1/assistance/lights?no_cadre=2", "no_cadre"),
    ("/api/v1/eligibility/findings?status=bogus", "status"),
    ("/api/v1/lifecycle/procedures?kind=bogus", "kind"),
    ("/api/v1/lifecycle/procedures?division=420581101000", "division"),  # the other town
    ("/api/v1/households/?year_exited=1e9999", "year_exited"),
    ("/api/v1/households/?grid=12345", "grid"),
    ("/api/v1/households/?light=purple", "light"),  # a filter another capability adds
]


@pytest.fixture
def town_client(county, client):
    make_household(county["va1"], head="王五")
    client.force_login(make_user("town-a", "town_staff", division=county["town_a"]))
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(("url", "name"), BAD)
def test_the_api_answers_422_naming_the_parameter(town_client, url, name):
    r = town_client.get(url)
    assert r.status_code == 422, (r.status_code, r.content[:300])
    assert [d["loc"][-1] for d in r.json()["detail"]] == [name]


@pytest.mark.parametrize("url", [
    "/api/v1/dispatch/orders?state=unresolved&overdue=1&urgency=urgent&type=&q=王",
    "/api/v1/dispatch/minqing?status=waiting&start=2024-01-01&end=2030-01-01",
    "/api/v1/assistance/lights?colour=red&no_cadre=true",
    "/api/v1/eligibility/findings?status=open",
    "/api/v1/lifecycle/procedures?status=all&kind=exit",
    "/api/v1/households/?status=1,4&poor=all&has_grid=0&light=red",
])
def test_the_api_takes_good_values(town_client, url):
    r = town_client.get(url)
    assert r.status_code == 200, r.content[:300]


@pytest.mark.parametrize("url", [
    "/dispatch/orders/?state=bogus&overdue=maybe",
    "/dispatch/minqing/?status=bogus&start=2024-02-30",
    "/assistance/lights/?colour=blue&cadre=x",
    "/comparison/findings/?status=bogus",
    "/procedures/?kind=bogus",
    "/households/?year_exited=abc&grid=12345",
])
def test_the_page_says_what_it_refused_in_chinese(town_client, url):
    r = town_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200, r.content[:300]
    text = r.content.decode()
    assert "此条件未使用" in text, text[:2000]


def test_each_list_api_declares_its_pages_filters():
    """The API endpoint and the page read one declaration: the endpoint's query parameters are the list's filters."""
    from fupin.api.api import api
    from fupin.assistance.filters import LIGHT_FILTERS
    from fupin.dispatch.filters import ORDER_FILTERS, REPORT_FILTERS
    from fupin.eligibility.filters import FINDING_FILTERS
    from fupin.lifecycle.filters import PROCEDURE_FILTERS
    from fupin.quality.filters import PROBLEM_FILTERS
    from fupin.registry.filters import household_filters

    paths = api.get_openapi_schema(path_prefix="/api/v1/")["paths"]
    for path, filters in [("/api/v1/dispatch/orders", ORDER_FILTERS), ("/api/v1/dispatch/minqing", REPORT_FILTERS),
                          ("/api/v1/assistance/lights", LIGHT_FILTERS), ("/api/v1/quality/problems", PROBLEM_FILTERS),
                          ("/api/v1/eligibility/findings", FINDING_FILTERS),
                          ("/api/v1/lifecycle/procedures", PROCEDURE_FILTERS), ("/api/v1/households/", household_filters())]:
        names = [p["name"] for p in paths[path]["get"]["parameters"]]
        declared = [f.name for f in filters]
        paging_and_area = {"division", "limit", "offset"} - set(declared)
        assert declared == [n for n in names if n not in paging_and_area], path
