"""Reads of the dispatch app: scoped lists, a household's whole path, pinned-first ordering and the figures."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Avg, Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from fupin.core.fields import sealed_names
from fupin.dispatch.choices import (
    SOLVED_STATES,
    UNRESOLVED_STATES,
    WITH_DEPARTMENT,
    ReportStatus,
    State,
)
from fupin.dispatch.models import (
    HouseholdPin,
    JointPlan,
    MinqingReport,
    WorkOrder,
    WorkOrderEvent,
)
from fupin.dispatch.services import overdue_q
from fupin.registry.models import Household


def orders_for(user) -> QuerySet:
    """Work orders the user may see: their jurisdiction's, or their department's."""
    return (WorkOrder.objects.restrict(user)
            .select_related("department", "order_type", "household", "village", "sender", "handler")
            .defer("village__boundary"))


def order_list(user, *, sender=None, **filters) -> QuerySet:
    """A filtered list of the user's orders, pinned households first; rows carry `household_label`/`household_key`
    from annotations (no household row, no village boundary loaded). `filters`: values of the list's filters by name
    (state, order_type, department, urgency, overdue, q: fupin/dispatch/filters.py), each applied as declared there."""
    from fupin.dispatch.filters import ORDER_FILTERS

    qs = (WorkOrder.objects.restrict(user).select_related("department", "order_type", "village")
          .defer("description", "resolution", "village__boundary")
          .annotate(household_head=F("household__head_name"), household_code=F("household__poor_code"),
                    household_uuid=F("household__uuid")))
    if sender is not None:
        qs = qs.filter(sender=sender)
    qs = ORDER_FILTERS.narrow(qs, filters, user)
    return pinned_first(qs.order_by("-pushed_at", "-id"), household_field="household_id")


def todo_first(qs: QuerySet) -> QuerySet:
    """A department's to-do order: pinned households, then orders to accept, overdue first, then by deadline."""
    rank = Case(When(state=State.PUSHED, then=Value(0)), When(state=State.ACCEPTED, then=Value(1)),
                When(state=State.IN_PROGRESS, then=Value(2)), default=Value(3), output_field=IntegerField())
    return (qs.annotate(is_pinned=pinned_exists("household_id"), state_rank=rank)
            .order_by("-is_pinned", "state_rank", "due_at", "id"))


def order_timeline(order: WorkOrder) -> list[WorkOrderEvent]:
    return list(order.events.select_related("actor", "department").order_by("at", "id"))


def household_orders(user, household) -> list[WorkOrder]:
    """A household's work orders the user may see, newest first, each with its timeline (`order.timeline`)."""
    # every order is this household's: the one already read stands in for the joined copy (whose sealed phone would
    # otherwise be opened once per order)
    orders = list(orders_for(user).filter(household=household).defer(*sealed_names(Household, "household__"))
                  .order_by("-pushed_at", "-id"))
    events = defaultdict(list)
    for e in (WorkOrderEvent.objects.filter(order__in=orders).select_related("actor", "department")
              .order_by("at", "id")):
        events[e.order_id].append(e)
    for o in orders:
        o.timeline = events[o.pk]
        o.household = household
    return orders


def household_path(user, household) -> dict:
    """Everything the dispatch app knows of one household: pins, joint plans, work orders with their paths, 民情."""
    return {
        "pins": list(HouseholdPin.objects.restrict(user).filter(household=household)
                     .select_related("pinned_by", "unpinned_by")),
        "plans": list(JointPlan.objects.restrict(user).filter(household=household).prefetch_related(
            "items__department", "items__work_order")),
        "orders": household_orders(user, household),
        "reports": list(MinqingReport.objects.restrict(user).filter(household=household)),
    }


def active_pin(household) -> HouseholdPin | None:
    return HouseholdPin.objects.filter(household=household, unpinned_at__isnull=True).first()


def pinned_exists(outer: str = "pk"):
    """An Exists() expression: is the household (OuterRef(outer)) pinned now?"""
    return Exists(HouseholdPin.objects.filter(household=OuterRef(outer), unpinned_at__isnull=True))


