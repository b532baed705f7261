"""Battle map API, scoped to the caller's jurisdiction (see docs/map-and-dashboards.md for the formats).

- `GET  /api/v1/map/households?division=&color=status&bbox=w,s,e,n&zoom=&<attribute>=code,code` the household layer
- `GET  /api/v1/map/households/{id}` the popup of one household
- `POST /api/v1/map/households/{id}/location` {lng, lat, source: gps|map, crs: wgs84|gcj02} place a household
- `GET  /api/v1/map/boundaries?level=county|town|village|grid&division=` GeoJSON FeatureCollection
- `GET  /api/v1/map/choropleth?indicator=&level=town|village&division=` precomputed values and classes
- `GET  /api/v1/map/search?q=&division=` households by name, 户编号 or ID number
- `GET  /api/v1/map/config` attributes, indicators and base-map settings
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.core.apierrors import refusal_as
from fupin.maps import selectors
from fupin.maps.services import household_locate

router = Router(tags=["map"])


def _json(data, status: int = 200) -> HttpResponse:
    """Compact JSON (no spaces, Chinese as is): the household layer is sent as small as it can be."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def _bad(message: str) -> HttpResponse:
    return _json({"detail": message}, status=400)


@router.get("/households")
def household_layer(request):
    try:
        q = selectors.parse_layer_query(request.user, request.GET)
        return _json(selectors.household_layer(request.user, q))
    except selectors.BadRequest as exc:
        return _bad(str(exc))


@router.get("/households/{household_id}")
def household_popup(request, household_id: int):
    return _json(selectors.household_popup(request.user, household_id))


class LocateIn(Schema):
    lng: float
    lat: float
    source: str = "map"
    crs: str = "wgs84"


@router.post("/households/{household_id}/location")
def locate(request, household_id: int, payload: LocateIn):
    if not request.user.can("edit"):
        return _json({"detail": "您没有为住户定位的权限"}, status=403)
    household = get_object_or_404(selectors.poor_households(request.user), pk=household_id)
    with refusal_as(400):
        hh = household_locate(actor=request.user, household=household, lng=payload.lng, lat=payload.lat,
                              source=payload.source, crs=payload.crs)
    return _json(selectors.household_popup(request.user, hh.pk))


@router.get("/boundaries")
def boundaries(request, level: str = "village", division: str | None = None):
    area = selectors.resolve_area(request.user, division)
    try:
        return _json(selectors.boundaries(request.user, level, area.prefix if area else ""))
    except selectors.BadRequest as exc:
        return _bad(str(exc))


@router.get("/choropleth")
def choropleth(request, indicator: str = "poor_households", level: str = "village", division: str | None = None):
    area = selectors.resolve_area(request.user, division)
    try:
        return _json(selectors.choropleth(request.user, indicator, level, area.prefix if area else ""))
    except selectors.BadRequest as exc:
        return _bad(str(exc))


@router.get("/search")
def search(request, q: str = "", division: str | None = None):
    area = selectors.resolve_area(request.user, division)
    return _json({"results": selectors.search(request.user, q, prefix=area.prefix if area else "")})


@router.get("/config")
def config(request):
    return _json(selectors.map_config(request.user))
