"""Reads of the grid network for pages: divisions with their counts, grids with their post holders and terminals.

Every function takes the viewer and reads through `.restrict(viewer)`; counts of households are of the households the
viewer may see.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet

from fupin.core import extensions
from fupin.core.pages import object_history
from fupin.geo.choices import Post
from fupin.geo.models import Division, Grid, GridPost, Terminal

VILLAGE_LEVELS = ("village", "community")


def area_households():
    """The registry's answer (fupin/registry/grids.py) through the point geo.area_households; None without it."""
    found = extensions.registered("geo.area_households")
    return found[0] if found else None


def household_counts_by_village(viewer, village_ids=None, *, prefix: str = "") -> dict[int, dict[str, int]]:
    """{village id: {households, poor, unassigned}} for the households the viewer sees."""
    households = area_households()
    return households.by_village(viewer, village_ids, prefix=prefix) if households else {}


def grid_counts_by_village(viewer, *, prefix: str = "") -> dict[int, int]:
    qs = Grid.objects.restrict(viewer)
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    return dict(qs.order_by().values_list("village_id").annotate(n=Count("id")).values_list("village_id", "n"))


def network_table(viewer, *, prefix: str = "") -> list[dict]:
    """Towns (as group rows) and their villages/communities with grids, households, poor and unassigned households.

    `prefix` narrows to an area (the division tree's choice). Three queries, whatever the size of the county.
    """
    divisions = Division.objects.restrict(viewer)
    if prefix:
        divisions = divisions.filter(code__startswith=prefix)
    divisions = list(divisions.filter(level__in=("town", *VILLAGE_LEVELS)).order_by("code"))
    grids = grid_counts_by_village(viewer, prefix=prefix)
    households = household_counts_by_village(viewer, prefix=prefix)
    empty = {"households": 0, "poor": 0, "unassigned": 0}
    rows: list[dict] = []
    towns: dict[str, dict] = {}
    for d in divisions:
        if d.level == "town":
            row = {"division": d, "is_group": True, "villages": 0, "grids": 0, "households": 0, "poor": 0,
                   "unassigned": 0}
            towns[d.code[:9]] = row
            rows.append(row)
            continue
        h = households.get(d.pk, empty)
        row = {"division": d, "is_group": False, "grids": grids.get(d.pk, 0), **h}
        rows.append(row)
        town = towns.get(d.code[:9])
        if town is not None:
            town["villages"] += 1
            for k in ("grids", "households", "poor", "unassigned"):
                town[k] += row[k]
    return rows


def child_rows(viewer, division: Division) -> list[dict]:
    """The division's children (towns or villages) with their counts."""
    rows = network_table(viewer, prefix=division.prefix)
    if division.level == "county":
        return [r for r in rows if r["is_group"]]
    return [r for r in rows if not r["is_group"] and r["division"].parent_id == division.pk]


def current_posts_prefetch(viewer) -> Prefetch:
    return Prefetch("posts", to_attr="current_posts",
                    queryset=GridPost.objects.restrict(viewer).filter(end_date__isnull=True).select_related("user"))


def terminals_prefetch(viewer) -> Prefetch:
    return Prefetch("terminals", to_attr="terminal_list",
                    queryset=Terminal.objects.restrict(viewer).select_related("holder").order_by("device_id"))


def with_holders(grids) -> list[Grid]:
    """Set grid.grid_worker and grid.info_officer (current GridPost or None) from the current_posts prefetch."""
    grids = list(grids)
    for g in grids:
        by_post = {p.post: p for p in getattr(g, "current_posts", [])}
        g.grid_worker = by_post.get(Post.GRID_WORKER)
        g.info_officer = by_post.get(Post.INFO_OFFICER)
    return grids


def grid_list(viewer, *, vacant: str = "", q: str = "") -> QuerySet:
    qs = Grid.objects.restrict(viewer).select_related("village", "village__parent")
    if vacant in Post.values:
        qs = qs.exclude(posts__post=vacant, posts__end_date__isnull=True)
    elif vacant == "any":
        filled = GridPost.objects.filter(end_date__isnull=True).values("grid_id").annotate(n=Count("post", distinct=True))
        qs = qs.exclude(pk__in=filled.filter(n__gte=len(Post.values)).values("grid_id"))
    if q:
        qs = qs.filter(Q(code__contains=q) | Q(name__icontains=q) | Q(village__name__icontains=q))
    return qs.order_by("code")


def household_counts_by_grid(viewer, grid_ids) -> dict[int, dict[str, int]]:
    """{grid id: {households, poor}} for the households the viewer sees."""
    households = area_households()
    return households.by_grid(viewer, grid_ids) if households else {}


def grid_history(grid: Grid, limit: int = 50) -> list:
    """Audit events of the grid, its posts and its terminals, newest first."""
    post_ids = [str(pk) for pk in grid.posts.values_list("pk", flat=True)]
    terminal_ids = [str(pk) for pk in grid.terminals.values_list("pk", flat=True)]
    extra = Q(object_type="geo.gridpost", object_id__in=post_ids) | Q(object_type="geo.terminal", object_id__in=terminal_ids)
    return object_history(grid, limit=limit, extra=extra)


def post_candidates(viewer, grid: Grid) -> QuerySet:
    """Users who may take a post in this grid: active users of its village whom the viewer sees."""
    return (get_user_model().objects.restrict(viewer).filter(is_active=True, area_code__startswith=grid.village.code)
            .order_by("role", "display_name", "username"))


def staff_by_post(viewer, *, prefix: str = "", post: str = "") -> QuerySet:
    qs = (GridPost.objects.restrict(viewer).filter(end_date__isnull=True)
          .select_related("user", "grid", "grid__village", "grid__village__parent"))
    if prefix:
        qs = qs.filter(grid__code__startswith=prefix)
    if post in Post.values:
        qs = qs.filter(post=post)
    return qs.order_by("grid__code", "post")


def post_summary(viewer, *, prefix: str = "") -> dict[str, int]:
    """How many grids there are, and how many current holders each post has."""
    grids = Grid.objects.restrict(viewer)
    posts = GridPost.objects.restrict(viewer).filter(end_date__isnull=True)
    if prefix:
        grids = grids.filter(code__startswith=prefix)
        posts = posts.filter(grid__code__startswith=prefix)
    counts = defaultdict(int, posts.order_by().values_list("post").annotate(n=Count("id")).values_list("post", "n"))
    total = grids.count()
    return {"grids": total, "grid_worker": counts[Post.GRID_WORKER], "info_officer": counts[Post.INFO_OFFICER],
            "vacant_grid_worker": total - counts[Post.GRID_WORKER],
            "vacant_info_officer": total - counts[Post.INFO_OFFICER]}
