"""The dashboard's figures and how other capabilities add theirs.

A *figure* is a number of an area (a county, town, village or grid), optionally broken down by a code (cause,
status, year ...). Figures are computed in the background into `FigureSnapshot` rows for every area at once and
never aggregated over the registry at page load (see `fupin.dashboards.services.refresh_snapshots`).

Extension points (call them from your app's `hooks.py`; see docs/map-and-dashboards.md):

- `register_figure_provider(name, compute=fn, figures=[Figure(...)], watches=("assistance.",))`:
  `fn(ctx)` yields `Row(code, key, value, dim=None)`, where `code` is the smallest area the value belongs to (a
  household's `area_code`: its grid, else its village). The refresh adds the row to that area and to every area above
  it, so a provider only counts leaves. `watches` are audit-action prefixes: an audit event starting with one of them
  marks the figures stale and schedules a (debounced) refresh.
- `register_derived_figure(Figure(...), fn)`: `fn(get)` -> number or None, computed per area after the sums (ratios
  such as the poverty incidence); `get(key, dim=None)` reads the area's summed figures.
- `register_section(key, title, order)`: a section of the dashboard page; a figure names its section.
- `household_list_url(area_code, **filters)`: the household list behind a figure (every figure links to one).
- `memo(key, fn)`: fn() once per page (e.g. the code lists your `dims` read), so a page stays a fixed number of
  queries however many figures share a lookup.

Example (in `fupin/assistance/hooks.py`)::

    from fupin.dashboards.figures import Figure, Row, household_list_url, register_figure_provider

    def _lights(ctx):
        for area_code, color, n in HouseholdLight.objects.values_list("household__area_code", "color")
                                                        .annotate(n=Count("id")):
            yield Row(area_code, "assistance.lights", n, dim=color)

    register_figure_provider("assistance", compute=_lights, watches=("assistance.",), figures=[
        Figure("assistance.lights", _("Warning lights"), section="assistance", chart="pie", unit=_("households"),
               dims=lambda: [("red", "红灯", "#d7301f"), ("yellow", "黄灯", "#f2b705"), ("green", "绿灯", "#2e8b57")],
               link=lambda area, dim: household_list_url(area, poor=1, light=dim)),
    ])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

CHARTS = ("kpi", "bar", "hbar", "pie", "line", "table", "none")


class Row(NamedTuple):
    """One leaf value a provider yields: `value` of figure `key` (under `dim`, if broken down) in area `code`."""

    code: str
    key: str
    value: float
    dim: str | None = None


@dataclass(frozen=True)
class Figure:
    """How a figure is shown: its label, section, chart, unit, breakdown labels and the households behind it.

    - `chart`: kpi (a number card), bar, hbar (horizontal bars), pie, line, table, or none (kept for the map or
      other figures, not drawn);
    - `dims()`: the breakdown's codes in display order as (code, label, colour); codes found in the data but not
      listed are shown after them as they stand. None: the codes sorted, as labels;
    - `link(area_code, dim)`: the URL of the households behind the figure (dim None: the whole figure);
    - `column`: also a column of the drill-down table of the area's towns / villages / grids;
    - `higher_is_worse`: colours of the map choropleth and of the drill-down table's bars run towards red;
    - `pair`: the key of a figure with the same breakdown shown as a second column of this one's table (the poor
      persons next to the poor households);
    - `zeros`: show every code `dims()` lists, even at zero (a pipeline's steps); otherwise only codes with a value.
    """

    key: str
    label: Any
    section: str = "registry"
    chart: str = "kpi"
    unit: Any = ""
    dims: Callable[[], list[tuple[str, str, str]]] | None = None
    link: Callable[[str, str | None], str | None] | None = None
    column: bool = False
    order: int = 100
    decimals: int = 0
    help: Any = ""
    higher_is_worse: bool = True
    pair: str | None = None
    zeros: bool = False

    def __post_init__(self) -> None:
        if self.chart not in CHARTS:
            raise ValueError(f"unknown chart {self.chart!r} for figure {self.key}")


@dataclass
class Context:
    """What a provider's compute function receives: the day of the refresh and every area's level by code."""

    today: dt.date
    areas: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Provider:
    name: str
    compute: Callable[[Context], Iterable[Row]]
    figures: tuple[Figure, ...]
    watches: tuple[str, ...]
    order: int


@dataclass(frozen=True)
class Derived:
    figure: Figure
    fn: Callable[[Callable[..., float | None]], float | None]


_PROVIDERS: dict[str, Provider] = {}
_DERIVED: dict[str, Derived] = {}
_SECTIONS: dict[str, tuple[Any, int]] = {}


def register_figure_provider(name: str, *, compute: Callable[[Context], Iterable[Row]], figures: list[Figure],
                             watches: tuple[str, ...] | list[str] = (), order: int = 100) -> None:
    """Add (or replace, by `name`) a provider of figures; see the module docstring."""
    _PROVIDERS[name] = Provider(name=name, compute=compute, figures=tuple(figures), watches=tuple(watches),
                                order=order)


def register_derived_figure(figure: Figure, fn: Callable[[Callable[..., float | None]], float | None]) -> None:
    """A figure computed per area from the area's summed figures (a ratio); see the module docstring."""
    _DERIVED[figure.key] = Derived(figure=figure, fn=fn)


def register_section(key: str, title: Any, order: int = 100) -> None:
    """A section of the dashboard page, shown when at least one of its figures exists."""
    _SECTIONS[key] = (title, order)


def providers() -> list[Provider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.name))


