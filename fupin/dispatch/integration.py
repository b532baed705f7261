"""What the dispatch app adds to other capabilities through their extension points (registered by
`fupin.dispatch.hooks`):

- the map: a household attribute "pinned" that makes pinned households stand out (highlight
  "1"), and a popup section with the pin, the open work orders and the joint plan;
- the dashboards: work orders by state, problems solved, overdue and escalated orders,
  average hours to accept / days to resolve, satisfaction, solved by department, pinned households, open joint
  plans, 民情 by category and the share answered;
- the household card (明白卡): the joint plan's items;
- the registry's household list and page: pinned households first
  (`fupin.dispatch.selectors.pinned_first`) and a panel with the pin, the joint plans and every order's path.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PIN_COLOUR = "#c0392b"


# Map ---------------------------------------------------------------------------------------------------------------


def _pinned_expression():
    from django.db.models import Case, CharField, Value, When

    from fupin.dispatch.selectors import pinned_exists

    return Case(When(pinned_exists("pk"), then=Value("1")), default=Value("0"), output_field=CharField())


def _pinned_filter(qs, codes: list[str]):
    from fupin.dispatch.selectors import pinned_exists

    if "1" in codes and "0" in codes:
        return qs
    if "1" in codes:
        return qs.filter(pinned_exists("pk"))
    if "0" in codes:
        return qs.exclude(pinned_exists("pk"))
    return qs.none()


def map_popup(household, user) -> dict | None:
    """The household's pin, open work orders and joint plan, for the map popup (None when there is nothing)."""
    from fupin.dispatch.choices import OPEN_STATES
    from fupin.dispatch.models import HouseholdPin, JointPlan
    from fupin.dispatch.selectors import orders_for

    pin = HouseholdPin.objects.restrict(user).filter(household=household, unpinned_at__isnull=True).first()
    open_orders = list(orders_for(user).filter(household=household, state__in=OPEN_STATES)
                       .order_by("due_at")[:5])
    plan = JointPlan.objects.restrict(user).filter(household=household, status="open").first()
    if pin is None and not open_orders and plan is None:
        return None
    rows = []
    if pin is not None:
        rows.append((_("Pinned"), pin.reason))
    for o in open_orders:
        rows.append((str(o.department), f"{o.title}({o.get_state_display()})"))
    if plan is not None:
        rows.append((_("Joint plan"), plan.title))
    key = household.poor_code or str(household.uuid)
    from urllib.parse import quote

    return {"title": _("Work orders and pinning"), "rows": rows, "url": f"/dispatch/households/{quote(key, safe='')}/"}


def map_extensions() -> list:
    from fupin.core.extensions import HouseholdAttribute, PopupSection

    return [
        HouseholdAttribute(
            key="pinned", label=gettext_lazy("Pinned (special difficulty)"), order=45, highlight="1",
            choices=lambda: [("1", str(_("Pinned")), PIN_COLOUR), ("0", str(_("Not pinned")), "#9aa5b1")],
            expression=_pinned_expression, filter=_pinned_filter),
        PopupSection(fn=map_popup, order=60),
    ]


# Dashboards --------------------------------------------------------------------------------------------------------


