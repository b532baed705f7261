"""Fixtures shared by the tests under tests/ (the root conftest.py holds the project-wide ones): the county and the
one user per role that the role-menu walks share (tests/e2e/test_role_menus.py in the browser,
tests/test_english_interface.py in English through the test client)."""

from __future__ import annotations

import pytest

from fupin.accounts.choices import Role
from fupin.core.testing import make_user
from fupin.dashboards.services import refresh_snapshots
from fupin.maps.tests.factories import mapped_county

USERS = {  # role: (where the user works, display name)
    Role.CITY_LEADER: ("county", "王县长"), Role.CITY_OFFICE: ("county", "李主任"), Role.TOWN_STAFF: ("town_a", "赵站长"),
    Role.VILLAGE_TEAM: ("va1", "钱队员"), Role.FIRST_SECRETARY: ("va1", "孙书记"), Role.GRID_WORKER: ("ga1", "周网格"),
    Role.INFO_OFFICER: ("ga1", "吴信息"), Role.PAIRING_CADRE: ("va1", "郑干部"), Role.DEPT_HANDLER: ("dept", "冯经办"),
    Role.AUDITOR: ("county", "陈审计"), Role.SYSTEM_ADMIN: ("county", "褚系统"), Role.SECURITY_ADMIN: ("county", "卫安全"),
}


@pytest.fixture
def county_with_people(db):
    from fupin.org.models import Department

    t = mapped_county()
    refresh_snapshots()
    t["dept"] = Department.objects.create(code="minzheng", name="市民政局", short_name="民政")
    users = {}
    for role, (where, name) in USERS.items():
        place = t[where]
        kw = {"department": place} if where == "dept" else ({"grid": place, "division": place.village}
                                                              if where.startswith("g") else {"division": place})
        users[role] = make_user(f"u_{role}", role, display_name=name, **kw)
    return t, users
