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
    html = rendered["assistance/_panel.html"]["html"]
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
