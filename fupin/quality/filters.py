"""The filters of the data-quality problem lists, declared once for the village page and the API
(fupin/core/filters.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.core.filters import Filter, FilterSet


def _rules(user) -> list[tuple[str, str]]:
    from fupin.quality.models import Rule

    return list(Rule.objects.values_list("key", "label"))


PROBLEM_FILTERS = FilterSet(
    Filter("rule", _("Rule"), choices=_rules, field="rule__key"),
    Filter("village", _("Village"), kind="area", field="area_code__startswith"),
    Filter("grid", _("Grid"), kind="area", field="area_code__startswith"),
    Filter("household", _("Household"), kind="int", min=1, max=10**18 - 1, field="household_id"),
)
