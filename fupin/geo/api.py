"""Grid network API: divisions, grids and their posts, scoped to the caller's jurisdiction."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.geo.models import Division, Grid, GridPost

router = Router(tags=["geo"])


class DivisionOut(Schema):
    code: str
    parent: str | None
    name: str
    full_name: str
    level: str
    urban_rural_class: str
    lng: float | None
    lat: float | None
    is_poor_village: bool
    boundary_synthetic: bool


class PostOut(Schema):
    post: str
    user: str
    start_date: str
    end_date: str | None


class GridOut(Schema):
    code: str
    village: str
    name: str
    lng: float | None
    lat: float | None
    boundary_synthetic: bool


class GridDetailOut(GridOut):
    posts: list[PostOut]
    boundary: dict | None


def _division_out(d: Division) -> dict:
    return {"code": d.code, "parent": d.parent.code if d.parent_id else None, "name": d.name,
            "full_name": d.full_name, "level": d.level, "urban_rural_class": d.urban_rural_class, "lng": d.lng,
            "lat": d.lat, "is_poor_village": d.is_poor_village, "boundary_synthetic": d.boundary_synthetic}


def _grid_out(g: Grid) -> dict:
    return {"code": g.code, "village": g.village.code, "name": g.name, "lng": g.lng, "lat": g.lat,
            "boundary_synthetic": g.boundary_synthetic}


@router.get("/divisions", response=list[DivisionOut])
def list_divisions(request, parent: str | None = None, level: str | None = None):
    qs = Division.objects.restrict(request.user).select_related("parent")
    if parent:
        qs = qs.filter(parent__code=parent)
    if level:
        qs = qs.filter(level=level)
    return [_division_out(d) for d in qs]


@router.get("/divisions/{code}", response=DivisionOut)
def get_division(request, code: str):
    return _division_out(get_object_or_404(Division.objects.restrict(request.user).select_related("parent"), code=code))


@router.get("/grids", response=list[GridOut])
def list_grids(request, village: str | None = None):
    qs = Grid.objects.restrict(request.user).select_related("village")
    if village:
        qs = qs.filter(village__code=village)
    return [_grid_out(g) for g in qs]


@router.get("/grids/{code}", response=GridDetailOut)
def get_grid(request, code: str):
    g = get_object_or_404(Grid.objects.restrict(request.user).select_related("village"), code=code)
    posts = [{"post": p.post, "user": str(p.user), "start_date": p.start_date.isoformat(),
              "end_date": p.end_date.isoformat() if p.end_date else None}
             for p in GridPost.objects.filter(grid=g).select_related("user")]
    return {**_grid_out(g), "posts": posts, "boundary": g.boundary}
