"""Writes of the grid network: division and boundary imports, grids, posts, terminals, household grid assignment."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.coords import convert_geometry, gcj02_to_wgs84
from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import TableSpec, cell_text, read_table
from fupin.geo.choices import PARENT_LEVELS, Level, Post, UrbanRural
from fupin.geo.models import Division, Grid, GridPost, Terminal

DIVISION_SPEC = TableSpec(
    columns={
        "code": ["代码", "区划代码", "统计用区划代码"],
        "parent": ["上级代码", "parent_code"],
        "name": ["名称", "简称"],
        "level": ["级别", "层级"],
        "urban_rural_class": ["城乡分类代码", "城乡分类"],
        "lng_gcj02": ["经度", "lng"],
        "lat_gcj02": ["纬度", "lat"],
        "full_name": ["全称"],
    },
    required=["code", "parent", "name", "level"],
)
LEVEL_ALIASES = {"县": "county", "区县": "county", "乡镇": "town", "街道": "town", "村": "village", "社区": "community",
                 "市": "city", "省": "province"}


def _parse_division_rows(path: str | Path) -> tuple[list[dict], list[RowProblem]]:
    _header, rows = read_table(path, DIVISION_SPEC)
    parsed, problems = [], []
    seen: dict[str, int] = {}
    for rowno, r in rows:
        code = cell_text(r.get("code"))
        parent = cell_text(r.get("parent"))
        name = cell_text(r.get("name"))
        level = LEVEL_ALIASES.get(cell_text(r.get("level")), cell_text(r.get("level")).lower())
        urc = cell_text(r.get("urban_rural_class"))
        if not (code.isdigit() and len(code) == 12):
            problems.append(RowProblem(rowno, "code", code, _("A division code has 12 digits")))
            continue
        if code in seen:
            problems.append(RowProblem(rowno, "code", code, _("Duplicate division code (same as row %(seen)s)") % {"seen": seen[code]}))
            continue
        seen[code] = rowno
        if parent and not (parent.isdigit() and len(parent) == 12):
            problems.append(RowProblem(rowno, "parent", parent, _("The parent code has 12 digits")))
        if not name:
            problems.append(RowProblem(rowno, "name", "", _("The division's name is required")))
        if level not in Level.values:
            problems.append(RowProblem(rowno, "level", level, _("The level must be one of county/town/village/community")))
        if urc and urc not in UrbanRural.values:
            problems.append(RowProblem(rowno, "urban_rural_class", urc, _("Invalid urban-rural code (one of 111/112/121/122/123/210/220)")))
        lng = lat = None
        lng_s, lat_s = cell_text(r.get("lng_gcj02")), cell_text(r.get("lat_gcj02"))
        if lng_s or lat_s:
            try:
                lng, lat = gcj02_to_wgs84(float(lng_s), float(lat_s))
            except ValueError:
                problems.append(RowProblem(rowno, "lng_gcj02", f"{lng_s},{lat_s}", _("Longitude or latitude is not a number")))
        parsed.append({"row": rowno, "code": code, "parent": parent, "name": name, "level": level,
                       "urban_rural_class": urc, "lng": lng, "lat": lat,
                       "full_name": cell_text(r.get("full_name")) or name})
    return parsed, problems


@transaction.atomic
def import_divisions(*, actor, path: str | Path) -> dict:
    """Create or update divisions from a CSV/xlsx; idempotent; all-or-nothing.

    A root row may name a parent outside the file (and outside the database); any other parent must be in the file or
    the database, with a level that fits, or the file is refused as a whole.
    """
    rows, problems = _parse_division_rows(path)
    in_file = {r["code"]: r for r in rows}
    existing = {d.code: d for d in Division.objects.all()}
    roots = [r for r in rows if r["parent"] not in in_file and r["parent"] not in existing]
    if len(roots) > 1:
        for r in roots[1:]:
            problems.append(RowProblem(r["row"], "parent", r["parent"], _("The parent code exists neither in the file nor in the system")))
    for r in rows:
        parent_level = (in_file.get(r["parent"]) or {}).get("level") or getattr(existing.get(r["parent"]), "level", None)
        if parent_level and r["level"] in PARENT_LEVELS and parent_level not in PARENT_LEVELS[r["level"]]:
            problems.append(RowProblem(r["row"], "parent", r["parent"],
                                       _("The parent's level is %(parent_level)s, which does not fit this level %(r)s") % {"parent_level": parent_level, "r": r['level']}))
        if r["parent"] == r["code"]:
            problems.append(RowProblem(r["row"], "parent", r["parent"], _("The parent code cannot be the division's own")))
    if not rows and not problems:
        problems.append(RowProblem(0, "", "", _("The file has no data row")))
    if problems:
        raise ImportRefused(problems=sorted(problems, key=lambda p: p.row), headline=_("Division file not imported"))

    batch = batch_start(kind="import_divisions", actor=actor, source=path, keep_file=True)
    created = updated = 0
    by_code = dict(existing)
    depth = {"province": 0, "city": 1, "county": 2, "town": 3, "village": 4, "community": 4}
    for r in sorted(rows, key=lambda r: depth.get(r["level"], 9)):
        values = {"name": r["name"], "full_name": r["full_name"], "level": r["level"],
                  "urban_rural_class": r["urban_rural_class"], "parent": by_code.get(r["parent"])}
        if r["lng"] is not None:
            values.update(lng=r["lng"], lat=r["lat"], point_synthetic=False)
        obj = by_code.get(r["code"])
        if obj is None:
            obj = Division(code=r["code"], batch=batch, **values)
            obj.save()
            created += 1
        else:
            changed = [k for k, v in values.items() if getattr(obj, k) != v]
            if changed:
                for k in changed:
                    setattr(obj, k, values[k])
                obj.version += 1
                obj.batch = batch
                obj.save()
                updated += 1
        by_code[r["code"]] = obj
    root = roots[0]["code"] if roots else ""
    batch_finish(batch, actor=actor, rows=len(rows), summary={"created": created, "updated": updated},
                 area_code=root)
    return {"rows": len(rows), "created": created, "updated": updated, "batch": batch.pk}


@transaction.atomic
def import_boundaries(*, actor, path: str | Path, crs: str | None = None, synthetic: bool = False) -> dict:
    """Attach GeoJSON polygons to divisions (or grids, by a 15-digit code) by the `code` property.

    A feature whose properties say crs GCJ-02 (or crs="gcj02" given) is converted to WGS-84.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    except (ValueError, KeyError, TypeError) as exc:
        raise ImportRefused(problems=[RowProblem(0, "", Path(path).name, _("Not valid GeoJSON: %(exc)s") % {"exc": exc})]) from exc
    problems, updates = [], []
    for i, f in enumerate(features, start=1):
        props = f.get("properties") or {}
        code = str(props.get("code") or props.get("adcode") or "")
        if len(code) == 6:
            code += "000000"
        geom = f.get("geometry") or {}
        if geom.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(RowProblem(i, "geometry", geom.get("type", ""), _("A boundary must be a Polygon or MultiPolygon")))
            continue
        target = Grid.objects.filter(code=code).first() if len(code) == 15 else Division.objects.filter(code=code).first()
        if target is None:
            problems.append(RowProblem(i, "code", code, _("No division or grid in the system has this code")))
            continue
        if (crs or props.get("crs", "")).lower().replace("-", "") == "gcj02":
            geom = convert_geometry(geom)
        updates.append((target, geom))
    if problems:
        raise ImportRefused(problems=problems, headline=_("Boundary file not imported"))
    batch = batch_start(kind="import_boundaries", actor=actor, source=path, keep_file=True)
    for target, geom in updates:
        target.boundary = geom
        target.boundary_synthetic = synthetic
        target.version += 1
        target.batch = batch
        target.save(update_fields=["boundary", "boundary_synthetic", "version", "batch", "updated_at"])
    batch_finish(batch, actor=actor, rows=len(updates), summary={"attached": len(updates)})
    return {"attached": len(updates), "batch": batch.pk}


