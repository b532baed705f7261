"""The panel on the registry's household page and the filters on its household list."""

import datetime as dt

import pytest
from django.test import RequestFactory

from fupin.assistance import services
from fupin.registry.models import Household

from .conftest import TODAY

pytestmark = pytest.mark.django_db
panels = pytest.importorskip("fupin.registry.panels")


def test_household_page_panel_shows_light_and_cadre(hh_a, cadre, village_a_user):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=40))
    request = RequestFactory().get("/")
    request.user = village_a_user
    rendered = {p["key"]: p for p in panels.render_panels(request, hh_a)}
    html = rendered["assistance"]["html"]
    assert 'data-light="red"' in html
    assert cadre.name in html
    assert f"/assistance/households/{hh_a.uuid}/visit/" in html


def test_household_list_filters(hh_a, hh_b, cadre, village_a_user):
    from fupin.registry.selectors import extra_filters

    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="走访")
    from fupin.assistance.tracking import recompute_all

    recompute_all()
    filters = {f.key: f for f in extra_filters()}
    qs = Household.objects.all()
    assert list(filters["light"].apply(qs, "green", village_a_user)) == [hh_a]
    assert list(filters["light"].apply(qs, "red", village_a_user)) == [hh_b]
    assert list(filters["cadre"].apply(qs, "none", village_a_user)) == [hh_b]
    assert list(filters["cadre"].apply(qs, str(cadre.pk), village_a_user)) == [hh_a]


def test_household_card_sections(hh_a, cadre, office):
    from fupin.assistance import integration

    assert integration.card_cadre(hh_a) is None
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, duty="落实一户一法", exit_commitment="按期脱贫")
    policy = services.policy_create(actor=office, name="雨露计划", kind="education", amount=3000)
    services.policy_receipt_add(actor="test", household=hh_a, policy=policy, received_on=TODAY)
    services.measure_add(actor="test", household=hh_a, kind="medical", title="大病保险", target_date=TODAY)
    rows = dict(integration.card_cadre(hh_a)["rows"])
    assert rows["帮扶责任人"] == "王干部" and rows["帮扶责任"] == "落实一户一法"
    plan = integration.card_plan(hh_a)
    assert plan["key"] == "plan" and plan["rows"][0][0] == "医疗救助与保险"
    assert "大病保险" in plan["rows"][0][1] and "王干部" in plan["rows"][0][1]
    assert integration.card_policies(hh_a)["rows"][0][0] == "雨露计划"


def test_unit_head_sees_the_households_of_the_unit(client, hh_a, hh_b, cadre, unit):
    from fupin.core.testing import make_user

    head = make_user("unit_head", "dept_handler")
    services.unit_update(actor="test", unit=unit, contact_user=head)
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre)
    client.force_login(head)
    assert client.get(f"/assistance/households/{hh_a.uuid}/").status_code == 200
    assert client.get(f"/assistance/households/{hh_b.uuid}/").status_code == 404
    assert [r["household"] for r in client.get("/api/v1/assistance/lights").json()] == [str(hh_a.uuid)]
