"""Reads of the dashboards: an area's precomputed figures, its children's, shaped for the page, the API, the xlsx
export and the PDF summary. A handful of queries whatever the size of the registry: nothing here aggregates people's
rows, everything comes from `FigureSnapshot` (scoped by `restrict(user)` like people's data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fupin.core import readcache
from fupin.dashboards import figures as registry
from fupin.dashboards.figures import Figure, household_list_url
from fupin.dashboards.models import FigureSnapshot, SnapshotState
from fupin.dashboards.rollup import ancestor_codes
from fupin.geo.areas import Area, root_divisions, user_area
from fupin.geo.models import Division, Grid


@dataclass
class Item:
    """One bar / slice of a broken-down figure."""

    code: str
    label: str
    value: float
    color: str = ""
    url: str | None = None
    value2: float | None = None


@dataclass
class FigureView:
    """A figure of one area as shown: its value, its breakdown items and the households behind it."""

    key: str
    label: str
    section: str
    chart: str
    unit: str
    value: float | None
    decimals: int = 0
    url: str | None = None
    help: str = ""
    items: list[Item] = field(default_factory=list)
    unit2: str = ""

    @property
    def display(self) -> str:
        return fmt(self.value, self.decimals)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "section": self.section, "chart": self.chart,
                "unit": self.unit, "value": self.value, "decimals": self.decimals, "url": self.url,
                "help": self.help, "unit2": self.unit2, "items": [i.__dict__ for i in self.items]}


@dataclass
class ChildRow:
    code: str
    name: str
    level: str
    url: str | None
    values: dict[str, float | None]
    by_status: dict[str, float]
    cells: list[str] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    kpis: list[FigureView]
    charts: list[FigureView]


@dataclass
class Dashboard:
    area: Area
    computed_at: dt.datetime | None
    stale_since: dt.datetime | None
    ancestors: list[tuple[str, str]]
    figures: dict[str, FigureView]
    sections: list[Section]
    columns: list[Figure]
    children: list[ChildRow]
    child_level: str
    status_dims: list[tuple[str, str, str]]

    @property
    def kpis(self) -> list[FigureView]:
        """The overview's number cards (the top row of the page and of the summary)."""
        return [f for f in self.figures.values() if f.section == "overview" and f.chart == "kpi"]

    @property
    def other_sections(self) -> list[Section]:
        return [s for s in self.sections if s.key != "overview"]


