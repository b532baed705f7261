"""Pages and API of the forms and data quality: they work, and a village A user sees nothing of village B."""

import json

import pytest

from fupin.core.testing import make_household, make_user
from fupin.quality.services import run_checks
from fupin.registry.models import Household
from fupin.surveys import services
from fupin.surveys.models import Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(county, forms):
    form = forms["household"]
    out = {}
    for tag, v, g in (("a", county["va1"], county["ga1"]), ("b", county["vb1"], county["gb1"])):
        hh = make_household(v, grid=g, head=f"{'甲乙'[tag == 'b']}秘户", is_registered_poor=True,
                            poor_code=f"{tag.upper()}100", poverty_status="0", attribute="1", main_cause="1")
        services.response_submit(actor="t", form=form, period="2016", household=hh,
                                 answers={"head_name": hh.head_name, "attribute": "1", "main_cause": "1",
                                          "poverty_status": "0", "income_wages": 10, "dropout": False})
        Household.objects.filter(pk=hh.pk).update(attribute="")
        out[tag] = hh
    run_checks(trigger="test")
    out["user_a"] = make_user("team_a", "village_team", division=county["va1"])
    out["county_user"] = make_user("office", "city_office", division=county["county"])
    return out


def test_pages_answer_for_county_staff(client, world, county):
    client.force_login(world["county_user"])
    r_b = Response.objects.get(household=world["b"])
    for url in ("/forms/", "/forms/household/", "/forms/household/v1/", "/forms/village/", "/quality/",
                "/quality/rules/", "/quality/rules/empty_attribute/", f"/quality/villages/{county['vb1'].code}/",
                r_b.get_absolute_url(), "/forms/household/export.xlsx", "/forms/household/import/",
                f"/forms/household/fill/?household={world['b'].poor_code}&period=2017",
                f"{world['b'].get_absolute_url()}"):
        assert client.get(url).status_code == 200, url
    body = client.get(f"/quality/villages/{county['vb1'].code}/").content.decode()
    assert "乙秘户" in body and "贫困户属性为空" in body


def test_village_a_user_sees_nothing_of_village_b(client, world, county):
    client.force_login(world["user_a"])
    r_b = Response.objects.get(household=world["b"])
    assert client.get(r_b.get_absolute_url()).status_code == 404
    assert client.get(f"/forms/household/fill/?household={world['b'].poor_code}").status_code == 404
    assert client.get(f"/quality/villages/{county['vb1'].code}/").status_code == 404
    for url in ("/forms/household/", "/quality/", "/api/v1/surveys/forms/household/responses",
                "/api/v1/quality/problems"):
        body = client.get(url).content.decode()
        assert "乙秘户" not in json.dumps(body, ensure_ascii=False) and "B100" not in body, url
    assert "甲秘户" in client.get("/forms/household/").content.decode()
    assert client.get(f"/api/v1/surveys/responses/{r_b.uuid}").status_code == 404
    res = client.post("/api/v1/surveys/forms/household/responses", data=json.dumps(
        {"period": "2017", "household": "B100", "answers": {}}), content_type="application/json")
    assert res.status_code == 404


def test_editor_saves_and_refuses_published(client, world, forms):
    client.force_login(world["county_user"])
    client.post("/forms/city/new-version/")
    draft = forms["city"].versions.get(number=2)
    defn = draft.definition
    defn["sections"][0]["items"].append({"key": "new_item", "label": "新题", "type": "number"})
    res = client.post("/forms/city/v2/edit/", data=json.dumps({"definition": defn, "note": "加题"}),
                      content_type="application/json")
    assert res.json()["ok"] is True
    defn["sections"][0]["items"][-1]["visible_if"] = "os.system('x')"
    res = client.post("/forms/city/v2/edit/", data=json.dumps({"definition": defn}), content_type="application/json")
    assert res.status_code == 400 and "属性访问" in res.json()["problems"][0]
    assert client.post("/forms/city/v2/preview/", data=json.dumps({"definition": defn}),
                       content_type="application/json").status_code == 200
    assert client.post("/forms/city/v2/publish/").status_code == 302
    # published: the editor refuses
    res = client.post("/forms/city/v2/edit/", data=json.dumps({"definition": defn}), content_type="application/json")
    assert res.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published and draft.note == "加题"
    # a grid worker may not design
    worker = make_user("w", "grid_worker", grid=world["a"].grid)
    client.force_login(worker)
    assert client.post("/forms/city/new-version/").status_code == 403


def test_api_submit_reports_item_problems(client, world):
    worker = make_user("wa", "grid_worker", grid=world["a"].grid)
    client.force_login(worker)
    res = client.post("/api/v1/surveys/forms/household/responses", data=json.dumps(
        {"period": "2017", "household": "A100", "answers": {"income_wages": "abc"}}), content_type="application/json")
    assert res.status_code == 400 and res.json()["errors"]["income_wages"] == "应为数字"
    res = client.post("/api/v1/surveys/forms/household/responses", data=json.dumps(
        {"period": "2017", "household": "A100", "answers": {
            "head_name": "甲秘户", "attribute": "1", "main_cause": "1", "poverty_status": "0", "income_wages": 5,
            "dropout": False}}), content_type="application/json")
    assert res.status_code == 200 and res.json()["version"] == 1
    assert client.get("/api/v1/surveys/forms/household/versions/1").json()["definition"]["sections"]


def test_grid_worker_opens_the_village_list_of_the_inbox_link(client, world, county):
    from fupin.inbox.models import InboxItem

    worker = make_user("wg_a", "grid_worker", grid=world["a"].grid)
    run_checks(trigger="test")
    item = InboxItem.objects.get(user=worker)
    client.force_login(worker)
    body = client.get(item.url).content.decode()
    assert "甲秘户" in body and "乙秘户" not in body
    assert client.get(f"/quality/villages/{county['vb1'].code}/").status_code == 404
