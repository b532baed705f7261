"""Who answers for a grid, a village, a town, a household: one selector (fupin/geo/responsible.py), used everywhere."""

import ast

from fupin.core.testing import make_household, make_user, sweep_app_modules
from fupin.geo import responsible
from fupin.geo.services import grid_assign_post


def test_grid_post_answers_and_role_binding_is_the_fallback(county):
    posted = make_user("gw_posted", "grid_worker", grid=county["ga1"])
    holder = make_user("gw_holder", "grid_worker", grid=county["ga1"])
    bound = make_user("gw_bound", "grid_worker", grid=county["gb1"])
    grid_assign_post(actor="test", grid=county["ga1"], post="grid_worker", user=holder)
    found = responsible.grid_workers([county["ga1"].pk, county["gb1"].pk])
    # the recorded post wins over an account merely bound to the grid; a grid without a post has its bound worker
    assert found == {county["ga1"].pk: [holder.pk], county["gb1"].pk: [bound.pk]}
    holder.is_active = False
    holder.save()
    assert (
        responsible.grid_workers([county["ga1"].pk]) == {}
    )  # the post's holder left: nobody, not the bound one
    assert [posted.pk] not in responsible.grid_workers([county["ga1"].pk, county["gb1"].pk]).values()


def test_household_answerer_is_the_grid_worker_else_the_town_staff(county):
    worker = make_user("gw", "grid_worker", grid=county["ga1"])
    grid_assign_post(actor="test", grid=county["ga1"], post="grid_worker", user=worker)
    staff = make_user("town_a_staff", "town_staff", division=county["town_a"])
    make_user("town_b_staff", "town_staff", division=county["town_b"])
    in_grid = make_household(county["va1"], grid=county["ga1"])
    no_grid = make_household(county["va2"])
    assert responsible.household_answerers([in_grid, no_grid]) == {
        in_grid.pk: [worker.pk],
        no_grid.pk: [staff.pk],
    }


def test_village_team_town_county_and_covering(county):
    team = make_user("team", "village_team", division=county["va1"])
    secretary = make_user("sec", "first_secretary", division=county["va1"])
    make_user("other_team", "village_team", division=county["vb1"])
    office = make_user("office", "city_office", division=county["county"])
    staff = make_user("staff", "town_staff", division=county["town_a"])
    assert responsible.village_team([county["va1"].code]) == {county["va1"].code: [team.pk, secretary.pk]}
    assert responsible.county_office([county["county"].code]) == {county["county"].code: [office.pk]}
    area = county["ga1"].code
    assert [u.pk for u in responsible.users_covering(area, ("town_staff", "city_office"))] == [
        office.pk,
        staff.pk,
    ]
    assert responsible.users_covering(county["vb1"].code, ("town_staff",)) == []


# Only the selector decides: nobody else picks users by role or grid posts by post --------------------------------

# the apps that own grid posts and roles (their own lists and writes); every other app asks responsible.py
OWNERS = ("fupin/geo/", "fupin/accounts/")


def _own_decisions(tree: ast.AST) -> list[str]:
    """`.filter(role=...)`, `.filter(role__in=...)` or `.filter(post=...)` calls: a choice of who answers for a place."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr
            in (
                "filter",
                "exclude",
                "get",
            )
        ):
            for kw in node.keywords:
                if kw.arg in ("role", "role__in", "post", "post__in"):
                    found.append(f"{node.lineno}: {kw.arg}")
    return found


def test_nobody_else_decides_who_answers():
    assert sweep_app_modules(lambda text: _own_decisions(ast.parse(text)), skip=OWNERS) == {}


def test_sweep_sees_an_own_decision():
    """Positive control."""
    code = 'User.objects.filter(role="town_staff", is_active=True)\nGridPost.objects.filter(grid=g, post="grid_worker")'
    assert _own_decisions(ast.parse(code)) == ["1: role", "2: post"]
    assert _own_decisions(ast.parse("User.objects.filter(division=d)")) == []