def dashboard_rows(ctx):
    """Leaf rows (by the order's / household's area code) of the dispatch figures."""
    from django.db.models import Count, Q, Sum
    from django.utils import timezone

    from fupin.core.extensions import Row
    from fupin.dispatch.choices import SOLVED_STATES, ReportStatus
    from fupin.dispatch.models import HouseholdPin, JointPlan, MinqingReport, WorkOrder
    from fupin.dispatch.services import overdue_q

    now = timezone.now()
    for r in WorkOrder.objects.order_by().values("area_code", "state").annotate(n=Count("id")):
        yield Row(r["area_code"], "dispatch.orders", r["n"], dim=r["state"])
    per_area = (WorkOrder.objects.order_by().values("area_code").annotate(
        solved=Count("id", filter=Q(state__in=SOLVED_STATES)), overdue=Count("id", filter=overdue_q(now)),
        escalated=Count("id", filter=Q(was_overdue=True)), accept_sum=Sum("accept_seconds"),
        accepted=Count("accept_seconds"), resolve_sum=Sum("resolve_seconds"), resolved=Count("resolve_seconds"),
        sat_sum=Sum("satisfaction"), rated=Count("satisfaction")))
    for r in per_area:
        code = r["area_code"]
        for key, field in (("solved", "solved"), ("overdue", "overdue"), ("escalated", "escalated"),
                           ("accept_seconds", "accept_sum"), ("accepted", "accepted"),
                           ("resolve_seconds", "resolve_sum"), ("resolved", "resolved"),
                           ("satisfaction_sum", "sat_sum"), ("rated", "rated")):
            yield Row(code, f"dispatch.{key}", r[field] or 0)
    for r in (WorkOrder.objects.filter(state__in=SOLVED_STATES).order_by().values("area_code", "department__code")
              .annotate(n=Count("id"))):
        yield Row(r["area_code"], "dispatch.solved_by_department", r["n"], dim=r["department__code"])
    for r in (WorkOrder.objects.filter(overdue_q(now)).order_by().values("area_code", "department__code")
              .annotate(n=Count("id"))):
        yield Row(r["area_code"], "dispatch.overdue_by_department", r["n"], dim=r["department__code"])
    for r in HouseholdPin.objects.filter(unpinned_at__isnull=True).order_by().values("area_code").annotate(n=Count("id")):
        yield Row(r["area_code"], "dispatch.pinned", r["n"])
    for r in JointPlan.objects.filter(status="open").order_by().values("area_code").annotate(n=Count("id")):
        yield Row(r["area_code"], "dispatch.joint_plans_open", r["n"])
    for r in (MinqingReport.objects.order_by().values("area_code", "category")
              .annotate(n=Count("id"), answered=Count("id", filter=Q(status=ReportStatus.ANSWERED)))):
        yield Row(r["area_code"], "dispatch.minqing", r["n"], dim=r["category"])
        yield Row(r["area_code"], "dispatch.minqing_answered", r["answered"])


def _department_dims():
    from fupin.org.models import Department

    palette = ["#2f4b7c", "#e67e22", "#16a085", "#8e44ad", "#c0392b", "#2c82c9", "#d35400", "#7f8c8d", "#27ae60",
               "#f1c40f", "#34495e", "#e84393", "#00a8a8"]
    return [(d.code, d.short_name or d.name, palette[i % len(palette)])
            for i, d in enumerate(Department.objects.order_by("order", "code"))]


def _state_dims():
    from fupin.dispatch.choices import State

    colours = {"pushed": "#2c82c9", "accepted": "#5b8fd6", "in_progress": "#e0a800", "resolved": "#27ae60",
               "returned": "#c0392b", "confirmed": "#1a9850", "closed": "#7f8c8d", "cancelled": "#bdc3c7"}
    return [(code, str(label), colours.get(code, "#999")) for code, label in State.choices]


def _category_dims():
    from fupin.dispatch.choices import Category

    return [(code, str(label), "") for code, label in Category.choices]


def _orders_url(area: str, **params) -> str:
    from urllib.parse import urlencode

    query = [("division", area)] if area else []
    query += [(k, str(v)) for k, v in params.items() if v not in (None, "")]
    return "/dispatch/orders/" + (f"?{urlencode(query)}" if query else "")


def _ratio(num: str, den: str, scale: float = 1.0):
    def fn(get):
        n, d = get(num), get(den)
        if not d:
            return None
        return round((n or 0) / d / scale, 2)

    return fn