def pinned_first(qs: QuerySet, *, household_field: str = "pk") -> QuerySet:
    """Households (or rows pointing to one through `household_field`) with pinned ones first; adds `is_pinned`.

    The existing ordering is kept after the pin: `pinned_first(Household.objects.order_by("head_name"))`.
    """
    ordering = list(qs.query.order_by) or list(qs.model._meta.ordering) or ["pk"]
    return qs.annotate(is_pinned=pinned_exists(household_field)).order_by("-is_pinned", *ordering)


def pinned_ids(household_ids) -> set[int]:
    return set(HouseholdPin.objects.filter(household_id__in=list(household_ids), unpinned_at__isnull=True)
               .values_list("household_id", flat=True))


def pins_for(user, *, active: bool | None = True) -> QuerySet:
    qs = (HouseholdPin.objects.restrict(user)
          .select_related("household", "household__village", "pinned_by", "unpinned_by")
          .defer("household__village__boundary"))
    if active is True:
        qs = qs.filter(unpinned_at__isnull=True)
    elif active is False:
        qs = qs.filter(unpinned_at__isnull=False)
    return qs


def plans_for(user) -> QuerySet:
    """Joint plans of the user's jurisdiction; a department user sees the plans that give their department an item."""
    if getattr(user, "department_id", None) and not user.is_superuser:
        ids = JointPlan.objects.filter(items__department_id=user.department_id).values("pk")
        qs = JointPlan.objects.filter(Q(pk__in=ids) | Q(pk__in=JointPlan.objects.restrict(user).values("pk")))
    else:
        qs = JointPlan.objects.restrict(user)
    return qs.select_related("household", "household__village", "created_by").defer("household__village__boundary")


def plan_progress(plan: JointPlan) -> dict:
    items = list(plan.items.all())
    done = sum(1 for i in items if i.work_order and i.work_order.state in (State.CONFIRMED, State.CLOSED))
    solved = sum(1 for i in items if i.work_order and i.work_order.state in SOLVED_STATES)
    return {"items": len(items), "done": done, "solved": solved,
            "percent": round(100 * done / len(items)) if items else 0}


def reports_for(user) -> QuerySet:
    return (MinqingReport.objects.restrict(user).select_related("village", "household", "recorded_by", "answered_by")
            .defer("village__boundary"))


# Figures ---------------------------------------------------------------------------------------------------------


def state_counts(qs: QuerySet) -> dict[str, int]:
    counts = {s: 0 for s in State.values}
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


def department_figures(qs: QuerySet, *, now: dt.datetime | None = None) -> list[dict]:
    """Per department: orders, solved, open, overdue now, ever overdue, returned, average hours to accept and days to
    resolve (from the push to that department), average satisfaction. Sorted by the number of orders."""
    now = now or timezone.now()
    rows = (qs.order_by().values("department__code", "department__short_name", "department__name")
            .annotate(total=Count("id"),
                      solved=Count("id", filter=Q(state__in=SOLVED_STATES)),
                      open=Count("id", filter=Q(state__in=WITH_DEPARTMENT)),
                      overdue=Count("id", filter=overdue_q(now)),
                      escalated=Count("id", filter=Q(was_overdue=True)),
                      returned=Count("id", filter=Q(state=State.RETURNED)),
                      accept_s=Avg("accept_seconds"), resolve_s=Avg("resolve_seconds"),
                      mean_satisfaction=Avg("satisfaction")))
    out = []
    for r in rows:
        out.append({
            "code": r["department__code"], "name": r["department__short_name"] or r["department__name"],
            "total": r["total"], "solved": r["solved"], "open": r["open"], "overdue": r["overdue"],
            "escalated": r["escalated"], "returned": r["returned"],
            "accept_hours": round(r["accept_s"] / 3600, 1) if r["accept_s"] is not None else None,
            "resolve_days": round(r["resolve_s"] / 86400, 1) if r["resolve_s"] is not None else None,
            "satisfaction": (round(r["mean_satisfaction"], 2) if r["mean_satisfaction"] is not None
                             else None),
        })
    out.sort(key=lambda r: (-r["total"], r["code"]))
    return out


