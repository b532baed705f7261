"""What the battle map shows about households and areas, and how other capabilities add to it.

Extension points (register from your app's `hooks.py` with `fupin.core.extensions`; see docs/architecture.md):

- `maps.household_attribute` (`extensions.HouseholdAttribute`): a code every poor household has (status, warning
  light, pinned, pairing cadre ...). The map offers it as a filter (`?<key>=code,code` on the household layer), as a
  colouring of the points (`?color=<key>`) and, with `highlight`, draws the households holding that code so they
  stand out (pinned). The code comes from `expression()`, a database expression evaluated on `Household` rows
  (a column `F("poverty_status")`, or a `Subquery(...)` into your own table), so filtering, colouring and the
  server-side clusters stay single queries at any size.
- `maps.indicator` (`extensions.Indicator`): a choropleth of towns or villages; it reads a dashboard figure from the
  snapshot, so register the figure too (the system check fails on an indicator whose figure nobody registers).
- `maps.popup_section` (`extensions.PopupSection`): `fn(household, user)` -> `{"title": str, "rows": [(label,
  value), ...], "url": optional link}` or None; shown in the household's popup below the family summary.
"""

from __future__ import annotations

from fupin.core import extensions
from fupin.core.extensions import Choice, HouseholdAttribute, Indicator

__all__ = ["Choice", "HouseholdAttribute", "Indicator", "attribute", "attributes", "indicator", "indicators",
           "popup_sections"]


def attributes() -> list[HouseholdAttribute]:
    return extensions.registered("maps.household_attribute")


def attribute(key: str) -> HouseholdAttribute | None:
    return extensions.lookup("maps.household_attribute", key)


def indicators() -> list[Indicator]:
    return extensions.registered("maps.indicator")


def indicator(key: str) -> Indicator | None:
    return extensions.lookup("maps.indicator", key)


def popup_sections() -> list:
    return [s.fn for s in extensions.registered("maps.popup_section")]


# Compatibility for registrations written before the extension registry; tests/test_extensions.py lists callers.
def register_household_attribute(attribute: HouseholdAttribute) -> None:
    """Deprecated: `extensions.register(attribute)`."""
    extensions.register(attribute)


def register_indicator(indicator: Indicator) -> None:
    """Deprecated: `extensions.register(indicator)`."""
    extensions.register(indicator)


def register_popup_section(fn, order: int = 100):
    """Deprecated: `extensions.register(extensions.PopupSection(fn=fn, order=order))`."""
    extensions.register(extensions.PopupSection(fn=fn, order=order))
    return fn
