"""Form versions: draft → published, a published version never changes, old responses stay readable."""

import pytest

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_user
from fupin.registry.models import Household
from fupin.surveys import definitions as defs
from fupin.surveys import selectors, services
from fupin.surveys.models import FormVersion, Response

pytestmark = pytest.mark.django_db


def _answers(hh, **extra):
    base = {"head_name": hh.head_name, "attribute": "1", "main_cause": "1", "poverty_status": "0",
            "income_wages": 3000, "dropout": False}
    return {**base, **extra}


def test_shipped_forms_are_published_with_thirteen_household_categories(forms):
    assert set(forms) == {"household", "village", "city"}
    v = services.current_version(forms["household"])
    titles = [s["title"] for s in defs.sections(v.definition)]
    assert len(titles) == 13
    for t in ("家庭人口", "经济收入", "主导产业", "住房状况", "子女就学", "医疗健康", "土地林权"):
        assert t in titles
    assert "40个子项的原文没有公开" in forms["household"].description


def test_published_version_never_changes(forms):
    v = services.current_version(forms["household"])
    before = v.definition
    with pytest.raises(ServiceError, match="已发布"):
        services.version_save(actor="t", version=v, definition=defs.empty())
    with pytest.raises(ServiceError, match="已发布"):
        services.version_publish(actor="t", version=v)
    v.refresh_from_db()
    assert v.definition == before and v.is_published


def test_new_version_is_a_copy_and_old_responses_stay_readable(county, forms):
    form = forms["household"]
    hh = make_household(county["va1"], grid=county["ga1"], head="王老五", is_registered_poor=True,
                        poor_code="P1", poverty_status="0", attribute="1", main_cause="1")
    old = services.current_version(form)
    r2016 = services.response_submit(actor="t", form=form, period="2016", household=hh, answers=_answers(hh))
    draft = services.version_draft(actor="t", form=form)
    assert draft.number == old.number + 1 and draft.definition == old.definition
    assert services.version_draft(actor="t", form=form) == draft  # one draft at a time
    defn = draft.definition
    defn["sections"][0]["items"].append({"key": "wechat", "label": "微信号", "type": "text", "required": True})
    services.version_save(actor="t", version=draft, definition=defn, note="加微信号")
    services.version_publish(actor="t", version=draft)
    assert services.current_version(form) == draft
    with pytest.raises(services.FormInvalid) as exc:
        services.response_submit(actor="t", form=form, period="2017", household=hh, answers=_answers(hh))
    assert exc.value.errors == {"wechat": "必填"}
    assert not Response.objects.filter(period="2017").exists()
    r2017 = services.response_submit(actor="t", form=form, period="2017", household=hh,
                                     answers=_answers(hh, wechat="wl5"))
    r2016.refresh_from_db()
    assert r2016.form_version == old and "wechat" not in r2016.data
    assert r2017.form_version == draft and r2017.data["wechat"] == "wl5"
    layout = selectors.layout(r2016.form_version.definition, r2016.data, services.CodeOptions())
    keys = {e["key"] for s in layout for e in s["items"]}
    assert "wechat" not in keys and "head_name" in keys
    FormVersion.objects.get(pk=old.pk)  # still there, still published
    assert AuditEvent.objects.filter(action="surveys.version.publish").count() == 4


def test_response_updates_bound_registry_fields_through_the_registry(county, forms):
    form = forms["household"]
    hh = make_household(county["va1"], head="李四", members=2, is_registered_poor=True, poor_code="P2",
                        poverty_status="0", attribute="1", main_cause="1")
    version = services.current_version(form)
    initial = services.registry_answers(form, version, household=hh)
    rows = initial["members"]
    rows[1]["labour_skill"] = "1"
    rows[1]["health"] = ["2"]
    services.response_submit(actor="t", form=form, period="2016", household=hh,
                             answers={**initial, **_answers(hh, income_wages=5000, land_cultivated=2.5)})
    hh = Household.objects.get(pk=hh.pk)
    assert hh.income_wages == 5000 and float(hh.land_cultivated) == 2.5
    assert hh.net_income >= 5000
    p = hh.members.order_by("id")[1]
    assert p.labour_skill == "1" and p.health == ["2"]
    assert AuditEvent.objects.filter(action="registry.household.update", object_id=str(hh.pk)).exists()
    assert AuditEvent.objects.filter(action="registry.person.update", object_id=str(p.pk)).exists()