def order_figures(qs: QuerySet, *, now: dt.datetime | None = None) -> dict:
    """Headline figures of a set of orders (the bulletin's "累计解决群众困难3000余件" is `solved`)."""
    now = now or timezone.now()
    agg = qs.order_by().aggregate(
        total=Count("id"), solved=Count("id", filter=Q(state__in=SOLVED_STATES)),
        open=Count("id", filter=Q(state__in=UNRESOLVED_STATES)), overdue=Count("id", filter=overdue_q(now)),
        escalated=Count("id", filter=Q(was_overdue=True)), accept_s=Avg("accept_seconds"),
        resolve_s=Avg("resolve_seconds"), mean_satisfaction=Avg("satisfaction"),
        rated=Count("id", filter=Q(satisfaction__isnull=False)),
        satisfied=Count("id", filter=Q(satisfaction__gte=4)))
    return {
        "total": agg["total"], "solved": agg["solved"], "open": agg["open"], "overdue": agg["overdue"],
        "escalated": agg["escalated"],
        "accept_hours": round(agg["accept_s"] / 3600, 1) if agg["accept_s"] is not None else None,
        "resolve_days": round(agg["resolve_s"] / 86400, 1) if agg["resolve_s"] is not None else None,
        "satisfaction": (round(agg["mean_satisfaction"], 2) if agg["mean_satisfaction"] is not None
                         else None),
        "satisfied_percent": round(100 * agg["satisfied"] / agg["rated"]) if agg["rated"] else None,
    }


def monthly_solved(qs: QuerySet, *, months: int = 12, now: dt.datetime | None = None) -> list[tuple[str, int, int]]:
    """(YYYY-MM, pushed that month, resolved that month) for the last `months` months."""
    now = timezone.localtime(now or timezone.now())
    keys = []
    y, m = now.year, now.month
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    keys.reverse()
    start = dt.datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=timezone.get_current_timezone())
    pushed, resolved = Counter(), Counter()
    for field, counter in (("pushed_at", pushed), ("resolved_at", resolved)):
        rows = (qs.filter(**{f"{field}__gte": start}).order_by().annotate(month=TruncMonth(field))
                .values("month").annotate(n=Count("id")).values_list("month", "n"))
        for month, n in rows:
            counter[f"{month:%Y-%m}"] += n
    return [(k, pushed[k], resolved[k]) for k in keys]


def minqing_analysis(qs: QuerySet, *, start: dt.date | None = None, end: dt.date | None = None,
                     area_names: dict[str, str] | None = None) -> dict:
    """Reports of a period sorted by category, by area (town, or village inside a town) and by month, with the share
    answered: the material of the regular public-opinion analysis meeting (民情分析会)."""
    from fupin.dispatch.choices import Category

    if start:
        qs = qs.filter(reported_at__gte=timezone.make_aware(dt.datetime.combine(start, dt.time.min)))
    if end:
        qs = qs.filter(reported_at__lte=timezone.make_aware(dt.datetime.combine(end, dt.time.max)))
    rows = list(qs.order_by().values_list("category", "area_code", "reported_at", "status", "urgency"))
    labels = dict(Category.choices)
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_area: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    codes = {r[1] for r in rows}
    # group by town when the reports span several towns, else by village
    level = 9 if len({c[:9] for c in codes}) > 1 else 12
    urgent = 0
    for category, area_code, reported_at, status, urgency in rows:
        answered = status == ReportStatus.ANSWERED
        for table, key in ((by_category, category), (by_area, area_code[:level]),
                           (by_month, f"{timezone.localtime(reported_at):%Y-%m}")):
            table[key][0] += 1
            table[key][1] += answered
        urgent += urgency != "normal"
    names = area_names or {}

    def table(d, label):
        return [{"key": k, "label": label(k), "count": v[0], "answered": v[1],
                 "percent": round(100 * v[1] / v[0]) if v[0] else 0}
                for k, v in sorted(d.items(), key=lambda kv: (-kv[1][0], kv[0]))]

    total = len(rows)
    answered_total = sum(1 for r in rows if r[3] == ReportStatus.ANSWERED)
    return {
        "total": total, "answered": answered_total, "urgent": urgent,
        "answered_percent": round(100 * answered_total / total) if total else 0,
        "by_category": table(by_category, lambda k: str(labels.get(k, k))),
        "by_area": table(by_area, lambda k: names.get(k.ljust(12, "0"), names.get(k, k))),
        "by_month": sorted(table(by_month, lambda k: k), key=lambda r: r["key"]),
        "area_level": "town" if level == 9 else "village",
    }
