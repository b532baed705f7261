"""Reads of the battle map: the household layer (points, or clusters computed in the database when there are too
many to send), boundaries, choropleths, search and the household popup. Everything is scoped with
`restrict(user)`; the layer is a few grouped queries whatever the number of households.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Floor
from django.http import Http404
from django.utils.translation import gettext as _

from fupin.core import idviews, readcache
from fupin.core.search import code_q, name_q, prefix_q
from fupin.core.search import parse as parse_search
from fupin.geo.areas import Area, area_for_code
from fupin.geo.models import Division, Grid
from fupin.maps import layers
from fupin.registry.models import Household, Person

log = logging.getLogger(__name__)

LOCATED = Q(lng__isnull=False, lat__isnull=False)
GREY = "#9aa0a6"
# above this many households the layer is sent as clusters computed in the database (one row per map cell)
POINTS_MAX = int(getattr(settings, "FUPIN_MAP_POINTS_MAX", 6000))
CLUSTER_CELL_PX = 64
DEFAULT_CENTER = getattr(settings, "FUPIN_MAP_CENTER", (30.38, 111.45))


class BadRequest(ValueError):
    """A malformed map request (the message is shown as it stands)."""


def poor_households(user):
    """The households the map draws: registered poor households not dissolved (a merge dissolves too), in the user's
    jurisdiction (the registry's definition, as in `fupin stats`)."""
    # `__in=[True]`: SQLite is given `is_registered_poor IN (1)`, which it answers from the (is_registered_poor,
    # area_code) index; `=True` becomes a bare column test that makes it scan every resident
    return Household.objects.restrict(user).filter(is_registered_poor__in=[True], dissolved_on__isnull=True)


def resolve_area(user, code: str | None) -> Area | None:
    """The area of `?division=`; None without one; Http404 for a code the user may not see."""
    if not code:
        return None
    area = area_for_code(user, code)
    if area is None:
        raise Http404(_("No such area, or outside your jurisdiction"))
    return area


@dataclass
class LayerQuery:
    prefix: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    color: str = "status"
    bbox: tuple[float, float, float, float] | None = None
    zoom: int | None = None


def parse_layer_query(user, params) -> LayerQuery:
    """The household layer's query string: division, <attribute key>=code,code, color, bbox=w,s,e,n, zoom."""
    area = resolve_area(user, params.get("division") or params.get("grid"))
    q = LayerQuery(prefix=area.prefix if area else "")
    for attr in layers.attributes():
        raw = params.get(attr.key, "")
        if attr.filterable and raw:
            q.filters[attr.key] = [c for c in raw.split(",") if c != ""] or [""]
    color = params.get("color") or "status"
    chosen = layers.attribute(color)
    if chosen is None or not chosen.color:
        raise BadRequest(_("Cannot colour by “%(color)s”") % {"color": color})
    q.color = color
    if params.get("bbox"):
        try:
            w, s, e, n = (float(x) for x in params["bbox"].split(","))
        except ValueError as exc:
            raise BadRequest(_("bbox must be four numbers: west,south,east,north")) from exc
        if not all(math.isfinite(v) for v in (w, s, e, n)) or w > e or s > n:
            raise BadRequest(_("bbox must be four numbers: west,south,east,north"))
        q.bbox = (w, s, e, n)
    if params.get("zoom"):
        try:
            q.zoom = max(0, min(22, int(float(params["zoom"]))))
        except ValueError as exc:
            raise BadRequest(_("zoom must be a whole number")) from exc
    return q


def filtered_households(user, q: LayerQuery):
    qs = poor_households(user)
    if q.prefix:
        qs = qs.filter(prefix_q("area_code", q.prefix))
    for key, codes in q.filters.items():
        attr = layers.attribute(key)
        if attr is not None:
            qs = attr.narrow(qs, codes)
    return qs


def _legend(attr: layers.HouseholdAttribute) -> tuple[list[dict], dict[str | None, int]]:
    choices = attr.choices()
    legend = [{"code": code, "label": str(label), "color": color or GREY} for code, label, color in choices]
    index = {code: i for i, (code, _label, _color) in enumerate(choices)}
    return legend, index


LAYER_CACHE_SECONDS = int(getattr(settings, "FUPIN_MAP_CACHE_SECONDS", 600))
COARSE_ZOOM = 12  # the first query groups households by map cells of this zoom (or the zoom asked for, if lower)


def household_layer(user, q: LayerQuery) -> dict:
    """The household layer in a compact form (see docs/map-and-dashboards.md):

    points mode: {"mode": "points", "complete": bool, "points": [[id, lng, lat, colour index, flags], ...]}
    clusters mode: {"mode": "clusters", "clusters": [[lng, lat, count, [count per colour index], highlighted], ...]}
    Both carry "legend" (colour index -> code, label, colour, count), "total", "located" and "unlocated".
    Colour index len(legend) means "other" (grey); flags bit 1 means the household stands out (e.g. pinned).

    One grouped query counts the filtered households by map cell and colour: that gives the legend, the totals and,
    when the map is zoomed out, the clusters themselves. Points follow in a second query when there are at most
    POINTS_MAX of them (all of them, or those in view); zoomed in on a crowded view, the clusters are grouped again
    at the finer zoom, inside the view.
    """
    attr = layers.attribute(q.color) or layers.attribute("status")
    legend, index = _legend(attr)
    other = len(legend)
    highlights = [a for a in layers.attributes() if a.highlight is not None]
    qs = filtered_households(user, q).annotate(_c=attr.expression())
    for h in highlights:
        qs = qs.annotate(**{f"_h_{h.key}": h.expression()})
    flag_q = _highlight_q(highlights)
    zoom = q.zoom if q.zoom is not None else 10
    coarse = _cached_grouped(user, q, qs, min(zoom, COARSE_ZOOM), flag_q, [h.key for h in highlights])
    counts: dict[int, int] = {}
    located = unlocated = 0
    for (gx, _gy, code), acc in coarse.items():
        ci = index.get(code, other)
        counts[ci] = counts.get(ci, 0) + acc[2]
        if gx is None:
            unlocated += acc[2]
        else:
            located += acc[2]
    for i, item in enumerate(legend):
        item["n"] = counts.get(i, 0)
    if counts.get(other):
        legend.append({"code": None, "label": _("other"), "color": GREY, "n": counts[other]})
    out = {"color": attr.key, "legend": legend, "total": located + unlocated, "located": located,
           "unlocated": unlocated, "highlight": [{"key": h.key, "label": str(h.label)} for h in highlights]}
    located_qs = qs.filter(LOCATED)
    if located <= POINTS_MAX:
        out.update(mode="points", complete=True, points=_points(located_qs, index, other, flag_q))
        return out
    cell_w, cell_h = _cell_size(min(zoom, COARSE_ZOOM))
    in_view = {key: acc for key, acc in coarse.items() if key[0] is not None and _cell_in_view(key, cell_w, cell_h, q)}
    if q.bbox is not None:
        w, s, e, n = q.bbox
        located_qs = located_qs.filter(lng__gte=w, lng__lte=e, lat__gte=s, lat__lte=n)
    # the cells touching the view hold at least every household in it: few enough, send the points in view
    if sum(acc[2] for acc in in_view.values()) > POINTS_MAX and zoom > COARSE_ZOOM:
        in_view = _grouped(located_qs, zoom, flag_q)
    if sum(acc[2] for acc in in_view.values()) <= POINTS_MAX:
        out.update(mode="points", complete=False, points=_points(located_qs, index, other, flag_q))
        return out
    out.update(mode="clusters", complete=False, clusters=_clusters(in_view, index, other))
    return out


def _points(qs, index: dict, other: int, flag_q: Q | None) -> list[list]:
    color_of = index.get
    if flag_q is None:
        return [[pk, round(x, 5), round(y, 5), color_of(c, other), 0]
                for pk, x, y, c in qs.values_list("id", "lng", "lat", "_c")]
    qs = qs.annotate(_flag=Case(When(flag_q, then=Value(1)), default=Value(0), output_field=IntegerField()))
    return [[pk, round(x, 5), round(y, 5), color_of(c, other), f]
            for pk, x, y, c, f in qs.values_list("id", "lng", "lat", "_c", "_flag")]


def _highlight_q(highlights: list[layers.HouseholdAttribute]) -> Q | None:
    q = None
    for h in highlights:
        part = Q(**{f"_h_{h.key}": h.highlight})
        q = part if q is None else q | part
    return q


def _cell_size(zoom: int) -> tuple[float, float]:
    """Degrees of longitude and latitude of a cluster cell (≈64 px) at this zoom. The latitude factor is the
    county's (FUPIN_MAP_CENTER), not the view's, so cells stay the same while the map pans (and can be cached)."""
    cell = 360.0 / (256 * 2 ** zoom) * CLUSTER_CELL_PX
    return cell, cell * max(0.2, math.cos(math.radians(DEFAULT_CENTER[0])))


def _cell_in_view(key: tuple, cell_w: float, cell_h: float, q: LayerQuery) -> bool:
    if q.bbox is None:
        return True
    w, s, e, n = q.bbox
    gx, gy = key[0], key[1]
    return gx * cell_w <= e and (gx + 1) * cell_w >= w and gy * cell_h <= n and (gy + 1) * cell_h >= s


def data_version() -> tuple:
    """Changes whenever people's data changes: every change goes through a service that records an audit event.
    (The time as well as the id: a rolled-back transaction can hand the same id out again.)"""
    from fupin.core.models import AuditEvent

    return AuditEvent.objects.order_by("-id").values_list("id", "at").first() or (0, None)


def _cached_grouped(user, q: LayerQuery, qs, zoom: int, flag_q: Q | None, highlight_keys: list[str]
                    ) -> dict[tuple, list]:
    """The coarse grouping of the filtered households, kept (per process) until the next audited change: panning and
    zooming out then costs one indexed query, whatever the number of households."""
    from django.core.cache import cache

    from fupin.core.scoping import scope_prefix

    filters = sorted((k, tuple(v)) for k, v in q.filters.items())
    key = "maps:grouped:" + hashlib.sha256(repr((
        scope_prefix(user), q.prefix, filters, q.color, zoom, highlight_keys, data_version(),
    )).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _grouped(qs, zoom, flag_q)
        cache.set(key, found, LAYER_CACHE_SECONDS)
    return found


def _grouped(qs, zoom: int, flag_q: Q | None) -> dict[tuple, list]:
    """(cell x, cell y, colour code) -> [sum lng, sum lat, households, highlighted], in one grouped query; the
    households without a position fall in cell (None, None)."""
    cell_w, cell_h = _cell_size(zoom)
    aggregates = {"n": Count("id"), "sx": Sum("lng"), "sy": Sum("lat")}
    if flag_q is not None:
        aggregates["hl"] = Count("id", filter=flag_q)
    rows = (qs.annotate(_gx=Floor(F("lng") / cell_w), _gy=Floor(F("lat") / cell_h))
            .values("_gx", "_gy", "_c").annotate(**aggregates).order_by())
    out: dict[tuple, list] = {}
    for r in rows:
        gx = None if r["_gx"] is None else int(r["_gx"])
        gy = None if r["_gy"] is None else int(r["_gy"])
        out[(gx, gy, r["_c"])] = [r["sx"] or 0.0, r["sy"] or 0.0, r["n"], r.get("hl") or 0]
    return out


def _clusters(grouped: dict[tuple, list], index: dict, other: int) -> list[list]:
    """Cells (over all colours) as [lng, lat, households, [households per colour index], highlighted]."""
    cells: dict[tuple, list] = {}
    for (gx, gy, code), (sx, sy, n, hl) in grouped.items():
        if gx is None:
            continue
        acc = cells.get((gx, gy))
        if acc is None:
            acc = cells[(gx, gy)] = [0.0, 0.0, 0, {}, 0]
        acc[0] += sx
        acc[1] += sy
        acc[2] += n
        ci = index.get(code, other)
        acc[3][ci] = acc[3].get(ci, 0) + n
        acc[4] += hl
    return [[round(sx / n, 5), round(sy / n, 5), n, [by.get(i, 0) for i in range(other + 1)], hl]
            for sx, sy, n, by, hl in cells.values()]


# Boundaries ------------------------------------------------------------------------------------------------------

BOUNDARY_LEVELS = {"county": ("county",), "town": ("town",), "village": ("village", "community"), "grid": ("grid",)}


def _round_coords(coords, ndigits: int = 5):
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(c, ndigits) for c in coords]
        return [_round_coords(c, ndigits) for c in coords]
    return coords


def _geometry(boundary) -> dict | None:
    """The geometry of a stored boundary (a geometry, a Feature or a FeatureCollection)."""
    if not isinstance(boundary, dict):
        return None
    kind = boundary.get("type")
    if kind == "Feature":
        return _geometry(boundary.get("geometry"))
    if kind == "FeatureCollection":
        geoms = [g for g in (_geometry(f) for f in boundary.get("features", [])) if g]
        if not geoms:
            return None
        return geoms[0] if len(geoms) == 1 else {"type": "GeometryCollection", "geometries": geoms}
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [g for g in (_geometry(x) for x in boundary.get("geometries", [])) if g]}
    if kind in ("Polygon", "MultiPolygon", "Point", "LineString", "MultiLineString", "MultiPoint"):
        return {"type": kind, "coordinates": _round_coords(boundary.get("coordinates", []))}
    return None


