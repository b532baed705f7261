"""State for the assessment tests: the test county (two towns, three villages), poor households, a grid worker,
a cadre, built through services."""

import datetime as dt

import pytest
import time_machine

from fupin.core.testing import make_household, make_user

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def poor(village, grid=None, *, head="张三", **fields):
    fields.setdefault("is_registered_poor", True)
    fields.setdefault("poverty_status", "0")
    fields.setdefault("main_cause", "1")
    return make_household(village, grid=grid, head=head, **fields)


@pytest.fixture
def office(county):
    return make_user("office", "city_office", division=county["county"])


@pytest.fixture
def village_a_user(county):
    return make_user("village_a", "village_team", division=county["va1"])


@pytest.fixture
def village_b_user(county):
    return make_user("village_b", "village_team", division=county["vb1"])
