"""The household list's filters, declared once for the page (and its exports) and the API (fupin/core/filters.py).

The list's own filters, then those other capabilities add at the point "registry.list_filter" (the tracking light,
the cadre): `household_filters()` builds the set when asked, after every app's hooks have registered."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.core import extensions
from fupin.core.filters import Filter, FilterSet

POOR = [("1", _("Registered poor only")), ("0", _("Not registered as poor")), ("all", _("All residents"))]


def _extension_filter(x: extensions.HouseholdFilter) -> Filter:
    return Filter(x.key, x.label, choices=x.choices, apply=lambda qs, value, user: x.apply(qs, value, user))


def household_filters() -> FilterSet:
    return FilterSet(
        Filter("grid", _("Grid"), kind="area"),
        Filter("attribute", _("Attribute"), kind="codes"),
        Filter("cause", _("Poverty cause"), kind="codes"),
        Filter("status", _("Status"), kind="codes"),
        Filter("poor", _("Households"), choices=POOR),
        Filter("all", _("All residents"), kind="flag"),
        Filter("q", _("Search"), kind="text"),
        Filter("dissolved", _("dissolved"), kind="flag"),
        Filter("has_grid", _("Grid"), kind="flag"),
        Filter("located", _("On the map"), kind="flag"),
        Filter("year_exited", _("Year of exit"), kind="int", min=1949, max=2100),
        *(_extension_filter(x) for x in extensions.registered("registry.list_filter")),
    )


def household_queryset(user, found, *, area_prefix: str | None):
    """The households of the list for the filters `found` (a `household_filters().read...` result)."""
    from fupin.registry import selectors

    v, given = found.values, found.given
    every_resident = v["all"] or v["poor"] == "all"
    one = {k: v[k][0] if len(v[k]) == 1 else "" for k in ("attribute", "cause", "status")}
    qs = selectors.household_list(
        user, area_prefix=area_prefix, grid=v["grid"] if len(v["grid"]) == 15 else "",
        registered_only=not every_resident and v["poor"] != "0", q=v["q"], include_dissolved=v["dissolved"], **one)
    if len(v["attribute"]) > 1:
        qs = qs.filter(attribute__in=v["attribute"])
    if len(v["status"]) > 1:
        qs = qs.filter(poverty_status__in=v["status"])
    if len(v["cause"]) > 1:
        qs = qs.filter(main_cause__in=v["cause"])
    if v["poor"] == "0" and not every_resident:
        qs = qs.filter(is_registered_poor=False)
    if "has_grid" in given:
        qs = qs.filter(grid__isnull=not v["has_grid"])
    if "located" in given:
        qs = qs.filter(lng__isnull=False, lat__isnull=False) if v["located"] else qs.filter(lng__isnull=True)
    if v["year_exited"] is not None:
        qs = qs.filter(year_exited=v["year_exited"])
    return found.apply(qs)  # the filters other capabilities add
