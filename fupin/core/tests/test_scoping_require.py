"""scoping.require(user, area_code, action): the one write-side check, asked for each role at home and next door."""

import pytest

from fupin.core import scoping
from fupin.core.errors import ServiceError
from fupin.core.testing import make_user

pytestmark = pytest.mark.django_db

HOME = "420581100201001"  # 甲一村第1网格: inside town A, village A1, grid A1
AWAY = "420581101201001"  # 乙一村第1网格: town B

# role, where the user sits (a key of the county tree), may "edit" there
ROLES = [
    ("city_office", "county", True),
    ("city_leader", "county", False),
    ("town_staff", "town_a", True),
    ("village_team", "va1", True),
    ("first_secretary", "va1", True),
    ("grid_worker", "ga1", True),
    ("info_officer", "va1", True),
    ("pairing_cadre", "va1", True),
    ("auditor", "county", False),
    ("system_admin", "county", False),
]


def _user(county, role, where):
    place = county[where]
    if where.startswith("g"):
        return make_user(f"u_{role}", role, division=place.village, grid=place)
    return make_user(f"u_{role}", role, division=place)


@pytest.mark.parametrize(("role", "where", "may_edit"), ROLES)
def test_each_role_at_home_and_next_door(county, role, where, may_edit):
    user = _user(county, role, where)
    scoping.require(user, HOME, None)  # the place alone: home is inside every one of these jurisdictions
    if may_edit:
        scoping.require(user, HOME, "edit")
    else:
        with pytest.raises(ServiceError, match="角色"):
            scoping.require(user, HOME, "edit")
    outside = role not in ("city_office", "city_leader", "auditor", "system_admin")  # county-wide users see town B
    if outside:
        with pytest.raises(ServiceError, match="管辖范围"):
            scoping.require(user, AWAY, None)
        assert not scoping.covers(user, AWAY)
    else:
        assert scoping.covers(user, AWAY)


def test_department_handler_without_a_place_writes_nowhere(county):
    from fupin.org.models import Department

    dept = Department.objects.create(code="minzheng", name="民政局", short_name="民政")
    handler = make_user("dept", "dept_handler", department=dept)
    with pytest.raises(ServiceError, match="管辖范围"):
        scoping.require(handler, HOME, None)


def test_the_action_is_asked(county):
    town = _user(county, "town_staff", "town_a")
    scoping.require(town, HOME, "approve_town")
    with pytest.raises(ServiceError, match="您的角色不能发起工单"):
        scoping.require(town, HOME, "approve_county", role_message="您的角色不能发起工单")


def test_superuser_system_and_anonymous(county):
    from django.contrib.auth.models import AnonymousUser

    from fupin.accounts.models import User

    root = User.objects.create_superuser("root", password="pw-test-12345")
    scoping.require(root, AWAY, "approve_county")
    scoping.require(None, AWAY, "edit")
    scoping.require("system", AWAY, "edit")
    with pytest.raises(ServiceError):
        scoping.require(AnonymousUser(), HOME, None)


def test_overlaps_and_narrowed(county):
    worker = make_user("u_gw", "grid_worker", division=county["va1"], grid=county["ga1"])
    town = make_user("u_town", "town_staff", division=county["town_a"])
    # a grid worker opens their village (their grid lies in it), not the next village; covers asks for inside only
    assert scoping.overlaps(worker, county["va1"].code) and not scoping.covers(worker, county["va1"].code)
    assert not scoping.overlaps(worker, county["va2"].code) and not scoping.overlaps(worker, "")
    assert scoping.narrowed(town, county["va1"].code) == county["va1"].code
    assert scoping.narrowed(town, county["town_a"].code) == "420581100"
    assert scoping.narrowed(town, county["county"].code) == "420581100"  # wider than the jurisdiction: not widened
    assert scoping.narrowed(town, county["vb1"].code) == "420581100"
    assert scoping.narrowed(town, "甲") == "420581100"
    assert scoping.narrowed(make_user("u_none", "town_staff"), county["va1"].code) is None