def derived_figures() -> list[Derived]:
    return list(_DERIVED.values())


def figures() -> dict[str, Figure]:
    """Every registered figure by key, in display order (by section, then the figure's order)."""
    out = [f for p in providers() for f in p.figures] + [d.figure for d in _DERIVED.values()]
    section_order = {key: order for key, (_title, order) in _SECTIONS.items()}
    return {f.key: f for f in sorted(out, key=lambda f: (section_order.get(f.section, 100), f.order, f.key))}


def sections() -> list[tuple[str, Any]]:
    """(key, title) of every section, in display order."""
    return [(k, t) for k, (t, _o) in sorted(_SECTIONS.items(), key=lambda kv: (kv[1][1], kv[0]))]


def watched_prefixes() -> tuple[str, ...]:
    return tuple(w for p in _PROVIDERS.values() for w in p.watches)


# The household list's filter parameters (fupin/registry/views.py). Figures use these names, never the raw ones,
# so a rename in the registry is one line here.
HOUSEHOLD_LIST_PATH = "/households/"
HOUSEHOLD_LIST_PARAMS = {
    "poor": "poor",
    "status": "status",
    "attribute": "attribute",
    "cause": "cause",
    "year_exited": "year_exited",
    "located": "located",
    "grid": "has_grid",
}


_MEMO: ContextVar[dict | None] = ContextVar("fupin_dashboard_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Within this block, memo() computes each key once (the dashboard wraps each page in one)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memo(key: str, fn: Callable[[], Any]) -> Any:
    """fn() once per memo_scope (every call outside one computes afresh)."""
    store = _MEMO.get()
    if store is None:
        return fn()
    if key not in store:
        store[key] = fn()
    return store[key]


def household_list_url(area_code: str, **filters: Any) -> str:
    """The household list of an area narrowed by filters, e.g. household_list_url(code, poor=1, cause="1")."""
    params: list[tuple[str, str]] = [("division", area_code)] if area_code else []
    for name, value in filters.items():
        if value is None or value == "":
            continue
        params.append((HOUSEHOLD_LIST_PARAMS.get(name, name), str(value)))
    return f"{HOUSEHOLD_LIST_PATH}?{urlencode(params)}"


register_section("overview", _("Overview"), 0)
register_section("registry", _("Poor households and people"), 10)
register_section("villages", _("Poor villages"), 20)
register_section("lifecycle", _("Procedures"), 30)
register_section("assistance", _("Pairing and warnings"), 40)
register_section("dispatch", _("Work orders"), 50)
register_section("quality", _("Data quality and comparison findings"), 60)
