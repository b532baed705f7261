"""Writes of the battle map: placing a household on the map (from the grid worker's GPS or a click on the map)."""

from __future__ import annotations

import math

from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.coords import gcj02_to_wgs84
from fupin.core.errors import ServiceError
from fupin.registry.models import Household

SOURCES = {"gps": "GPS定位", "map": "地图点选"}
CHINA = (73.4, 3.8, 135.1, 53.6)  # west, south, east, north


def household_locate(*, actor, household: Household, lng: float, lat: float, source: str = "map",
                     crs: str = "wgs84") -> Household:
    """Set the household's position (stored in WGS-84) with who placed it, when and how; audited by the registry.

    `source`: "gps" (the browser's geolocation) or "map" (a click on the map); `crs`: "wgs84", or "gcj02" for a point
    read from a Chinese map service, converted before it is stored.
    """
    from fupin.registry.services import household_update

    if source not in SOURCES:
        raise ServiceError(_("Unknown location source “%(source)s”") % {"source": source})
    if crs not in ("wgs84", "gcj02"):
        raise ServiceError(_("Unknown coordinate system “%(crs)s”: wgs84 or gcj02") % {"crs": crs})
    try:
        lng, lat = float(lng), float(lat)
    except (TypeError, ValueError) as exc:
        raise ServiceError(_("Longitude and latitude must be numbers")) from exc
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise ServiceError(_("Longitude and latitude must be numbers"))
    w, s, e, n = CHINA
    if not (w <= lng <= e and s <= lat <= n):
        raise ServiceError(_("The coordinates (%(lng)s, %(lat)s) are outside China: check whether longitude and latitude are swapped") % {"lng": format(lng, '.5f'), "lat": format(lat, '.5f')})
    if crs == "gcj02":
        lng, lat = gcj02_to_wgs84(lng, lat)
    return household_update(actor=actor, household=household, lng=round(lng, 7), lat=round(lat, 7),
                            location_source=source, located_by=actor if getattr(actor, "pk", None) else None,
                            located_at=timezone.now())
