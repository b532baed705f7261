"""Work orders, pins and 民情 reports over the API (/api/v1/dispatch/), scoped like the pages: area users see their
jurisdiction, department handlers their department's orders. Writes go through the same services (Chinese errors
as HTTP 400 with {"detail": message})."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from fupin.core.apierrors import refusal_as
from fupin.core.apiparams import Limit, Offset
from fupin.dispatch import selectors, services
from fupin.dispatch.filters import ORDER_FILTERS, REPORT_FILTERS
from fupin.dispatch.models import HouseholdPin, MinqingReport, RoutingRule, WorkOrder, WorkOrderType

router = Router(tags=["dispatch"])


class EventOut(Schema):
    at: dt.datetime
    kind: str
    from_state: str
    to_state: str
    actor: str
    department: str | None
    note: str


class OrderOut(Schema):
    uuid: str
    number: str
    title: str
    order_type: str
    urgency: str
    state: str
    department: str
    household: str | None
    household_name: str | None
    area_code: str
    origin: str
    source_type: str
    source_id: str
    pushed_at: dt.datetime
    accept_due_at: dt.datetime
    due_at: dt.datetime
    accepted_at: dt.datetime | None
    resolved_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    closed_at: dt.datetime | None
    satisfaction: int | None
    escalation_level: int
    overdue: bool


class OrderDetailOut(OrderOut):
    description: str
    resolution: str
    return_reason: str
    routing_note: str
    events: list[EventOut]
    actions: list[str]


class OrderIn(Schema):
    household: str | None = None  # 户编号 or uuid
    village: str | None = None  # village code, for a need of the whole village
    title: str
    description: str = ""
    order_type: str | None = None
    department: str | None = None  # department code; empty: the routing rules choose
    urgency: str = "normal"


class ActIn(Schema):
    action: str
    note: str = ""
    department: str | None = None
    handler: str | None = None  # username of another handler of the department
    satisfaction: int | None = None


class PinOut(Schema):
    uuid: str
    household: str
    household_name: str
    reason: str
    pinned_at: dt.datetime
    unpinned_at: dt.datetime | None
    unpin_reason: str


class PinIn(Schema):
    household: str
    reason: str


class UnpinIn(Schema):
    reason: str


class ReportOut(Schema):
    uuid: str
    number: str
    channel: str
    category: str
    urgency: str
    status: str
    area_code: str
    household: str | None
    content: str
    reported_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None


class ReportIn(Schema):
    channel: str
    category: str
    content: str
    household: str | None = None
    village: str | None = None
    urgency: str = "normal"
    place: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""


class AnswerIn(Schema):
    answer: str
    way: str


class RoutingRuleOut(Schema):
    id: int
    priority: int
    name: str
    order_type: str | None
    cause: str
    measure_kind: str
    category: str
    area_prefix: str
    department: str
    is_active: bool


class TypeOut(Schema):
    code: str
    name: str
    accept_days: int
    resolve_days: int
    escalate_days: int
    is_active: bool


class DispatchFiguresOut(Schema):
    total: int
    solved: int
    open: int
    overdue: int
    escalated: int
    accept_hours: float | None
    resolve_days: float | None
    satisfaction: float | None
    satisfied_percent: int | None
    by_state: dict[str, int]
    by_department: list[dict]


def _key(hh) -> str | None:
    return (hh.poor_code or str(hh.uuid)) if hh is not None else None


def _order_out(o: WorkOrder, now: dt.datetime) -> dict:
    return {
        "uuid": str(o.uuid), "number": o.number or "", "title": o.title, "order_type": o.order_type.code,
        "urgency": o.urgency, "state": o.state, "department": o.department.code,
        "household": o.household_key or None, "household_name": o.household_label or None, "area_code": o.area_code,
        "origin": o.origin, "source_type": o.source_type, "source_id": o.source_id, "pushed_at": o.pushed_at,
        "accept_due_at": o.accept_due_at, "due_at": o.due_at, "accepted_at": o.accepted_at,
        "resolved_at": o.resolved_at, "confirmed_at": o.confirmed_at, "closed_at": o.closed_at,
        "satisfaction": o.satisfaction, "escalation_level": o.escalation_level, "overdue": o.overdue_at(now),
    }


def _detail(request, o: WorkOrder) -> dict:
    from django.utils import timezone

    events = [{"at": e.at, "kind": e.kind, "from_state": e.from_state, "to_state": e.to_state,
               "actor": e.actor_name, "department": e.department.code if e.department_id else None, "note": e.note}
              for e in selectors.order_timeline(o)]
    return {**_order_out(o, timezone.now()), "description": o.description, "resolution": o.resolution,
            "return_reason": o.return_reason, "routing_note": o.routing_note, "events": events,
            "actions": services.allowed_actions(request.user, o)}


def _household(request, key: str):
    from django.http import Http404

    from fupin.dispatch.views import household_for_key

    try:
        return household_for_key(request.user, key)
    except Http404 as exc:
        raise HttpError(404, _("Household not found")) from exc


def _place(request, payload):
    """Where an order or a report belongs: its household, else its village (404 outside the jurisdiction)."""
    household = _household(request, payload.household) if payload.household else None
    village = None
    if household is None and payload.village:
        from fupin.geo.models import Division

        village = Division.objects.restrict(request.user).filter(code=payload.village).first()
        if village is None:
            raise HttpError(404, _("Village not found"))
    return household, village


def _department(code: str | None):
    if not code:
        return None
    from fupin.org.models import Department

    found = Department.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise HttpError(400, _("No department with the code “%(code)s”") % {"code": code})
    return found


OrderQuery = ORDER_FILTERS.schema("OrderQuery", limit=(Limit, 200), offset=(Offset, 0))


@router.get("/orders", response=list[OrderOut])
def list_orders(request, filters: Query[OrderQuery]):
    """Orders filtered as the list pages filter them (fupin/dispatch/filters.py); a refused value answers 422."""
    from django.utils import timezone

    now = timezone.now()
    found = ORDER_FILTERS.read_api(filters, request.user)
    qs = selectors.order_list(request.user, **found.values)
    return [_order_out(o, now) for o in qs[filters.offset:filters.offset + filters.limit]]


@router.get("/orders/{uuid}", response=OrderDetailOut)
def get_order(request, uuid: uuidlib.UUID):
    return _detail(request, get_object_or_404(selectors.orders_for(request.user), uuid=uuid))


@router.post("/orders", response={201: OrderDetailOut})
def create_order(request, payload: OrderIn):
    household, village = _place(request, payload)
    with refusal_as(400):
        order = services.work_order_create(
            actor=request.user, household=household, village=village, title=payload.title,
            description=payload.description, order_type=payload.order_type, urgency=payload.urgency,
            department=_department(payload.department))
    return Status(201, _detail(request, order))


@router.post("/orders/{uuid}/act", response=OrderDetailOut)
def act_on_order(request, uuid: uuidlib.UUID, payload: ActIn):
    order = get_object_or_404(selectors.orders_for(request.user), uuid=uuid)
    handler = None
    if payload.handler:
        handler = next((u for u in services.department_handlers(order.department)
                        if u.username == payload.handler), None)
        if handler is None:
            raise HttpError(400, _("The new handler must be an active member of %(department)s") % {"department": order.department})
    with refusal_as(400):
        services.work_order_act(actor=request.user, order=order, action=payload.action, note=payload.note,
                                department=_department(payload.department), handler=handler,
                                satisfaction=payload.satisfaction)
    visible = selectors.orders_for(request.user).filter(pk=order.pk).first()
    if visible is None:  # returned or rerouted away from the caller's department
        order.refresh_from_db()
        return {**_detail(request, order), "events": [], "actions": []}
    return _detail(request, visible)


@router.get("/pins", response=list[PinOut])
def list_pins(request, active: bool = True):
    return [{"uuid": str(p.uuid), "household": _key(p.household), "household_name": str(p.household),
             "reason": p.reason, "pinned_at": p.pinned_at, "unpinned_at": p.unpinned_at,
             "unpin_reason": p.unpin_reason}
            for p in selectors.pins_for(request.user, active=active)[:1000]]


@router.post("/pins", response={201: PinOut})
def create_pin(request, payload: PinIn):
    household = _household(request, payload.household)
    with refusal_as(400):
        p = services.household_pin(actor=request.user, household=household, reason=payload.reason)
    return Status(201, {"uuid": str(p.uuid), "household": _key(household), "household_name": str(household),
                        "reason": p.reason, "pinned_at": p.pinned_at, "unpinned_at": None, "unpin_reason": ""})


@router.post("/pins/{uuid}/unpin", response=PinOut)
def unpin(request, uuid: uuidlib.UUID, payload: UnpinIn):
    pin = get_object_or_404(HouseholdPin.objects.restrict(request.user).select_related("household"), uuid=uuid)
    with refusal_as(400):
        p = services.household_unpin(actor=request.user, pin=pin, reason=payload.reason)
    return {"uuid": str(p.uuid), "household": _key(pin.household), "household_name": str(pin.household),
            "reason": p.reason, "pinned_at": p.pinned_at, "unpinned_at": p.unpinned_at,
            "unpin_reason": p.unpin_reason}


def _report_out(r: MinqingReport) -> dict:
    return {"uuid": str(r.uuid), "number": r.number or "", "channel": r.channel, "category": r.category,
            "urgency": r.urgency, "status": r.status, "area_code": r.area_code, "household": _key(r.household),
            "content": r.content, "reported_at": r.reported_at, "answer": r.answer, "answered_at": r.answered_at}


ReportQuery = REPORT_FILTERS.schema("ReportQuery", limit=(Limit, 200), offset=(Offset, 0))


@router.get("/minqing", response=list[ReportOut])
def list_reports(request, filters: Query[ReportQuery]):
    """民情 reports filtered as the 民情 page filters them (fupin/dispatch/filters.py); a refused value answers 422."""
    qs = REPORT_FILTERS.read_api(filters, request.user).apply(selectors.reports_for(request.user))
    return [_report_out(r) for r in qs[filters.offset:filters.offset + filters.limit]]


@router.get("/minqing/{uuid}", response=ReportOut)
def get_report(request, uuid: uuidlib.UUID):
    return _report_out(get_object_or_404(selectors.reports_for(request.user), uuid=uuid))


@router.post("/minqing", response={201: ReportOut})
def create_report(request, payload: ReportIn):
    household, village = _place(request, payload)
    with refusal_as(400):
        r = services.minqing_report_create(
            actor=request.user, channel=payload.channel, category=payload.category, content=payload.content,
            household=household, village=village, urgency=payload.urgency, place=payload.place,
            reporter_name=payload.reporter_name, reporter_phone=payload.reporter_phone)
    return Status(201, _report_out(r))


@router.post("/minqing/{uuid}/answer", response=ReportOut)
def answer_report(request, uuid: uuidlib.UUID, payload: AnswerIn):
    report = get_object_or_404(selectors.reports_for(request.user), uuid=uuid)
    with refusal_as(400):
        r = services.minqing_answer(actor=request.user, report=report, answer=payload.answer, way=payload.way)
    return _report_out(r)


@router.get("/rules", response=list[RoutingRuleOut])
def list_rules(request):
    return [{"id": r.pk, "priority": r.priority, "name": r.name,
             "order_type": r.order_type.code if r.order_type_id else None, "cause": r.cause,
             "measure_kind": r.measure_kind, "category": r.category, "area_prefix": r.area_prefix,
             "department": r.department.code, "is_active": r.is_active}
            for r in RoutingRule.objects.select_related("order_type", "department")]


@router.get("/types", response=list[TypeOut])
def list_types(request):
    return [{"code": t.code, "name": t.name, "accept_days": t.accept_days, "resolve_days": t.resolve_days,
             "escalate_days": t.escalate_days, "is_active": t.is_active} for t in WorkOrderType.objects.all()]


@router.get("/figures", response=DispatchFiguresOut)
def figures(request):
    qs = WorkOrder.objects.restrict(request.user)
    return {**selectors.order_figures(qs), "by_state": selectors.state_counts(qs),
            "by_department": selectors.department_figures(qs)}