def boundaries(user, level: str, prefix: str = "") -> dict:
    """A FeatureCollection of the divisions (or grids) of a level inside `prefix` that the user sees; a division
    without a boundary is a Point at its centre, so it can still carry a label and a choropleth value.

    Kept per process until a division or grid changes (fupin/core/readcache.py): the same for every reader of the
    same scope, and rebuilding it (every polygon's coordinates rounded) is most of the request's cost."""
    if level not in BOUNDARY_LEVELS:
        raise BadRequest(_("Unknown boundary level “%(level)s”") % {"level": level})
    return readcache.cached("maps.boundaries", (readcache.scope_key(user), level, prefix,
                                                readcache.stamp(Division, Grid)),
                            lambda: _boundaries(user, level, prefix))


def _boundaries(user, level: str, prefix: str) -> dict:
    if level == "grid":
        qs = Grid.objects.restrict(user)
        rows = qs.filter(code__startswith=prefix) if prefix else qs
        rows = rows.values_list("code", "name", "boundary", "boundary_synthetic", "lng", "lat", "village__code")
        items = [(c, n, b, s, x, y, v, "grid", False) for c, n, b, s, x, y, v in rows]
    else:
        qs = Division.objects.restrict(user).filter(level__in=BOUNDARY_LEVELS[level])
        if prefix:
            qs = qs.filter(code__startswith=prefix)
        rows = qs.values_list("code", "name", "boundary", "boundary_synthetic", "lng", "lat", "parent__code", "level",
                              "is_poor_village")
        items = list(rows)
    features = []
    for code, name, boundary, synthetic, lng, lat, parent, lvl, poor_village in items:
        geometry = _geometry(boundary)
        if geometry is None:
            if lng is None or lat is None:
                continue
            geometry = {"type": "Point", "coordinates": [round(lng, 5), round(lat, 5)]}
            synthetic = False
        props = {"code": code, "name": name, "level": lvl, "parent": parent, "synthetic": bool(synthetic),
                 "poor_village": bool(poor_village)}
        if lng is not None and lat is not None:
            props["center"] = [round(lng, 5), round(lat, 5)]
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}


