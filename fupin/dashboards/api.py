"""Dashboard API: an area's precomputed figures, scoped to the caller's jurisdiction.

`GET /api/v1/dashboard/figures?division=<code>` every figure of the area (default: the caller's own) and of the
areas one level down; `GET /api/v1/dashboard/totals` the area's figures as key -> value (the county's equal
`fupin stats --json` after a refresh); `GET /api/v1/dashboard/state` when the figures were computed.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Schema

from fupin.dashboards import selectors
from fupin.geo.areas import Area, area_for_code

router = Router(tags=["dashboard"])


class AreaOut(Schema):
    code: str
    name: str
    level: str


class ItemOut(Schema):
    code: str
    label: str
    value: float
    color: str
    url: str | None


class FigureOut(Schema):
    key: str
    label: str
    section: str
    chart: str
    unit: str
    value: float | None
    decimals: int
    url: str | None
    items: list[ItemOut]


class ChildOut(Schema):
    code: str
    name: str
    level: str
    url: str | None
    values: dict[str, float | None]


class FiguresOut(Schema):
    area: AreaOut
    computed_at: dt.datetime | None
    stale_since: dt.datetime | None
    figures: list[FigureOut]
    children: list[ChildOut]


class TotalsOut(Schema):
    area: AreaOut
    computed_at: dt.datetime | None
    totals: dict[str, float | None]


class StateOut(Schema):
    computed_at: dt.datetime | None
    stale_since: dt.datetime | None
    duration_ms: int
    areas: int
    rows: int


def _area(request, division: str | None) -> Area:
    if division:
        area = area_for_code(request.user, division)
    else:
        area = selectors.default_area(request.user)
    if area is None:
        raise Http404(_("No such area, or outside your jurisdiction"))
    return area


def _area_out(area: Area) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level}


@router.get("/figures", response=FiguresOut)
def figures(request, division: str | None = None):
    area = _area(request, division)
    d = selectors.dashboard(request.user, area)
    return {"area": _area_out(area), "computed_at": d.computed_at, "stale_since": d.stale_since,
            "figures": [f.as_dict() for f in d.figures.values()],
            "children": [{"code": c.code, "name": c.name, "level": c.level, "url": c.url, "values": c.values}
                         for c in d.children if c.code]}


@router.get("/totals", response=TotalsOut)
def totals(request, division: str | None = None):
    area = _area(request, division)
    st = selectors.state()
    return {"area": _area_out(area), "computed_at": st.computed_at if st else None,
            "totals": selectors.totals(request.user, area)}


@router.get("/state", response=StateOut)
def state(request):
    st = selectors.state()
    if st is None:
        return {"computed_at": None, "stale_since": None, "duration_ms": 0, "areas": 0, "rows": 0}
    return {"computed_at": st.computed_at, "stale_since": st.stale_since, "duration_ms": st.duration_ms,
            "areas": st.areas, "rows": st.rows}
