"""What the battle map shows about households and areas, and how other capabilities add to it.

Extension points (call them from your app's `hooks.py`; see docs/map-and-dashboards.md):

- `register_household_attribute(HouseholdAttribute(...))`: a code every poor household has (status, warning light,
  pinned, pairing cadre ...). The map offers it as a filter (`?<key>=code,code` on the household layer), as a
  colouring of the points (`?color=<key>`) and, with `highlight`, draws the households holding that code so they
  stand out (pinned). The code comes from `expression()`, a database expression evaluated on `Household` rows
  (a column `F("poverty_status")`, or a `Subquery(...)` into your own table), so filtering, colouring and the
  server-side clusters stay single queries at any size.
- `register_indicator(Indicator(...))`: a choropleth of towns or villages; it reads a dashboard figure from the
  snapshot (`fupin.dashboards.figures`), so register the figure there first.
- `register_popup_section(fn, order=100)`: `fn(household, user)` -> `{"title": str, "rows": [(label, value), ...],
  "url": optional link}` or None; shown in the household's popup below the family summary.

Example (in `fupin/assistance/hooks.py`)::

    from django.db.models import OuterRef, Subquery
    from fupin.maps.layers import HouseholdAttribute, register_household_attribute

    register_household_attribute(HouseholdAttribute(
        key="light", label=_("Warning light"), order=40,
        choices=lambda: [("red", "红灯", "#d7301f"), ("yellow", "黄灯", "#f2b705"), ("green", "绿灯", "#2e8b57")],
        expression=lambda: Subquery(HouseholdLight.objects.filter(household=OuterRef("pk")).values("color")[:1]),
    ))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Expression, F, QuerySet

Choice = tuple[str, str, str]  # (code, label, colour)


@dataclass(frozen=True)
class HouseholdAttribute:
    """A code of each poor household the map can filter by, colour by, or make stand out (see module docstring).

    - `choices()`: (code, label, colour) in legend order; households whose code is not listed are drawn grey;
    - `expression()`: the code as a database expression on Household (F("field") or a Subquery);
    - `filter(qs, codes)`: optional, a faster way to narrow households to these codes than the expression;
    - `color`: offered as a colouring of the points; `filterable`: offered as a filter;
    - `highlight`: the code whose households stand out on the map (drawn larger with a ring, e.g. pinned "1").
    """

    key: str
    label: Any
    choices: Callable[[], list[Choice]]
    expression: Callable[[], Expression | F]
    filter: Callable[[QuerySet, list[str]], QuerySet] | None = None
    color: bool = True
    filterable: bool = True
    highlight: str | None = None
    order: int = 100

    def narrow(self, qs: QuerySet, codes: list[str]) -> QuerySet:
        if self.filter is not None:
            return self.filter(qs, codes)
        name = f"_attr_{self.key}"
        return qs.annotate(**{name: self.expression()}).filter(**{f"{name}__in": codes})


@dataclass(frozen=True)
class Indicator:
    """A choropleth of towns or villages: one dashboard figure (or one code of its breakdown) per area."""

    key: str
    label: Any
    figure: str
    dim: str | None = None
    unit: Any = ""
    decimals: int = 0
    higher_is_worse: bool = True
    order: int = 100


_ATTRIBUTES: dict[str, HouseholdAttribute] = {}
_INDICATORS: dict[str, Indicator] = {}
_POPUP_SECTIONS: list[tuple[int, Callable]] = []


def register_household_attribute(attribute: HouseholdAttribute) -> None:
    """Add (or replace, by key) a household attribute of the map."""
    _ATTRIBUTES[attribute.key] = attribute


def register_indicator(indicator: Indicator) -> None:
    """Add (or replace, by key) a choropleth indicator."""
    _INDICATORS[indicator.key] = indicator


def register_popup_section(fn: Callable, order: int = 100) -> Callable:
    """Add a section to the household popup: fn(household, user) -> dict | None."""
    if all(f is not fn for _, f in _POPUP_SECTIONS):
        _POPUP_SECTIONS.append((order, fn))
        _POPUP_SECTIONS.sort(key=lambda p: p[0])
    return fn


def attributes() -> list[HouseholdAttribute]:
    return sorted(_ATTRIBUTES.values(), key=lambda a: (a.order, a.key))


def attribute(key: str) -> HouseholdAttribute | None:
    return _ATTRIBUTES.get(key)


def indicators() -> list[Indicator]:
    return sorted(_INDICATORS.values(), key=lambda i: (i.order, i.key))


def indicator(key: str) -> Indicator | None:
    return _INDICATORS.get(key)


def popup_sections() -> list[Callable]:
    return [fn for _, fn in _POPUP_SECTIONS]