def fmt(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "—"
    if decimals:
        return f"{value:,.{decimals}f}"
    return f"{round(value):,}"


def state() -> SnapshotState | None:
    return SnapshotState.objects.order_by("pk").first()


def default_area(user) -> Area | None:
    """The area a dashboard or map opens on: the user's jurisdiction, else (superuser) the top division."""
    area = user_area(user)
    if area is None and user.is_superuser:
        roots = root_divisions(user)
        area = Area.of(roots[0]) if roots else None
    return area


def children_of(user, area: Area) -> list[Division | Grid]:
    """The areas one level down that the user sees: towns of a county, villages of a town, grids of a village."""
    if area.level == "grid":
        return []
    if area.level in ("village", "community"):
        return list(Grid.objects.restrict(user).filter(village_id=area.obj.pk).order_by("code"))
    return list(Division.objects.restrict(user).filter(parent_id=area.obj.pk).order_by("code"))


def ancestors(user, area: Area) -> list[tuple[str, str]]:
    """(code, name) of the divisions above the area that the user may see, top first."""
    codes = [c for c in ancestor_codes(area.code) if c != area.code]
    rows = dict(Division.objects.restrict(user).filter(code__in=codes).values_list("code", "name"))
    return [(c, rows[c]) for c in codes if c in rows]


def figure_views(snapshots: dict[str, FigureSnapshot], area_code: str, *, dims_cache: dict | None = None
                 ) -> dict[str, FigureView]:
    """Every registered figure of one area, shaped for display (missing snapshots count as zero, ratios as none)."""
    dims_cache = {} if dims_cache is None else dims_cache
    derived = {d.figure.key for d in registry.derived_figures()}
    out: dict[str, FigureView] = {}
    for key, fig in registry.figures().items():
        snap = snapshots.get(key)
        value = snap.value if snap is not None else (None if key in derived else 0)
        view = FigureView(key=key, label=str(fig.label), section=fig.section, chart=fig.chart, unit=str(fig.unit),
                          value=value, decimals=fig.decimals, help=str(fig.help),
                          url=fig.link(area_code, None) if fig.link else None)
        if snap is not None and snap.breakdown:
            view.items = _items(fig, snap.breakdown, area_code, dims_cache)
        out[key] = view
    for key, fig in registry.figures().items():
        paired = registry.figures().get(fig.pair) if fig.pair else None
        if paired is not None:
            view = out[key]
            view.unit2 = str(paired.unit)
            other = snapshots.get(paired.key)
            for item in view.items:
                item.value2 = (other.breakdown or {}).get(item.code, 0) if other is not None else 0
    return out


def _items(fig: Figure, breakdown: dict[str, float], area_code: str, dims_cache: dict) -> list[Item]:
    if fig.dims is not None:
        if fig.key not in dims_cache:
            dims_cache[fig.key] = fig.dims()
        dims = dims_cache[fig.key]
    else:
        dims = [(code, code, "") for code in sorted(breakdown)]
    items = []
    listed = set()
    for code, label, color in dims:
        listed.add(code)
        if breakdown.get(code) or fig.zeros:
            items.append(Item(code, str(label), breakdown.get(code, 0), color,
                              fig.link(area_code, code) if fig.link else None))
    for code in sorted(set(breakdown) - listed):
        if breakdown[code]:
            items.append(Item(code, code or _("(not filled)"), breakdown[code], "",
                              fig.link(area_code, code) if fig.link else None))
    return items


def dashboard(user, area: Area) -> Dashboard:
    """Everything the dashboard page shows for one area: about eight queries, or three when the same scope asked for
    the same area since the snapshot was last computed (kept per process, fupin/core/readcache.py: the figures
    change only when the snapshot is recomputed, the names with the divisions and grids; the labels of codes,
    departments and rules at most FUPIN_READ_CACHE_SECONDS late). The result is shared: do not change it."""
    st = state()
    version = (st.pk, st.computed_at, st.stale_since) if st is not None else None
    return readcache.cached("dashboards.dashboard", (readcache.scope_key(user), area.code, area.level, version,
                                                     readcache.stamp(Division, Grid)),
                            lambda: _dashboard_memo(user, area, st))


def _dashboard_memo(user, area: Area, st: SnapshotState | None) -> Dashboard:
    with registry.memo_scope():
        return _dashboard(user, area, st)


def _dashboard(user, area: Area, st: SnapshotState | None) -> Dashboard:
    snaps = {s.key: s for s in FigureSnapshot.objects.restrict(user).filter(area_code=area.code)}
    dims_cache: dict = {}
    views = figure_views(snaps, area.code, dims_cache=dims_cache)
    sections = []
    for key, title in registry.sections():
        charts = [v for v in views.values() if v.section == key and v.chart not in ("none", "kpi") and v.items]
        kpis = [v for v in views.values() if v.section == key and v.chart == "kpi"]
        if charts or kpis:
            sections.append(Section(key, str(title), kpis, charts))
    columns = [f for f in registry.figures().values() if f.column]
    kids = children_of(user, area)
    children: list[ChildRow] = []
    child_level = ""
    if kids:
        child_level = "grid" if isinstance(kids[0], Grid) else kids[0].level
        wanted = [f.key for f in columns] + ["poor_households_by_status"]
        by_child: dict[str, dict[str, FigureSnapshot]] = {}
        for s in FigureSnapshot.objects.restrict(user).filter(area_code__in=[k.code for k in kids], key__in=wanted):
            by_child.setdefault(s.area_code, {})[s.key] = s
        derived = {d.figure.key for d in registry.derived_figures()}
        for k in kids:
            got = by_child.get(k.code, {})
            values = {f.key: (got[f.key].value if f.key in got else (None if f.key in derived else 0))
                      for f in columns}
            status = got.get("poor_households_by_status")
            children.append(ChildRow(code=k.code, name=k.name, level="grid" if isinstance(k, Grid) else k.level,
                                     url=f"/dashboard/?division={k.code}", values=values,
                                     by_status=status.breakdown if status else {}))
        if area.level in ("village", "community"):
            children.extend(_outside_grids(area, views, children, columns))
        for row in children:
            row.cells = [fmt(row.values.get(f.key), f.decimals) for f in columns]
    status_fig = registry.figures().get("poor_households_by_status")
    status_dims = dims_cache.get("poor_households_by_status") or (status_fig.dims() if status_fig and status_fig.dims
                                                                   else [])
    return Dashboard(area=area, computed_at=st.computed_at if st else None, stale_since=st.stale_since if st else None,
                     ancestors=ancestors(user, area), figures=views, sections=sections, columns=columns,
                     children=children, child_level=child_level, status_dims=status_dims)


def _outside_grids(area: Area, views: dict[str, FigureView], children: list[ChildRow], columns: list[Figure]
                   ) -> list[ChildRow]:
    """A village's households not yet in any grid, as one more row (so the rows add up to the village)."""
    values: dict[str, float | None] = {}
    derived = {d.figure.key for d in registry.derived_figures()}
    any_left = False
    for f in columns:
        if f.key in derived:
            values[f.key] = None
            continue
        left = (views[f.key].value or 0) - sum(c.values.get(f.key) or 0 for c in children)
        values[f.key] = left
        any_left = any_left or left > 0
    if not any_left:
        return []
    return [ChildRow(code="", name=_("(not in a grid)"), level="", values=values, by_status={},
                     url=household_list_url(area.code, grid=0))]


def totals(user, area: Area) -> dict[str, float | None]:
    """key -> value of every figure of the area (the API's totals; equal to `fupin stats` after a refresh)."""
    return {s.key: s.value for s in FigureSnapshot.objects.restrict(user).filter(area_code=area.code)}


def indicator_values(user, key: str, *, level: str, prefix: str, dim: str | None = None) -> dict[str, float]:
    """code -> value of one figure for every area of a level inside `prefix` (the map's choropleth)."""
    levels = ("village", "community") if level == "village" else (level,)
    qs = FigureSnapshot.objects.restrict(user).filter(key=key, level__in=levels)
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    if dim is None:
        return {code: value for code, value in qs.values_list("area_code", "value") if value is not None}
    return {code: (breakdown or {}).get(dim, 0) for code, breakdown in qs.values_list("area_code", "breakdown")}