def test_an_older_period_does_not_overwrite_the_registry(county, forms):
    form = forms["household"]
    hh = make_household(county["va1"], head="赵六", is_registered_poor=True, poor_code="P3", poverty_status="0",
                        attribute="1", main_cause="1")
    services.response_submit(actor="t", form=form, period="2017", household=hh, answers=_answers(hh,
                             income_wages=8000))
    services.response_submit(actor="t", form=form, period="2016", household=hh, answers=_answers(hh,
                             income_wages=1000))
    assert Household.objects.get(pk=hh.pk).income_wages == 8000


def test_village_form_saves_the_village_profile(county, forms):
    from fupin.registry.models import VillageProfile

    services.response_submit(actor="t", form=forms["village"], period="2016", division=county["va1"],
                             answers={"village_attribute": "贫困村", "households_total": 300,
                                      "population_total": 900})
    assert VillageProfile.objects.get(village=county["va1"], year=2016).population_total == 900
    with pytest.raises(services.FormInvalid) as exc:
        services.response_submit(actor="t", form=forms["village"], period="2017", division=county["va1"],
                                 answers={"village_attribute": "贫困村", "households_total": 300,
                                          "population_total": 100})
    assert exc.value.errors["population_total"] == "总人口不能少于总户数"
    with pytest.raises(ServiceError, match="行政村"):
        services.response_submit(actor="t", form=forms["village"], period="2016", division=county["town_a"],
                                 answers={})


def test_stale_client_is_refused(county, forms):
    from fupin.core.errors import ConflictError

    form = forms["city"]
    r = services.response_submit(actor="t", form=form, period="2016", division=county["county"],
                                 answers={"poor_households": 10, "poor_persons": 30})
    services.response_submit(actor="t", form=form, period="2016", division=county["county"],
                             answers={"poor_households": 11, "poor_persons": 30}, expected_version=r.version)
    with pytest.raises(ConflictError):
        services.response_submit(actor="t", form=form, period="2016", division=county["county"],
                                 answers={"poor_households": 12, "poor_persons": 30}, expected_version=r.version)
    assert Response.objects.get(pk=r.pk).data["poor_households"] == 11


def test_definition_with_bad_expression_is_refused(forms):
    draft = services.version_draft(actor="t", form=forms["city"])
    defn = draft.definition
    defn["sections"][0]["items"][0]["visible_if"] = "__import__('os').system('x')"
    with pytest.raises(ServiceError, match="不允许"):
        services.version_save(actor="t", version=draft, definition=defn)
    defn["sections"][0]["items"][0]["visible_if"] = "no_such_item > 1"
    with pytest.raises(ServiceError, match="未知字段"):
        services.version_save(actor="t", version=draft, definition=defn)


def test_grid_user_sees_only_own_responses(county, forms):
    form = forms["household"]
    a = make_household(county["va1"], grid=county["ga1"], head="甲户", is_registered_poor=True, poor_code="A1",
                       poverty_status="0", attribute="1", main_cause="1")
    b = make_household(county["vb1"], grid=county["gb1"], head="乙户", is_registered_poor=True, poor_code="B1",
                       poverty_status="0", attribute="1", main_cause="1")
    for hh in (a, b):
        services.response_submit(actor="t", form=form, period="2016", household=hh, answers=_answers(hh))
    user = make_user("wa", "grid_worker", grid=county["ga1"])
    assert [r.household for r in selectors.responses(user, form)] == [a]
