"""What the household page costs (issue 12's load mix: it is the dearest page): a bounded number of queries that does
not grow with the household (members, visits, work orders: a panel that asks once per row fails here), and no sealed
value opened that the page does not show.

The page is filled by every app's sweep objects (the `testing.sweep_objects` the scoping sweep uses), so every
registered panel has something to show. Positive controls: a probe panel that asks once per member makes the count
grow with the same data (so an equal count means no panel does), and the decrypt counter sees the members' ID numbers
it is there to count (so a zero elsewhere means nothing was opened, not that the counter is blind).
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from collections import Counter
from importlib.util import find_spec

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fupin.accounts.choices import Role
from fupin.core import crypto, idnumber
from fupin.core import extensions as ext
from fupin.core.appconfig import fupin_apps
from fupin.core.testing import make_household, make_id, make_user
from fupin.registry.models import Person

# The page's queries with every panel filled, for a town's staff: 37 on SQLite and PostgreSQL on 2026-12-04 (42 before the
# household page's panels were trimmed), plus a margin for a panel's honest new query; the check that the count does
# not grow with the household is the sharper one.
MAX_QUERIES = 48
_SEQ = itertools.count(1)

# What the household page shows of sealed values: the household's phone, and per member the ID number (in full or
# masked), the health codes, the disability card number (masked) and the phone.
SHOWN = {"registry.household.phone", "registry.person.id_number", "registry.person.health",
         "registry.person.disability_card", "registry.person.phone"}


def _fill(village, grid, actor) -> None:
    for app in fupin_apps():
        if find_spec(f"{app.name}.testing") is not None:
            module = importlib.import_module(f"{app.name}.testing")
            if hasattr(module, "sweep_objects"):
                module.sweep_objects(village=village, grid=grid, actor=actor)


@pytest.fixture
def filled(county):
    """A registered poor household of village A1 (the first of its village, so the dispatch sweep's work order,
    pin and joint plan land on it as well as the visits, measures, policies, loans of every poor household), then
    every app's sweep objects in that village."""
    actor = make_user("pc_admin", Role.CITY_OFFICE, division=county["county"])
    hh = make_household(county["va1"], grid=county["ga1"], head="费用户", members=2, poor_code="COST1",
                        is_registered_poor=True, poverty_status="0", attribute="1", main_cause="1",
                        phone="13900001234")
    _fill(county["va1"], county["ga1"], actor)
    return {"hh": hh, "actor": actor, **county}


def _page(user, hh) -> tuple[int, Counter, str]:
    """(queries, sealed values opened by column, html) of one view of the household page (the second: the first
    warms the per-process caches, as every page after a worker's first does)."""
    client = Client()
    client.force_login(user)
    url = f"/households/{hh.url_key}/"
    assert client.get(url).status_code == 200
    opened = Counter()
    real = crypto.decrypt

    def counting(value, purpose, ring=None):
        opened[purpose] += 1
        return real(value, purpose, ring)

    crypto.decrypt = counting
    try:
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(url)
    finally:
        crypto.decrypt = real
    assert resp.status_code == 200
    return len(ctx.captured_queries), opened, resp.content.decode()


def _grow(hh, actor, *, members=3, visits=3, orders=2) -> None:
    """More members (born into it), visits and work orders on the household, through the services."""
    from fupin.assistance import services as assistance
    from fupin.dispatch import services as dispatch
    from fupin.dispatch.testing import ensure_department
    from fupin.registry import services as registry

    for _ in range(members):
        registry.member_add(actor=actor, household=hh, member={"name": f"费新{next(_SEQ)}", "relationship": "之子",
                                                               "id_number": make_id()})
    for _ in range(visits):
        n = next(_SEQ)
        assistance.record_create(actor=actor, household=hh, occurred_on=dt.date.today() - dt.timedelta(days=n),
                                 content=f"走访{n}")
    for _ in range(orders):
        dispatch.work_order_create(actor=actor, household=hh, title=f"工单{next(_SEQ)}", order_type="other",
                                   department=ensure_department())


def test_household_page_queries_bounded_and_not_growing_with_the_household(filled):
    hh, actor = filled["hh"], filled["actor"]
    staff = make_user("pc_town", Role.TOWN_STAFF, division=filled["town_a"])
    panels = [p.key for p in ext.registered("registry.household_panel")]
    # one of each kind of row first (a member added, a visit, a work order), so the history already names the rows
    # such events point to (each distinct row is named once); then more of the same must cost nothing more
    _grow(hh, actor, members=1, visits=1, orders=1)
    before, _, html = _page(staff, hh)
    shown = [key for key in panels if f'data-panel="{key}"' in html]
    assert len(shown) >= 5, f"the sweep objects fill too few panels to measure: {shown} of {panels}"
    assert before <= MAX_QUERIES, f"the household page asks {before} queries (bound {MAX_QUERIES})"

    # positive control: a panel that asks once per member, seen by the same count on the same household
    def per_member(request, household):
        return {"title": "probe", "rows": [(p.name, Person.objects.filter(pk=p.pk).count())
                                           for p in household.members.all()]}

    probe = ext.HouseholdPanel(key="cost_probe", fn=per_member, order=999)
    with ext.added(probe):
        probed_before, _, _ = _page(staff, hh)

    _grow(hh, actor, members=3, visits=3, orders=2)
    after, _, _ = _page(staff, hh)
    with ext.added(probe):
        probed_after, _, _ = _page(staff, hh)
    assert probed_after >= probed_before + 3, (probed_before, probed_after)  # the control sees 3 more members
    assert after <= before, f"the page's queries grew with the household: {before} → {after}"


@pytest.mark.parametrize("role", [Role.TOWN_STAFF, Role.CITY_LEADER])
def test_household_page_opens_only_the_sealed_values_it_shows(filled, role):
    """With loans (their borrower), policy gaps (their member), work orders (their household) and findings on the
    page, the only sealed values opened are the household's phone once and each member's own, once each. A role
    that sees ID numbers masked still opens them: the mask is cut from the opened number (nothing stored would give
    it without opening)."""
    hh = filled["hh"]
    _grow(hh, filled["actor"], members=2, visits=1, orders=1)
    place = {"division": filled["town_a"]} if role == Role.TOWN_STAFF else {"division": filled["county"]}
    user = make_user(f"pc_{role}", role, **place)
    _, opened, html = _page(user, hh)
    members = list(Person.objects.filter(household=hh))
    with_id = sum(1 for p in members if p.id_number)
    assert with_id >= 4 and opened["registry.person.id_number"] == with_id, opened  # the counter sees them
    assert set(opened) <= SHOWN, f"sealed values opened that the page does not show: {set(opened) - SHOWN}"
    assert opened["registry.household.phone"] == 1, opened
    for purpose in SHOWN - {"registry.household.phone"}:
        assert opened[purpose] <= len(members), (purpose, opened)
    for p in members:
        assert (p.id_number if role == Role.TOWN_STAFF else idnumber.mask(p.id_number)) in html
