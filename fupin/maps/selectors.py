"""Reads of the battle map: the household layer (points, or clusters computed in the database when there are too
many to send), boundaries, choropleths, search and the household popup. Everything is scoped with
`restrict(user)`; the layer is a few grouped queries whatever the number of households.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Floor
from django.http import Http404
from django.utils.translation import gettext as _

from fupin.core import idnumber
from fupin.geo.models import Division, Grid
from fupin.maps import layers
from fupin.registry.models import Household, Person
from fupin.web.shell import Area, area_for_code

log = logging.getLogger(__name__)

LOCATED = Q(lng__isnull=False, lat__isnull=False)
GREY = "#9aa0a6"
# above this many households the layer is sent as clusters computed in the database (one row per map cell)
POINTS_MAX = int(getattr(settings, "FUPIN_MAP_POINTS_MAX", 6000))
CLUSTER_CELL_PX = 56
DEFAULT_CENTER = getattr(settings, "FUPIN_MAP_CENTER", (30.38, 111.45))


class BadRequest(ValueError):
    """A malformed map request (the message is shown as it stands)."""


def poor_households(user):
    """The households the map draws: registered poor households that still exist, in the user's jurisdiction."""
    return Household.objects.restrict(user).filter(is_registered_poor=True, dissolved_on__isnull=True,
                                                   merged_into__isnull=True)


def resolve_area(user, code: str | None) -> Area | None:
    """The area of `?division=`; None without one; Http404 for a code the user may not see."""
    if not code:
        return None
    area = area_for_code(user, code)
    if area is None:
        raise Http404("没有这个区域,或不在您的辖区内")
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
        raise BadRequest(f"不能按「{color}」着色")
    q.color = color
    if params.get("bbox"):
        try:
            w, s, e, n = (float(x) for x in params["bbox"].split(","))
        except ValueError as exc:
            raise BadRequest("bbox 应为 西,南,东,北 四个数") from exc
        if not all(math.isfinite(v) for v in (w, s, e, n)) or w > e or s > n:
            raise BadRequest("bbox 应为 西,南,东,北 四个数")
        q.bbox = (w, s, e, n)
    if params.get("zoom"):
        try:
            q.zoom = max(0, min(22, int(float(params["zoom"]))))
        except ValueError as exc:
            raise BadRequest("zoom 应为整数") from exc
    return q


def filtered_households(user, q: LayerQuery):
    qs = poor_households(user)
    if q.prefix:
        qs = qs.filter(area_code__startswith=q.prefix)
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


def household_layer(user, q: LayerQuery) -> dict:
    """The household layer in a compact form (see docs/map-and-dashboards.md):

    points mode: {"mode": "points", "complete": bool, "points": [[id, lng, lat, colour index, flags], ...]}
    clusters mode: {"mode": "clusters", "clusters": [[lng, lat, count, [count per colour index], highlighted], ...]}
    Both carry "legend" (colour index -> code, label, colour, count), "total", "located" and "unlocated".
    Colour index len(legend) means "other" (grey); flags bit 1 means the household stands out (e.g. pinned).
    """
    attr = layers.attribute(q.color) or layers.attribute("status")
    legend, index = _legend(attr)
    other = len(legend)
    qs = filtered_households(user, q).annotate(_c=attr.expression())
    counts: dict[int, int] = {}
    located = unlocated = 0
    for code, is_located, n in (qs.values("_c").annotate(n=Count("id"), loc=Count("id", filter=LOCATED))
                                .values_list("_c", "loc", "n")):
        counts[index.get(code, other)] = counts.get(index.get(code, other), 0) + n
        located += is_located
        unlocated += n - is_located
    for i, item in enumerate(legend):
        item["n"] = counts.get(i, 0)
    if counts.get(other):
        legend.append({"code": None, "label": _("other"), "color": GREY, "n": counts[other]})
    highlights = [a for a in layers.attributes() if a.highlight is not None]
    out = {"color": attr.key, "legend": legend, "total": located + unlocated, "located": located,
           "unlocated": unlocated, "highlight": [{"key": h.key, "label": str(h.label)} for h in highlights]}
    located_qs = qs.filter(LOCATED)
    for h in highlights:
        located_qs = located_qs.annotate(**{f"_h_{h.key}": h.expression()})
    complete = located <= POINTS_MAX
    if not complete and q.bbox is not None:
        w, s, e, n = q.bbox
        located_qs = located_qs.filter(lng__gte=w, lng__lte=e, lat__gte=s, lat__lte=n)
    if complete or located_qs.count() <= POINTS_MAX:
        flag_q = _highlight_q(highlights)
        fields = ["id", "lng", "lat", "_c"]
        if flag_q is not None:
            located_qs = located_qs.annotate(_flag=Case(When(flag_q, then=Value(1)), default=Value(0),
                                                         output_field=IntegerField()))
            fields.append("_flag")
        points = [[row[0], round(row[1], 5), round(row[2], 5), index.get(row[3], other),
                   row[4] if len(row) > 4 else 0] for row in located_qs.values_list(*fields)]
        out.update(mode="points", complete=complete, points=points)
        return out
    out.update(mode="clusters", complete=False, clusters=_clusters(located_qs, q, index, other, highlights))
    return out


