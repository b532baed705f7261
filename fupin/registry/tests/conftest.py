import pytest

from fupin.core.testing import make_household, make_user


@pytest.fixture
def users(county):
    """One user per kind of jurisdiction: the county office, a town, a village (A1), a grid, a cadre who may not
    see full ID numbers."""
    return {
        "county": make_user("county_office", "city_office", division=county["county"]),
        "town_a": make_user("town_a", "town_staff", division=county["town_a"]),
        "village_a1": make_user("village_a1", "village_team", division=county["va1"]),
        "village_b1": make_user("village_b1", "village_team", division=county["vb1"]),
        "grid_a1": make_user("grid_a1", "grid_worker", grid=county["ga1"]),
        "cadre_a1": make_user("cadre_a1", "pairing_cadre", division=county["va1"]),
        "leader": make_user("leader", "city_leader", division=county["county"]),
    }


@pytest.fixture
def hh_a1(county):
    return make_household(county["va1"], head="王大山", members=3, poor_code="420581100201001",
                          is_registered_poor=True, poverty_status="0", attribute="1", main_cause="1")


@pytest.fixture
def hh_b1(county):
    return make_household(county["vb1"], head="李小河", members=2, poor_code="420581101201001",
                          is_registered_poor=True, poverty_status="0", attribute="2", main_cause="2")
