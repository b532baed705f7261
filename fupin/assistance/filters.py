"""The filters of the tracking-light list, declared once for the page and the API (fupin/core/filters.py). The
division the list looks at is the page's area (fupin/geo/areas.py), as on every page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.assistance.choices import Colour
from fupin.core.filters import Filter, FilterSet


def _no_cadre(qs, value, user):
    return qs.filter(cadre__isnull=True) if value else qs


def _search(qs, value, user):
    from fupin.registry.selectors import household_ids_matching

    return qs.filter(household_id__in=household_ids_matching(user, value, rows_scoped=True))


# `selectors.light_list(user, prefix=..., **values)` applies them
LIGHT_FILTERS = FilterSet(
    Filter("colour", _("Colour"), choices=Colour.choices, field="colour"),
    Filter("cadre", _("Cadre"), kind="int", min=1, max=10**18 - 1, field="cadre_id"),
    Filter("unit", _("Unit"), kind="int", min=1, max=10**18 - 1, field="unit_id"),
    Filter("no_cadre", _("No cadre"), kind="flag", apply=_no_cadre),
    Filter("q", _("Search"), kind="text", apply=_search),
)