@transaction.atomic
def grid_create(*, actor, village: Division, number: int, name: str = "", boundary: dict | None = None) -> Grid:
    if village.level not in (Level.VILLAGE, Level.COMMUNITY):
        raise ServiceError(_("A grid lies only in a village or community: %(village_name)s is a %(level)s") % {"village_name": village.name, "level": village.get_level_display()})
    if not 1 <= number <= 999:
        raise ServiceError(_("The grid number must be from 1 to 999"))
    code = f"{village.code}{number:03d}"
    if Grid.objects.filter(code=code).exists():
        raise ServiceError(_("Duplicate grid code: %(code)s exists") % {"code": code}, field="number")
    grid = Grid.objects.create(code=code, village=village, name=name or f"{village.name}第{number}网格",
                               boundary=boundary)
    audit.record(actor=actor, action="geo.grid.create", obj=grid, after=audit.snapshot(grid))
    return grid


@transaction.atomic
def grid_assign_post(*, actor, grid: Grid, post: str, user, start: dt.date | None = None, note: str = "") -> GridPost:
    """Give a grid post to a user; the previous holder's row is closed, so the history stays."""
    if post not in Post.values:
        raise ServiceError(_("Unknown post: %(post)s") % {"post": post})
    start = start or timezone.localdate()
    current = GridPost.objects.select_for_update().filter(grid=grid, post=post, end_date__isnull=True).first()
    if current and current.user_id == user.pk:
        return current
    if current:
        if start < current.start_date:
            raise ServiceError(_("The new appointment date cannot be earlier than the current holder's"))
        before = audit.snapshot(current)
        current.end_date = start
        current.version += 1
        current.save(update_fields=["end_date", "version", "updated_at"])
        audit.record(actor=actor, action="geo.gridpost.end", obj=current, area_code=grid.code, before=before,
                     after=audit.snapshot(current))
    gp = GridPost.objects.create(grid=grid, post=post, user=user, start_date=start, note=note)
    audit.record(actor=actor, action="geo.gridpost.assign", obj=gp, area_code=grid.code, after=audit.snapshot(gp))
    return gp


@transaction.atomic
def terminal_assign(*, actor, terminal: Terminal, grid: Grid | None, holder=None, status: str | None = None) -> Terminal:
    before = audit.snapshot(terminal)
    terminal.grid = grid
    terminal.holder = holder
    if status:
        terminal.status = status
    terminal.version += 1
    terminal.save()
    audit.record(actor=actor, action="geo.terminal.assign", obj=terminal, area_code=grid.code if grid else "",
                 before=before, after=audit.snapshot(terminal))
    return terminal


def households_assign_grid(*, actor, village: Division, by: str = "location", grid: Grid | None = None,
                           household_ids: list[int] | None = None) -> dict:
    """Assign a village's unassigned (待分配网格) households to grids, by location or by hand; one audit event. The
    registry writes them (fupin/registry/grids.py, through the point geo.area_households)."""
    from fupin.geo.selectors import area_households

    households = area_households()
    if households is None:
        raise ServiceError(_("There is no household register, so grids cannot be assigned"))
    return households.assign(actor=actor, village=village, by=by, grid=grid, household_ids=household_ids)