# Choropleth ------------------------------------------------------------------------------------------------------

def choropleth(user, key: str, level: str, prefix: str = "") -> dict:
    """code -> value of an indicator for every town or village inside `prefix`, with class breaks and colours."""
    from fupin.dashboards.selectors import indicator_values, state

    ind = layers.indicator(key)
    if ind is None:
        raise BadRequest(_("Unknown thematic indicator “%(key)s”") % {"key": key})
    if level not in ("town", "village", "grid"):
        raise BadRequest(_("A thematic map is by town, village or grid: %(level)s") % {"level": level})
    values = indicator_values(user, ind.figure, level=level, prefix=prefix, dim=ind.dim)
    st = state()
    breaks = class_breaks(list(values.values()))
    palette = (["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"] if ind.higher_is_worse
               else ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"])
    return {"indicator": ind.key, "label": str(ind.label), "unit": str(ind.unit), "decimals": ind.decimals,
            "level": level, "values": values, "breaks": breaks, "colors": palette[: len(breaks) + 1],
            "computed_at": st.computed_at.isoformat() if st and st.computed_at else None}


def class_breaks(values: list[float], classes: int = 5) -> list[float]:
    """Upper bounds of up to `classes` - 1 quantile classes (distinct, ascending)."""
    vals = sorted(v for v in values if v is not None)
    if len(vals) < 2:
        return []
    out: list[float] = []
    for i in range(1, classes):
        v = vals[min(len(vals) - 1, int(len(vals) * i / classes))]
        if (not out or v > out[-1]) and v < vals[-1]:
            out.append(v)
    return out


# Search ----------------------------------------------------------------------------------------------------------

def search(user, text: str, *, prefix: str = "", limit: int = 12) -> list[dict]:
    """Poor households by 户编号, head's or member's name (exact or its beginning), or ID number (full or its last
    four or more characters): the one search semantics (`fupin.core.search`), answered from
    indexes."""
    terms = parse_search(text)
    if not terms.text:
        return []
    base = poor_households(user)
    if prefix:
        base = base.filter(prefix_q("area_code", prefix))
    hits: dict[int, str] = {}
    for pk in base.filter(code_q(terms, "poor_code")).values_list("id", flat=True)[:limit]:
        hits.setdefault(pk, "")
    if terms.name_prefix:
        for pk in base.filter(name_q(terms, "head_name")).values_list("id", flat=True)[:limit]:
            hits.setdefault(pk, "")
    person_q = terms.person_q
    if person_q is not None and len(hits) < limit:
        persons = Person.objects.restrict(user).filter(person_q, is_alive=True, household__in=base)
        for pk, name in persons.values_list("household_id", "name")[: limit * 2]:
            hits.setdefault(pk, name)
    if not hits:
        return []
    from fupin.registry.labels import code_tables

    tables = code_tables()
    rows = {h.pk: h for h in base.filter(pk__in=list(hits)[:limit]).select_related("village", "grid")}
    out = []
    for pk, why in list(hits.items())[:limit]:
        h = rows.get(pk)
        if h is None:
            continue
        out.append({"id": h.pk, "head": h.head_name, "poor_code": h.poor_code or "", "area": h.area_code,
                    "village": h.village.name, "grid": h.grid.name if h.grid else "", "lng": h.lng, "lat": h.lat,
                    "status": tables.shown("status", h.poverty_status),
                    "color": tables.color("status", h.poverty_status) or GREY,
                    "matched": why if why and why != h.head_name else "", "url": h.get_absolute_url()})
    return out


# The popup -------------------------------------------------------------------------------------------------------

def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def household_popup(user, pk: int) -> dict:
    """What the popup shows: the family summary, causes, members and the sections other capabilities add."""
    from django.utils import timezone

    from fupin.registry.labels import code_tables

    hh = (poor_households(user).select_related("village", "village__parent", "grid", "located_by")
          .filter(pk=pk).first())
    if hh is None:
        raise Http404(_("No such household, or outside your area"))
    tables = code_tables()
    today = timezone.localdate()
    members = list(hh.members.filter(is_alive=True).order_by("id"))
    members.sort(key=lambda m: m.relationship != "户主")
    full_id = getattr(user, "may_view_full_id", False)
    head = next((m for m in members if m.relationship == "户主"), members[0] if members else None)
    causes = [tables.shown("cause", hh.main_cause)] if hh.main_cause else []
    causes += [tables.shown("cause", c) for c in (hh.other_causes or [])]
    place = " ".join(x for x in (hh.village.parent.name if hh.village.parent_id else "", hh.village.name,
                                 hh.grid.name if hh.grid_id else "", hh.group_name) if x)
    out = {
        "id": hh.pk, "url": hh.get_absolute_url(), "head": hh.head_name, "poor_code": hh.poor_code or "",
        "place": place, "address": hh.address, "phone": hh.phone if full_id else "",
        "size": len(members) or hh.size,
        "status": {"code": hh.poverty_status, "label": tables.shown("status", hh.poverty_status),
                   "color": tables.color("status", hh.poverty_status) or GREY},
        "attribute": tables.shown("attribute", hh.attribute),
        "main_cause": tables.shown("cause", hh.main_cause), "causes": causes,
        "year_identified": hh.year_identified, "year_exited": hh.year_exited,
        "per_capita_net_income": float(hh.per_capita_net_income) if hh.per_capita_net_income else None,
        "income_year": hh.income_year,
        "head_id": idviews.shown(head.id_number, user) if head and head.id_number else "",
        "members": [{"name": m.name, "relationship": m.relationship, "age": _age(m.birth_date, today),
                     "health": tables.shown_many("health", m.health), "labour": tables.shown("labour", m.labour_skill),
                     "schooling": tables.shown("schooling", m.schooling)} for m in members],
        "location": {"lng": hh.lng, "lat": hh.lat, "source": hh.location_source,
                     "by": str(hh.located_by) if hh.located_by_id else "",
                     "at": timezone.localtime(hh.located_at).strftime("%Y-%m-%d %H:%M") if hh.located_at else ""},
        "village_center": [hh.village.lng, hh.village.lat] if hh.village.lng is not None else None,
        "sections": [],
    }
    for fn in layers.popup_sections():  # a section that raises fails the popup: a broken extension shows
        section = fn(hh, user)
        if section:
            out["sections"].append({"title": str(section.get("title", "")),
                                    "rows": [[str(a), "" if b is None else str(b)] for a, b in section.get("rows", [])],
                                    "url": section.get("url")})
    return out


# The page --------------------------------------------------------------------------------------------------------

def area_tree(user, area: Area | None) -> list[dict]:
    """Towns, villages and grids under the area that the user sees, for the map's area filter (two queries; the map
    page keeps it with the rest of its data)."""
    prefix = area.prefix if area else ""
    divisions = Division.objects.restrict(user).filter(level__in=("county", "town", "village", "community"))
    grids = Grid.objects.restrict(user)
    if prefix:
        divisions = divisions.filter(code__startswith=prefix)
        grids = grids.filter(code__startswith=prefix)
    out = [{"code": c, "name": n, "level": lvl, "parent": p, "center": [x, y] if x is not None else None}
           for c, n, lvl, p, x, y in divisions.order_by("code").values_list("code", "name", "level", "parent__code",
                                                                             "lng", "lat")]
    out += [{"code": c, "name": n, "level": "grid", "parent": v, "center": [x, y] if x is not None else None}
            for c, n, v, x, y in grids.order_by("code").values_list("code", "name", "village__code", "lng", "lat")]
    return out


def area_bounds(area: Area | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the area's boundary (else of its point), for the map's first view."""
    if area is None:
        return None
    geometry = _geometry(getattr(area.obj, "boundary", None))
    coords: list = []

    def walk(c) -> None:
        if c and isinstance(c[0], (int, float)):
            coords.append(c)
        elif isinstance(c, list):
            for x in c:
                walk(x)

    if geometry is not None:
        for g in geometry.get("geometries", [geometry]):
            walk(g.get("coordinates", []))
    if not coords:
        lng, lat = getattr(area.obj, "lng", None), getattr(area.obj, "lat", None)
        if lng is None or lat is None:
            return None
        pad = {"town": 0.06, "village": 0.02, "community": 0.02, "grid": 0.006}.get(area.level, 0.2)
        return [[lat - pad, lng - pad], [lat + pad, lng + pad]]
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def map_config(user) -> dict:
    """Attributes (filters, colourings), indicators and base-map settings, for the page and the API."""
    from fupin.dashboards.figures import memo_scope

    with memo_scope():
        return _map_config(user)


def _map_config(user) -> dict:
    attrs = []
    for a in layers.attributes():
        legend, _index = _legend(a)
        attrs.append({"key": a.key, "label": str(a.label), "color": a.color, "filterable": a.filterable,
                      "highlight": a.highlight, "choices": legend})
    return {
        "attributes": attrs,
        "indicators": [{"key": i.key, "label": str(i.label), "unit": str(i.unit), "decimals": i.decimals}
                       for i in layers.indicators()],
        "tiles": {"url": getattr(settings, "FUPIN_TILE_URL", ""),
                  "attribution": getattr(settings, "FUPIN_TILE_ATTRIBUTION", ""),
                  "subdomains": getattr(settings, "FUPIN_TILE_SUBDOMAINS", "")},
        "center": list(DEFAULT_CENTER),
        "can_locate": bool(user.can("edit")) if hasattr(user, "can") else False,
        "points_max": POINTS_MAX,
    }
