"""State for the assistance tests: the test county, a unit, cadres and poor households, built through services."""

import datetime as dt

import pytest
import time_machine

from fupin.assistance import services
from fupin.core.testing import make_household, make_user

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def frozen():
    """Time frozen at noon, Asia/Shanghai, on TODAY; `frozen.move_to(...)` moves it."""
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                             tick=False) as traveller:
        yield traveller


@pytest.fixture
def unit(db):
    return services.unit_create(actor="test", name="市扶贫办", kind="department")


@pytest.fixture
def cadre(unit):
    return services.cadre_create(actor="test", name="王干部", unit=unit, phone="13900000001", post="科员")


@pytest.fixture
def other_cadre(unit):
    return services.cadre_create(actor="test", name="李干部", unit=unit, phone="13900000002")


def poor(village, grid=None, *, head="张三", **fields):
    fields.setdefault("is_registered_poor", True)
    fields.setdefault("poverty_status", "0")
    fields.setdefault("main_cause", "1")
    return make_household(village, grid=grid, head=head, **fields)


@pytest.fixture
def hh_a(county, frozen):
    return poor(county["va1"], county["ga1"], head="张甲")


@pytest.fixture
def hh_b(county, frozen):
    return poor(county["vb1"], county["gb1"], head="赵乙")


@pytest.fixture
def town_a_leader(county):
    return make_user("town_a", "town_staff", division=county["town_a"])


@pytest.fixture
def village_a_user(county):
    return make_user("village_a", "village_team", division=county["va1"])


@pytest.fixture
def village_b_user(county):
    return make_user("village_b", "village_team", division=county["vb1"])


@pytest.fixture
def office(county):
    return make_user("office", "city_office", division=county["county"])
