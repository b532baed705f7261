"""Filter forms that narrow by area offer the user's own divisions and grids by name, not a box for a 12- or 15-digit
code: the household list's grid filter and the audit trail's area filter."""

import re

import pytest
from django.test import Client

from fupin.accounts.choices import Role
from fupin.core import audit
from fupin.core.testing import make_user
from fupin.maps.tests.factories import mapped_county

pytestmark = pytest.mark.django_db


def _select(html: str, name: str) -> str:
    m = re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S)
    assert m, f"no <select name={name}>"
    return m.group(0)


def test_household_list_offers_the_users_grids_by_name_and_filters_by_the_chosen_one():
    t = mapped_county()
    client = Client()
    client.force_login(make_user("town_a_staff", Role.TOWN_STAFF, division=t["town_a"]))
    html = client.get("/households/").content.decode()
    grids = _select(html, "grid")
    assert f'value="{t["ga1"].code}"' in grids and t["ga1"].name in grids
    assert f'<optgroup label="{t["va1"].name}">' in grids
    assert t["gb1"].code not in grids  # another town's grid is not offered
    assert 'placeholder="15' not in html

    chosen = client.get(f"/households/?grid={t['ga1'].code}").content.decode()
    assert "甲未脱" in chosen and "甲返贫" not in chosen
    assert f'value="{t["ga1"].code}" selected' in _select(chosen, "grid")


def test_audit_trail_offers_the_users_divisions_and_names_the_area_of_each_record():
    t = mapped_county()
    auditor = make_user("auditor", Role.AUDITOR, division=t["county"])
    audit.record(actor=auditor, action="registry.household.update", object_type="registry.household",
                 object_id="1", object_repr="甲未脱户", area_code=t["va1"].code)
    client = Client()
    client.force_login(auditor)
    html = client.get("/audit/").content.decode()
    areas = _select(html, "area")
    assert f'value="{t["town_a"].code}"' in areas and f'value="{t["va1"].code}"' in areas
    row = re.search(r"<tr>\s*<td class=\"num\">.*?甲未脱户.*?</tr>", html, re.S).group(0)
    assert t["va1"].name in row and f">{t['va1'].code}<" not in row

    narrowed = client.get(f"/audit/?area={t['town_b'].code}").content.decode()
    assert "甲未脱户" not in narrowed
    assert f'value="{t["town_b"].code}" selected' in _select(narrowed, "area")