def dashboard_extensions() -> list:
    from fupin.core.extensions import DerivedFigure, Figure, FigureProvider

    def area_q(area: str) -> str:
        return f"?division={area}" if area else ""

    provider = FigureProvider("dispatch", compute=dashboard_rows, watches=("dispatch.",), order=50, figures=[
        Figure("dispatch.solved", gettext_lazy("Problems solved"), section="dispatch", chart="kpi",
               unit=gettext_lazy("orders"), order=1, column=True, higher_is_worse=False,
               link=lambda area, dim: _orders_url(area, state="resolved")),
        Figure("dispatch.overdue", gettext_lazy("Overdue work orders"), section="dispatch", chart="kpi",
               unit=gettext_lazy("orders"), order=2, column=True, link=lambda area, dim: _orders_url(area, overdue=1)),
        Figure("dispatch.pinned", gettext_lazy("Pinned households"), section="dispatch", chart="kpi",
               unit=gettext_lazy("households"), order=3, link=lambda area, dim: "/dispatch/pins/" + area_q(area)),
        Figure("dispatch.joint_plans_open", gettext_lazy("Joint plans in progress"), section="dispatch",
               chart="kpi", order=4, link=lambda area, dim: "/dispatch/plans/" + area_q(area)),
        Figure("dispatch.orders", gettext_lazy("Work orders by state"), section="dispatch", chart="pie", order=10,
               dims=_state_dims, link=lambda area, dim: _orders_url(area, state=dim)),
        Figure("dispatch.solved_by_department", gettext_lazy("Problems solved by department"), section="dispatch",
               chart="hbar", order=11, dims=_department_dims, higher_is_worse=False,
               link=lambda area, dim: _orders_url(area, department=dim, state="resolved")),
        Figure("dispatch.overdue_by_department", gettext_lazy("Overdue orders by department"), section="dispatch",
               chart="hbar", order=12, dims=_department_dims,
               link=lambda area, dim: _orders_url(area, department=dim, overdue=1)),
        Figure("dispatch.minqing", gettext_lazy("Public-opinion reports by category"), section="dispatch",
               chart="hbar", order=20, dims=_category_dims,
               link=lambda area, dim: f"/dispatch/minqing/{area_q(area)}{'&' if area else '?'}category={dim or ''}"),
        Figure("dispatch.escalated", gettext_lazy("Orders ever overdue"), section="dispatch", chart="none"),
        *[Figure(f"dispatch.{k}", k, section="dispatch", chart="none")
          for k in ("accept_seconds", "accepted", "resolve_seconds", "resolved", "satisfaction_sum", "rated",
                    "minqing_answered")],
    ])
    derived = [DerivedFigure(Figure("dispatch.accept_hours", gettext_lazy("Average hours to accept"),
                                    section="dispatch", chart="kpi", decimals=1, order=5),
                             _ratio("dispatch.accept_seconds", "dispatch.accepted", 3600)),
               DerivedFigure(Figure("dispatch.resolve_days", gettext_lazy("Average days to resolve"),
                                    section="dispatch", chart="kpi", decimals=1, order=6),
                             _ratio("dispatch.resolve_seconds", "dispatch.resolved", 86400)),
               DerivedFigure(Figure("dispatch.satisfaction", gettext_lazy("Average satisfaction (1-5)"),
                                    section="dispatch", chart="kpi", decimals=2, order=7, higher_is_worse=False),
                             _ratio("dispatch.satisfaction_sum", "dispatch.rated"))]

    def answered_share(get):
        total = get("dispatch.minqing")
        return round(100 * (get("dispatch.minqing_answered") or 0) / total, 1) if total else None

    derived.append(DerivedFigure(Figure("dispatch.minqing_answered_share", gettext_lazy("Public opinion answered"),
                                        section="dispatch", chart="kpi", unit="%", decimals=1, order=21,
                                        higher_is_worse=False), answered_share))
    return [provider, *derived]


# Household card (明白卡) -------------------------------------------------------------------------------------------


def card_section(household) -> dict | None:
    """The open (else latest) joint plan's items on the household card; None without a plan."""
    from fupin.dispatch.models import JointPlan

    plan = (JointPlan.objects.filter(household=household).exclude(status="cancelled")
            .order_by("status", "-created_at").first())
    if plan is None:
        return None
    rows = [(item.project, f"{item.department} · {item.responsible_person or '—'} · 时限{item.deadline:%Y-%m-%d}")
            for item in plan.items.select_related("department")]
    return {"key": "joint_plan", "title": "协同帮扶方案(置顶户)", "rows": rows}


# Registry ----------------------------------------------------------------------------------------------------------


def registry_panel_context(request, household) -> dict | None:
    """The registry household page's panel: the pin, joint plans and every work order with its whole path."""
    from urllib.parse import quote

    from fupin.dispatch.choices import STATE_TONES
    from fupin.dispatch.models import JointPlan
    from fupin.dispatch.selectors import active_pin, household_orders

    user = request.user
    orders = household_orders(user, household)[:10]
    pin = active_pin(household)
    plans = list(JointPlan.objects.restrict(user).filter(household=household)[:3])
    return {"panel_title": _("Work orders and pinning"), "orders": orders, "pin": pin, "plans": plans,
            "state_tones": STATE_TONES, "key": quote(household.poor_code or str(household.uuid), safe=""),
            "may_edit": user.can("edit") and not user.department_id}
