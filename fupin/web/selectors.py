"""Reads for the home page: simple scoped counts of the user's jurisdiction (or the area chosen in the tree)."""

from __future__ import annotations

from django.db.models import Count, Q

from fupin.geo.areas import Area
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household


def _narrow(qs, area: Area | None, field: str):
    return qs.filter(**{f"{field}__startswith": area.prefix}) if area else qs


def area_counts(user, area: Area | None) -> dict[str, int]:
    """Towns, villages (and communities), grids, households and poor households a user sees, narrowed to `area`."""
    divisions = _narrow(Division.objects.restrict(user), area, "code")
    by_level = dict(divisions.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    households = _narrow(Household.objects.restrict(user), area, "area_code").aggregate(
        households=Count("id"), poor=Count("id", filter=Q(is_registered_poor=True)),
        unassigned=Count("id", filter=Q(grid__isnull=True)))
    return {
        "towns": by_level.get("town", 0),
        "villages": by_level.get("village", 0),
        "communities": by_level.get("community", 0),
        "grids": _narrow(Grid.objects.restrict(user), area, "code").count(),
        "households": households["households"],
        "poor_households": households["poor"],
        "unassigned": households["unassigned"],
    }


def town_summary(user, area: Area | None) -> list[dict]:
    """Per town (or per village inside a town): villages, grids, households and poor households. Four queries."""
    if area is not None and area.level in ("village", "community", "grid"):
        return []
    level = "village" if area is not None and area.level == "town" else "town"
    units = list(_narrow(Division.objects.restrict(user), area, "code").filter(level__in=(
        ("village", "community") if level == "village" else ("town",))).order_by("code"))
    if not units:
        return []
    width = 12 if level == "village" else 9
    rows = {u.code[:width]: {"division": u, "villages": 0, "grids": 0, "households": 0, "poor": 0} for u in units}
    if level == "town":
        for code in _narrow(Division.objects.restrict(user), area, "code").filter(
                level__in=("village", "community")).values_list("code", flat=True):
            if code[:9] in rows:
                rows[code[:9]]["villages"] += 1
    for code in _narrow(Grid.objects.restrict(user), area, "code").values_list("code", flat=True):
        if code[:width] in rows:
            rows[code[:width]]["grids"] += 1
    hh = _narrow(Household.objects.restrict(user), area, "area_code")
    key = "village__code" if level == "village" else "village__parent__code"
    for code, n, poor in hh.values_list(key).annotate(n=Count("id"), poor=Count("id", filter=Q(is_registered_poor=True))
                                                       ).values_list(key, "n", "poor"):
        if code and code[:width] in rows:
            rows[code[:width]]["households"] += n
            rows[code[:width]]["poor"] += poor
    return list(rows.values())
