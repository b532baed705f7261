"""The households of villages and grids, for the grid network's pages: counts, and the assignment of a village's
unassigned households to grids. The geo app (a tier below) reaches them through the extension point
`geo.area_households` (registered in fupin/registry/hooks.py)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.errors import ServiceError
from fupin.core.household_rows import relocate_rows
from fupin.core.services import batch_finish, batch_start
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household


def household_counts_by_village(viewer, village_ids=None, *, prefix: str = "") -> dict[int, dict[str, int]]:
    """{village id: {households, poor, unassigned}} for the households the viewer sees."""
    qs = Household.objects.restrict(viewer)
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    if village_ids is not None:
        qs = qs.filter(village_id__in=list(village_ids))
    rows = qs.order_by().values_list("village_id").annotate(
        n=Count("id"), poor=Count("id", filter=Q(is_registered_poor=True)),
        unassigned=Count("id", filter=Q(grid__isnull=True))).values_list("village_id", "n", "poor", "unassigned")
    return {v: {"households": n, "poor": p, "unassigned": u} for v, n, p, u in rows}


def household_counts_by_grid(viewer, grid_ids) -> dict[int, dict[str, int]]:
    rows = (Household.objects.restrict(viewer).filter(grid_id__in=list(grid_ids)).order_by().values_list("grid_id")
            .annotate(n=Count("id"), poor=Count("id", filter=Q(is_registered_poor=True)))
            .values_list("grid_id", "n", "poor"))
    return {g: {"households": n, "poor": p} for g, n, p in rows}


@transaction.atomic
def households_assign_grid(*, actor, village: Division, by: str = "location", grid: Grid | None = None,
                           household_ids: list[int] | None = None) -> dict:
    """Assign a village's unassigned (待分配网格) households to grids, by location or by hand; one audit event."""
    from shapely import STRtree
    from shapely.geometry import Point, shape

    qs = Household.objects.filter(village=village)
    if household_ids is not None:
        qs = qs.filter(pk__in=household_ids)
    else:
        qs = qs.filter(grid__isnull=True)
    assigned: dict[int, Grid] = {}
    if by == "hand":
        if grid is None or grid.village_id != village.pk:
            raise ServiceError(_("Choose a grid of this village"))
        assigned = {h: grid for h in qs.values_list("pk", flat=True)}
    else:
        grids = [g for g in village.grids.all() if g.boundary]
        if not grids:
            raise ServiceError(_("The grids of %(village_name)s have no boundaries yet: households cannot be assigned by location") % {"village_name": village.name})
        tree = STRtree([shape(g.boundary) for g in grids])
        for pk, lng, lat in qs.exclude(lng=None).values_list("pk", "lng", "lat"):
            hits = tree.query(Point(lng, lat), predicate="intersects")
            if len(hits):
                assigned[pk] = grids[int(hits[0])]
    by_grid: dict[int, list[int]] = {}
    for pk, g in assigned.items():
        by_grid.setdefault(g.pk, []).append(pk)
    batch = batch_start(kind="assign_grid", actor=actor)
    codes = {g.pk: g.code for g in assigned.values()}
    moved: dict[str, int] = {}
    for gid, pks in by_grid.items():
        Household.objects.filter(pk__in=pks).update(grid_id=gid, area_code=codes[gid], batch=batch,
                                                    updated_at=timezone.now())
        # members and every row that belongs to these households follow them (fupin/core/household_rows.py)
        for label, n in relocate_rows(pks, area_code=codes[gid], village=village).items():
            moved[label] = moved.get(label, 0) + n
    batch_finish(batch, actor=actor, rows=len(assigned), area_code=village.code,
                 summary={"village": village.code, "by": by, "assigned": len(assigned), "rows_moved": moved})
    return {"assigned": len(assigned), "unassigned_left": qs.filter(grid__isnull=True).count()}
