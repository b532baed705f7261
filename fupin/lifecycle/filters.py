"""The filters of the procedure list (the pipeline page and the API), declared once (fupin/core/filters.py)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.core import search
from fupin.core.filters import Filter, FilterSet
from fupin.lifecycle.choices import Kind, Status
from fupin.lifecycle.definitions import PROCEDURES


def _steps(user) -> list[tuple[str, str]]:
    return list({s.code: s.label for p in PROCEDURES.values() for s in p.steps}.items())


def _status(qs, value, user):
    return qs if value == "all" else qs.filter(status=value)


def _search(qs, value, user):
    from fupin.registry.selectors import household_ids_matching

    return qs.filter(search.any_q(Q(household_id__in=household_ids_matching(user, value, rows_scoped=True)),
                                  search.name_q(search.parse(value), "village__name")))


def _household(qs, value, user):
    """A household by its 户编号 or uuid."""
    import uuid

    try:
        return qs.filter(household__uuid=uuid.UUID(value))
    except ValueError:
        return qs.filter(household__poor_code=value)


# `selectors.procedure_list(user=..., **values)` applies them
PROCEDURE_FILTERS = FilterSet(
    Filter("kind", _("Procedure"), choices=Kind.choices, field="kind"),
    Filter("status", _("Status"), choices=[*Status.choices, ("all", _("All"))], apply=_status),
    Filter("step", _("Current step"), choices=_steps, field="current_step"),
    Filter("division", _("Division"), kind="area", field="area_code__startswith"),
    Filter("household", _("Household"), kind="text", apply=_household),
    Filter("q", _("Search"), kind="text", apply=_search),
)
