"""The dashboard's figures and how other capabilities add theirs.

A *figure* is a number of an area (a county, town, village or grid), optionally broken down by a code (cause,
status, year ...). Figures are computed in the background into `FigureSnapshot` rows for every area at once and
never aggregated over the registry at page load (see `fupin.dashboards.services.refresh_snapshots`).

Extension points (register from your app's `hooks.py` with `fupin.core.extensions`; see docs/architecture.md):

- `dashboards.figure_provider` (`extensions.FigureProvider(name, compute=fn, figures=[Figure(...)],
  watches=("assistance.",))`): `fn(ctx)` yields `Row(code, key, value, dim=None)`, where `code` is the smallest area
  the value belongs to (a household's `area_code`: its grid, else its village). The refresh adds the row to that area
  and to every area above it, so a provider only counts leaves. `watches` are audit-action prefixes: an audit event
  starting with one of them marks the figures stale and schedules a (debounced) refresh.
- `dashboards.derived_figure` (`extensions.DerivedFigure(Figure(...), fn)`): `fn(get)` -> number or None, computed
  per area after the sums (ratios such as the poverty incidence); `get(key, dim=None)` reads the area's summed
  figures.
- `dashboards.section` (`extensions.DashboardSection(key, title, order)`): a section of the dashboard page; a figure
  names its section.

Helpers for providers: `household_list_url(area_code, **filters)`: the household list behind a figure (every figure
links to one); `memo(key, fn)`: fn() once per page (e.g. the code lists your `dims` read), so a page stays a fixed
number of queries however many figures share a lookup.

Example (in `fupin/assistance/hooks.py`)::

    from fupin.core import extensions as ext
    from fupin.core.extensions import Figure, Row
    from fupin.dashboards.figures import household_list_url

    def _lights(ctx):
        for area_code, color, n in HouseholdLight.objects.values_list("household__area_code", "color")
                                                        .annotate(n=Count("id")):
            yield Row(area_code, "assistance.lights", n, dim=color)

    ext.register(ext.FigureProvider("assistance", compute=_lights, watches=("assistance.",), figures=[
        Figure("assistance.lights", _("Warning lights"), section="assistance", chart="pie", unit=_("households"),
               dims=lambda: [("red", "红灯", "#d7301f"), ("yellow", "黄灯", "#f2b705"), ("green", "绿灯", "#2e8b57")],
               link=lambda area, dim: household_list_url(area, poor=1, light=dim)),
    ]))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fupin.core import extensions
from fupin.core.extensions import CHARTS, Figure, Row

__all__ = ["CHARTS", "Context", "Derived", "Figure", "Provider", "Row", "derived_figures", "figures",
           "household_list_url", "memo", "memo_scope", "providers", "sections", "watched_prefixes"]


@dataclass
class Context:
    """What a provider's compute function receives: the day of the refresh and every area's level by code."""

    today: dt.date
    areas: dict[str, str] = field(default_factory=dict)


Provider = extensions.FigureProvider
Derived = extensions.DerivedFigure


def providers() -> list[Provider]:
    return extensions.registered("dashboards.figure_provider")


def derived_figures() -> list[Derived]:
    return extensions.registered("dashboards.derived_figure")


def _sections() -> list[extensions.DashboardSection]:
    return extensions.registered("dashboards.section")


def figures() -> dict[str, Figure]:
    """Every registered figure by key, in display order (by section, then the figure's order)."""
    out = [f for p in providers() for f in p.figures] + [d.figure for d in derived_figures()]
    section_order = {s.key: s.order for s in _sections()}
    return {f.key: f for f in sorted(out, key=lambda f: (section_order.get(f.section, 100), f.order, f.key))}


def sections() -> list[tuple[str, Any]]:
    """(key, title) of every section, in display order."""
    return [(s.key, s.title) for s in _sections()]


def watched_prefixes() -> tuple[str, ...]:
    return tuple(w for p in providers() for w in p.watches)


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


# Compatibility for registrations written before the extension registry; tests/test_extensions.py lists callers.
def register_figure_provider(name: str, *, compute, figures, watches=(), order: int = 100) -> None:
    """Deprecated: `extensions.register(extensions.FigureProvider(name, compute, figures, watches, order))`."""
    extensions.register(extensions.FigureProvider(name=name, compute=compute, figures=tuple(figures),
                                                  watches=tuple(watches), order=order))


def register_derived_figure(figure: Figure, fn) -> None:
    """Deprecated: `extensions.register(extensions.DerivedFigure(figure, fn))`."""
    extensions.register(extensions.DerivedFigure(figure=figure, fn=fn))


def register_section(key: str, title: Any, order: int = 100) -> None:
    """Deprecated: `extensions.register(extensions.DashboardSection(key, title, order))`."""
    extensions.register(extensions.DashboardSection(key=key, title=title, order=order))
