"""The filters of the work-order and 民情 lists, declared once for the pages and the API (fupin/core/filters.py)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.core import search
from fupin.core.filters import Filter, FilterSet
from fupin.dispatch.choices import Category, Channel, ReportStatus, State, Urgency


def _order_types(user) -> list[tuple[str, str]]:
    from fupin.dispatch.models import WorkOrderType

    return list(WorkOrderType.objects.filter(is_active=True).values_list("code", "name"))


def _departments(user) -> list[tuple[str, str]]:
    from fupin.org.models import Department

    return list(Department.objects.filter(is_active=True).values_list("code", "name"))


def _state(qs, value, user):
    from fupin.dispatch.choices import OPEN_STATES, UNRESOLVED_STATES

    if value == "open":
        return qs.filter(state__in=OPEN_STATES)
    if value == "unresolved":
        return qs.filter(state__in=UNRESOLVED_STATES)
    return qs.filter(state=value)


def _overdue(qs, value, user):
    from django.utils import timezone

    from fupin.dispatch.selectors import overdue_q

    return qs.filter(overdue_q(timezone.now())) if value else qs


def _order_search(qs, value, user):
    from fupin.registry.selectors import household_ids_matching

    return qs.filter(search.any_q(search.code_q(value, "number"), search.text_q(value, "title"),
                                  Q(household_id__in=household_ids_matching(user, value, rows_scoped=True))))


# `selectors.order_list(user, **values)` applies them
ORDER_FILTERS = FilterSet(
    Filter("state", _("State"), choices=[("open", _("Open")), ("unresolved", _("Not yet resolved")), *State.choices],
           apply=_state),
    Filter("order_type", _("Type"), choices=_order_types, aliases=("type",), field="order_type__code"),
    Filter("department", _("Department"), choices=_departments, field="department__code"),
    Filter("urgency", _("Urgency"), choices=Urgency.choices, field="urgency"),
    Filter("overdue", _("Overdue only"), kind="flag", apply=_overdue),
    Filter("q", _("Search"), kind="text", apply=_order_search),
)
# the department inbox: its state list starts with what is still to do (the inbox applies the state itself)
INBOX_FILTERS = ORDER_FILTERS.replacing(
    Filter("state", _("State"), choices=[("todo", _("To do")), ("all", _("All")), *State.choices]))


def _report_status(qs, value, user):
    return qs.exclude(status=ReportStatus.ANSWERED) if value == "waiting" else qs.filter(status=value)


def _report_search(qs, value, user):
    from fupin.registry.selectors import household_ids_matching

    return qs.filter(search.any_q(search.text_q(value, "content"), search.code_q(value, "number"),
                                  Q(household_id__in=household_ids_matching(user, value, rows_scoped=True))))


REPORT_FILTERS = FilterSet(
    Filter("category", _("Category"), choices=Category.choices, field="category"),
    Filter("status", _("Status"), choices=[("waiting", _("Not answered yet")), *ReportStatus.choices],
           apply=_report_status),
    Filter("channel", _("Channel"), choices=Channel.choices, field="channel"),
    Filter("start", _("From"), kind="date", field="reported_at__date__gte"),
    Filter("end", _("To"), kind="date", field="reported_at__date__lte"),
    Filter("q", _("Search"), kind="text", apply=_report_search),
)