def _highlight_q(highlights: list[layers.HouseholdAttribute]) -> Q | None:
    q = None
    for h in highlights:
        part = Q(**{f"_h_{h.key}": h.highlight})
        q = part if q is None else q | part
    return q


def _clusters(qs, q: LayerQuery, index: dict, other: int, highlights) -> list[list]:
    """Households grouped by map cell (≈56 px at the zoom asked for) and colour code, in the database."""
    zoom = q.zoom if q.zoom is not None else 10
    cell = 360.0 / (256 * 2 ** zoom) * CLUSTER_CELL_PX
    mid_lat = (q.bbox[1] + q.bbox[3]) / 2 if q.bbox else DEFAULT_CENTER[0]
    cell_lat = cell * max(0.2, math.cos(math.radians(mid_lat)))
    flag_q = _highlight_q(highlights)
    aggregates = {"n": Count("id"), "sx": Sum("lng"), "sy": Sum("lat")}
    if flag_q is not None:
        aggregates["hl"] = Count("id", filter=flag_q)
    rows = (qs.annotate(_gx=Floor(F("lng") / cell), _gy=Floor(F("lat") / cell_lat))
            .values("_gx", "_gy", "_c").annotate(**aggregates))
    cells: dict[tuple, list] = {}
    for r in rows:
        key = (r["_gx"], r["_gy"])
        acc = cells.get(key)
        if acc is None:
            acc = cells[key] = [0.0, 0.0, 0, {}, 0]
        acc[0] += r["sx"]
        acc[1] += r["sy"]
        acc[2] += r["n"]
        ci = index.get(r["_c"], other)
        acc[3][ci] = acc[3].get(ci, 0) + r["n"]
        acc[4] += r.get("hl", 0) or 0
    out = []
    for sx, sy, n, by_color, hl in cells.values():
        out.append([round(sx / n, 5), round(sy / n, 5), n, [by_color.get(i, 0) for i in range(other + 1)], hl])
    return out


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
    without a boundary is a Point at its centre, so it can still carry a label and a choropleth value."""
    if level not in BOUNDARY_LEVELS:
        raise BadRequest(f"未知的边界层级「{level}」")
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
        raise BadRequest(f"未知的专题指标「{key}」")
    if level not in ("town", "village", "grid"):
        raise BadRequest(f"专题图只能按乡镇、村或网格:{level}")
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
    """Poor households by head or member name, 户编号, or ID number (full, or its last digits), best matches first."""
    text = (text or "").strip()
    if not text:
        return []
    base = poor_households(user)
    if prefix:
        base = base.filter(area_code__startswith=prefix)
    persons = Person.objects.restrict(user).filter(household__in=base)
    hits: dict[int, str] = {}

    def add(ids_and_why) -> None:
        for pk, why in ids_and_why:
            if len(hits) >= limit:
                return
            hits.setdefault(pk, why)

    clean = idnumber.clean(text) if any(ch.isdigit() for ch in text) else ""
    if clean and clean[:-1].isdigit() and len(clean) >= 4:
        if len(clean) >= 15:
            try:
                clean = idnumber.normalise(clean)
            except idnumber.IdNumberError:
                pass
            add(persons.filter(id_number=clean).values_list("household_id", "name")[:limit])
        else:
            add(persons.filter(id_rev__startswith=clean[::-1]).values_list("household_id", "name")[:limit])
    add((pk, "") for pk in base.filter(poor_code=text).values_list("id", flat=True)[:limit])
    add((pk, "") for pk in base.filter(poor_code__startswith=text).values_list("id", flat=True)[:limit])
    add((pk, "") for pk in base.filter(head_name__startswith=text).values_list("id", flat=True)[:limit])
    add(persons.filter(name__startswith=text).values_list("household_id", "name")[:limit])
    if len(text) >= 2:
        add((pk, "") for pk in base.filter(head_name__contains=text).values_list("id", flat=True)[:limit])
        add(persons.filter(name__contains=text).values_list("household_id", "name")[:limit])
    if not hits:
        return []
    from fupin.registry.labels import code_tables

    tables = code_tables()
    rows = {h.pk: h for h in base.filter(pk__in=hits).select_related("village", "grid")}
    out = []
    for pk, why in hits.items():
        h = rows.get(pk)
        if h is None:
            continue
        out.append({"id": h.pk, "head": h.head_name, "poor_code": h.poor_code or "", "village": h.village.name,
                    "grid": h.grid.name if h.grid else "", "lng": h.lng, "lat": h.lat,
                    "status": tables.label("status", h.poverty_status),
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
        raise Http404("没有这一户,或不在您的辖区内")
    tables = code_tables()
    today = timezone.localdate()
    members = list(hh.members.filter(is_alive=True).order_by("id"))
    members.sort(key=lambda m: m.relationship != "户主")
    full_id = getattr(user, "may_view_full_id", False)
    head = next((m for m in members if m.relationship == "户主"), members[0] if members else None)
    causes = [tables.label("cause", hh.main_cause)] if hh.main_cause else []
    causes += [tables.label("cause", c) for c in (hh.other_causes or [])]
    place = " ".join(x for x in (hh.village.parent.name if hh.village.parent_id else "", hh.village.name,
                                 hh.grid.name if hh.grid_id else "", hh.group_name) if x)
    out = {
        "id": hh.pk, "url": hh.get_absolute_url(), "head": hh.head_name, "poor_code": hh.poor_code or "",
        "place": place, "address": hh.address, "phone": hh.phone if full_id else "",
        "size": len(members) or hh.size,
        "status": {"code": hh.poverty_status, "label": tables.label("status", hh.poverty_status),
                   "color": tables.color("status", hh.poverty_status) or GREY},
        "attribute": tables.label("attribute", hh.attribute),
        "main_cause": tables.label("cause", hh.main_cause), "causes": causes,
        "year_identified": hh.year_identified, "year_exited": hh.year_exited,
        "per_capita_net_income": float(hh.per_capita_net_income) if hh.per_capita_net_income else None,
        "income_year": hh.income_year,
        "head_id": (head.id_number if full_id else idnumber.mask(head.id_number)) if head and head.id_number else "",
        "members": [{"name": m.name, "relationship": m.relationship, "age": _age(m.birth_date, today),
                     "health": tables.labels("health", m.health), "labour": tables.label("labour", m.labour_skill),
                     "schooling": tables.label("schooling", m.schooling)} for m in members],
        "location": {"lng": hh.lng, "lat": hh.lat, "source": hh.location_source,
                     "by": str(hh.located_by) if hh.located_by_id else "",
                     "at": timezone.localtime(hh.located_at).strftime("%Y-%m-%d %H:%M") if hh.located_at else ""},
        "village_center": [hh.village.lng, hh.village.lat] if hh.village.lng is not None else None,
        "sections": [],
    }
    for fn in layers.popup_sections():
        try:
            section = fn(hh, user)
        except Exception:
            log.exception("popup section %s failed for household %s", fn, hh.pk)
            continue
        if section:
            out["sections"].append({"title": str(section.get("title", "")),
                                    "rows": [[str(a), "" if b is None else str(b)] for a, b in section.get("rows", [])],
                                    "url": section.get("url")})
    return out


# The page --------------------------------------------------------------------------------------------------------

def area_tree(user, area: Area | None) -> list[dict]:
    """Towns, villages and grids under the area that the user sees, for the map's area filter (two queries)."""
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
