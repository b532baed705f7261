"""Who answers for a grid, a village, a town, a county, a household: the one answer every capability asks.

- a grid: its current grid worker, the open `GridPost` (post grid_worker) of an active user — the post has a history
  (who held it from when to when), so it is the record; a grid with no recorded post falls back to the active users
  whose role is grid worker and whose account is bound to the grid (accounts made before posts were recorded);
- a village: its village team and first secretary (active users bound to the village);
- a town: its town grid-station staff; a county: its city office (active users bound to the town or county);
- a household: its grid's grid worker, else the town staff of its town (`household_answerers`).
- who may act at a place with given roles: `users_covering(area_code, roles)` — active users of those roles whose
  jurisdiction covers the place (the approvers of a reassignment, a procedure's step).

Every function reads in a fixed number of queries whatever the number of places, and returns user ids (or users).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

from fupin.core.scoping import covers
from fupin.geo.choices import Post
from fupin.geo.models import GridPost

GRID_WORKER_ROLE = "grid_worker"
VILLAGE_ROLES = ("village_team", "first_secretary")
TOWN_ROLE = "town_staff"
COUNTY_ROLE = "city_office"
CHUNK = 5000


def town_code(area_code: str) -> str:
    return area_code[:9] + "000"


def county_code(area_code: str) -> str:
    return area_code[:6] + "000000"


def _active_users():
    return get_user_model().objects.filter(is_active=True)


def grid_workers(grid_ids: Iterable[int]) -> dict[int, list[int]]:
    """{grid id: [user ids]}: the current grid worker of each grid (see the module's docstring); grids with nobody
    are left out."""
    grid_ids = sorted({g for g in grid_ids if g})
    out: dict[int, list[int]] = {}
    for i in range(0, len(grid_ids), CHUNK):
        chunk = grid_ids[i : i + CHUNK]
        for grid_id, user_id, active in GridPost.objects.filter(
            grid_id__in=chunk, post=Post.GRID_WORKER, end_date__isnull=True
        ).values_list("grid_id", "user_id", "user__is_active"):  # the model's ordering: the newest post first
            if grid_id not in out and active:
                out[grid_id] = [user_id]
        posted = set(
            GridPost.objects.filter(
                grid_id__in=chunk, post=Post.GRID_WORKER, end_date__isnull=True
            ).values_list("grid_id", flat=True)
        )
        for grid_id, user_id in (
            _active_users()
            .filter(role=GRID_WORKER_ROLE, grid_id__in=chunk)
            .exclude(grid_id__in=posted)
            .order_by("id")
            .values_list("grid_id", "id")
        ):
            out.setdefault(grid_id, []).append(user_id)
    return out


def _bound(roles: Iterable[str], codes: Iterable[str]) -> dict[str, list[int]]:
    codes = sorted(set(codes))
    out: dict[str, list[int]] = defaultdict(list)
    for i in range(0, len(codes), CHUNK):
        for user_id, code in (
            _active_users()
            .filter(role__in=list(roles), division__code__in=codes[i : i + CHUNK])
            .order_by("id")
            .values_list("id", "division__code")
        ):
            out[code].append(user_id)
    return dict(out)


def village_team(village_codes: Iterable[str]) -> dict[str, list[int]]:
    """{village code: [user ids]} of the village team and first secretary."""
    return _bound(VILLAGE_ROLES, village_codes)


def town_staff(town_codes: Iterable[str]) -> dict[str, list[int]]:
    """{town code (9 digits + 000): [user ids]} of the town grid-station staff."""
    return _bound((TOWN_ROLE,), town_codes)


def county_office(county_codes: Iterable[str]) -> dict[str, list[int]]:
    """{county code (6 digits + 000000): [user ids]} of the city office."""
    return _bound((COUNTY_ROLE,), county_codes)


def household_answerers(households) -> dict[int, list[int]]:
    """{household id: [user ids]}: its grid's grid worker, else the town staff of its town. `households` are rows
    with `pk`, `grid_id` and `area_code`."""
    households = list(households)
    workers = grid_workers(hh.grid_id for hh in households)
    staff = town_staff(town_code(hh.area_code) for hh in households)
    return {hh.pk: workers.get(hh.grid_id) or staff.get(town_code(hh.area_code), []) for hh in households}


def users(ids: Iterable[int]) -> list:
    """The users of `ids`, in that order."""
    ids = list(ids)
    found = _active_users().in_bulk(ids)
    return [found[i] for i in ids if i in found]


def users_covering(area_code: str, roles: Iterable[str]) -> list:
    """Active users of `roles` whose jurisdiction covers `area_code` (bound to its county, town, village or grid)."""
    codes = {county_code(area_code), town_code(area_code), area_code[:12]}
    qs = (
        _active_users()
        .filter(role__in=list(roles))
        .filter(Q(division__code__in=codes) | Q(grid__code=area_code))
        .select_related("division", "grid")
        .order_by("id")
    )
    return [u for u in qs if covers(u, area_code)]


def grids_held(user_id: int, start: dt.date, end: dt.date):
    """Ids of the grids whose grid-worker post `user_id` held at some time from `start` to `end` (a queryset)."""
    return (
        GridPost.objects.filter(user_id=user_id, post=Post.GRID_WORKER, start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        .values("grid_id")
    )
