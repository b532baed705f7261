"""Work orders: who is who on an order, the state machine (TRANSITIONS), creation, needs from other apps,
transitions and escalation. Each change is one keyword-only service taking `actor`, atomic, audited: every
transition checks the state it starts from and who may take it, refuses in Chinese otherwise, writes the order,
one timeline event and one audit event, and posts or closes the inbox items that follow from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit, scoping
from fupin.core import extensions as ext
from fupin.core.errors import ServiceError
from fupin.dispatch import defaults, routing
from fupin.dispatch.choices import (
    STATE_ZH,
    WITH_DEPARTMENT,
    EventKind,
    Origin,
    State,
    Urgency,
)
from fupin.dispatch.models import (
    JointPlanItem,
    MinqingReport,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderEvent,
    WorkOrderType,
)
from fupin.dispatch.services.base import _actor_name, _actor_user, _now, _place, _text
from fupin.dispatch.services.setup import engine_rule, order_type_for, route_need

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


# Who is who on a work order ------------------------------------------------------------------------------------


def is_department_handler(user, order: WorkOrder) -> bool:
    """A user of the department that holds the order (only they accept, start, resolve and return it)."""
    return bool(getattr(user, "department_id", None)) and user.department_id == order.department_id


def is_department_head(user, order: WorkOrder) -> bool:
    return bool(getattr(user, "pk", None)) and order.department.head_id == user.pk


def is_sender_side(user, order: WorkOrder) -> bool:
    """The sender, or an area worker whose jurisdiction covers the household (confirming on the household's behalf).

    Department staff are never the sender side of an order, even when they sent it on from their own work.
    """
    if not getattr(user, "pk", None) or getattr(user, "department_id", None):
        return False
    if user.pk == order.sender_id:
        return True
    return scoping.covers(user, order.area_code) and user.can("edit")


def is_supervisor(user, order: WorkOrder) -> bool:
    """The city poverty office (or a superuser): may send an order on to another department at any stage."""
    if getattr(user, "is_superuser", False):
        return True
    return (not getattr(user, "department_id", None) and user.can("approve_county")
            and scoping.covers(user, order.area_code))


@dataclass(frozen=True)
class Transition:
    """One arrow of the state machine: from which states, to which state, and who may take it."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: stays in place (reassign)
    who: str  # "department" | "sender" | "sender_or_supervisor" | "closer" | "handler_or_head"
    needs_note: str = ""  # the Chinese message when the required reason or result is missing


TRANSITIONS: dict[str, Transition] = {t.name: t for t in [
    Transition("accept", "受理", (State.PUSHED,), State.ACCEPTED, "department"),
    Transition("start", "开始办理", (State.ACCEPTED,), State.IN_PROGRESS, "department"),
    Transition("resolve", "办结", (State.ACCEPTED, State.IN_PROGRESS), State.RESOLVED, "department",
               needs_note="办结须填写办理结果"),
    Transition("return", "退回", (State.PUSHED, State.ACCEPTED, State.IN_PROGRESS), State.RETURNED, "department",
               needs_note="退回须填写理由"),
    Transition("reroute", "改派", (State.RETURNED, State.PUSHED, State.ACCEPTED, State.IN_PROGRESS), State.PUSHED,
               "sender_or_supervisor"),
    Transition("reassign", "转交经办人", (State.ACCEPTED, State.IN_PROGRESS), None, "handler_or_head"),
    Transition("reopen", "未解决,退回重办", (State.RESOLVED,), State.IN_PROGRESS, "sender",
               needs_note="请说明问题为何仍未解决"),
    Transition("confirm", "确认", (State.RESOLVED,), State.CONFIRMED, "sender"),
    Transition("close", "关闭", (State.CONFIRMED,), State.CLOSED, "closer"),
    Transition("cancel", "撤销", (State.PUSHED, State.RETURNED), State.CANCELLED, "sender", needs_note="撤销须填写理由"),
]}


def _may(user, order: WorkOrder, who: str) -> bool:
    if who == "department":
        return is_department_handler(user, order)
    if who == "sender":
        return is_sender_side(user, order)
    if who == "sender_or_supervisor":
        return is_sender_side(user, order) or is_supervisor(user, order)
    if who == "closer":
        return is_sender_side(user, order) or is_supervisor(user, order) or is_department_handler(user, order)
    if who == "handler_or_head":
        return is_department_handler(user, order) and (
            user.pk == order.handler_id or is_department_head(user, order))
    return False


def _who_text(t: Transition, order: WorkOrder) -> str:
    return {
        "department": f"只有承办部门({order.department})的经办人可以{t.label}该工单",
        "sender": f"只有发起方(发起人或代表农户的网格员、村工作队)可以{t.label}该工单",
        "sender_or_supervisor": f"只有发起方或市扶贫办可以{t.label}该工单",
        "closer": "只有发起方、承办部门或市扶贫办可以关闭该工单",
        "handler_or_head": "只有当前经办人或部门负责人可以转交经办人",
    }[t.who]


def allowed_actions(user, order: WorkOrder) -> list[str]:
    """The transitions this user may take on this order now (the order page shows these buttons)."""
    out = []
    for t in TRANSITIONS.values():
        if order.state not in t.sources or not _may(user, order, t.who):
            continue
        if t.name == "reroute" and order.state != State.RETURNED and not is_supervisor(user, order):
            continue
        out.append(t.name)
    return out


def check_transition(user, order: WorkOrder, name: str) -> Transition:
    """The transition if `user` may take it on `order` now; else ServiceError with the reason in Chinese."""
    t = TRANSITIONS.get(name)
    if t is None:
        raise ServiceError(_("Unknown work-order action: %(name)s") % {"name": name})
    state_text = STATE_ZH.get(order.state, order.state)
    if not _may(user, order, t.who):
        raise ServiceError(_who_text(t, order))
    if order.state not in t.sources:
        if is_department_handler(user, order) and order.state == State.PUSHED and name in ("resolve", "close", "start"):
            raise ServiceError(_("Your department has not accepted this work order: you cannot %(t_label)s it") % {"t_label": t.label})
        if name == "close" and order.state == State.RESOLVED:
            raise ServiceError(_("A work order is closed only after its originator confirms it"))
        raise ServiceError(_("The work order is “%(state_text)s”: you cannot %(t_label)s it") % {"state_text": state_text, "t_label": t.label})
    if name == "reroute" and order.state != State.RETURNED and not is_supervisor(user, order):
        raise ServiceError(_("The department has not returned this work order; an order in progress can be reassigned only by the city poverty office"))
    return t


# Inbox -----------------------------------------------------------------------------------------------------------


def _inbox_key(order: WorkOrder, what: str) -> str:
    return f"dispatch:{order.uuid}:{what}"


def _post(user, order: WorkOrder, *, title: str, what: str, kind: str = "work_order", body: str = "",
          due: dt.date | None = None) -> None:
    if user is None or not getattr(user, "is_active", True):
        return
    from fupin.inbox.services import inbox_post

    inbox_post(user=user, title=title, kind=kind, body=body, url=order.get_absolute_url(), obj=order,
               area_code=order.area_code, due_date=due, dedupe_key=_inbox_key(order, what))


def _close(order: WorkOrder, *whats: str) -> None:
    from fupin.inbox.services import inbox_close_by_key

    for what in whats:
        inbox_close_by_key(dedupe_key=_inbox_key(order, what))


def department_handlers(department) -> list:
    from fupin.accounts.models import User

    return list(User.objects.filter(department=department, is_active=True).order_by("id"))


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _notify_department(order: WorkOrder) -> None:
    for user in department_handlers(order.department):
        _post(user, order, what="dept", title=f"新工单待受理:{order.title}", due=_local_date(order.accept_due_at),
              body=f"{order.place or order.village}{'·' + str(order.household) if order.household_id else ''}")


# Work orders: creation -------------------------------------------------------------------------------------------


def _check_area(actor, area_code: str) -> None:
    user = _actor_user(actor)
    if user is None:
        return  # the system (demo, nightly) acts everywhere
    if getattr(user, "department_id", None) and not user.is_superuser:
        raise ServiceError(_("A department handler cannot open work orders; to ask another department's help, return the order with the reason"))
    scoping.require(user, area_code, "edit", message=_("The household is outside your jurisdiction: you cannot open a work order for it"),
                    role_message=_("Your role cannot open work orders"))


def deadlines_for(order_type: WorkOrderType, pushed_at: dt.datetime, due_date: dt.date | None):
    due = pushed_at + dt.timedelta(days=order_type.resolve_days)
    if due_date is not None:
        end_of_day = dt.datetime.combine(due_date, dt.time(23, 59, 59))
        due = timezone.make_aware(end_of_day) if timezone.is_naive(end_of_day) else end_of_day
    accept = min(pushed_at + dt.timedelta(days=order_type.accept_days), due)
    return accept, due


def _event(order: WorkOrder, *, actor, kind: str, at: dt.datetime, from_state: str = "", to_state: str = "",
           note: str = "", data: dict | None = None, department=None) -> WorkOrderEvent:
    return WorkOrderEvent.objects.create(
        order=order, at=at, kind=kind, from_state=from_state, to_state=to_state, actor=_actor_user(actor),
        actor_name=_actor_name(actor), department=department or order.department, note=note, data=data or {})


@transaction.atomic
def work_order_create(*, actor, title: str, household=None, village=None, grid=None, order_type=None,
                      department=None, description: str = "", urgency: str = Urgency.NORMAL, place: str = "",
                      origin: str = Origin.MANUAL, source=None, cause: str | None = None, measure_kind: str = "",
                      category: str = "", due_date: dt.date | None = None, now: dt.datetime | None = None
                      ) -> WorkOrder:
    """Create a work order and push it to a department: the one given, else the one the routing rules choose.

    The order lands in the department handlers' inboxes. `source` is the need it came from (a plan measure, a
    visit record, a 民情 report, a comparison finding): linked by type and id, whatever app it belongs to.
    """
    now = _now(now)
    title = _text(title)
    if not title:
        raise ServiceError(_("Write the work order's title"))
    if urgency not in Urgency.values:
        raise ServiceError(_("Invalid urgency"))
    village, area_code = _place(household=household, grid=grid, village=village, what="工单")
    if household is not None and cause is None:
        cause = household.main_cause
    _check_area(actor, area_code)
    if order_type is None:
        order_type = (defaults.MEASURE_KIND_TYPE.get(measure_kind) or defaults.CATEGORY_TYPE.get(category)
                      or defaults.CAUSE_TYPE.get(cause or "") or "other")
    order_type = order_type_for(order_type)
    facts = routing.Facts(order_type=order_type.code, cause=cause or "", measure_kind=measure_kind,
                          category=category, area_code=area_code)
    rule = None
    if department is None:
        department, rule = route_need(facts)
        note = routing.explain(engine_rule(rule))
    else:
        note = routing.explain(None)
    if not department.is_active:
        raise ServiceError(_("Department “%(department)s” is inactive and cannot receive work orders") % {"department": department})
    accept_due, due = deadlines_for(order_type, now, due_date)
    if due <= now:
        raise ServiceError(_("The deadline cannot be earlier than now"))
    order = WorkOrder(
        title=title[:200], description=_text(description), order_type=order_type, urgency=urgency,
        household=household, village=village, area_code=area_code, place=_text(place)[:200] or village.name,
        origin=origin, department=department, routing_rule=rule, routing_note=note[:200],
        sender=_actor_user(actor), state=State.PUSHED, pushed_at=now, accept_due_at=accept_due, due_at=due)
    if source is not None:
        order.source_type = source._meta.label_lower
        order.source_id = str(source.pk)
        order.source_repr = str(source)[:200]
    order.save()
    order.number = f"GD{timezone.localtime(now):%Y%m%d}{order.pk:05d}"
    order.save(update_fields=["number"])
    _event(order, actor=actor, kind=EventKind.PUSH, at=now, to_state=State.PUSHED, note=note,
           data={"department": department.code, "rule": rule.pk if rule else None})
    audit.record(actor=actor, action="dispatch.workorder.create", obj=order, after=audit.snapshot(order), note=note)
    _notify_department(order)
    return order


# Needs from other apps -------------------------------------------------------------------------------------------

NeedAdapter = Callable[[Any], dict]


def register_need_adapter(label: str, fn: NeedAdapter) -> NeedAdapter:
    """Deprecated: register `ext.NeedAdapter(key=label, fn=fn)` in the app's hooks.py (the point
    dispatch.need_adapter teaches `work_order_from_need` a source model "app_label.model": fn(source) -> dict of
    work_order_create keywords: household, title, description, measure_kind, category, order_type, origin, urgency,
    village)."""
    ext.register(ext.NeedAdapter(key=label, fn=fn))
    return fn


def _first_attr(obj, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value not in (None, ""):
            return value() if callable(value) and not hasattr(value, "_meta") else value
    return None


def need_facts(source) -> dict:
    """What a need says about itself: the registered adapter, else a tolerant look at common attribute names."""
    label = source._meta.label_lower
    adapter = ext.lookup("dispatch.need_adapter", label)
    if adapter is not None:
        return adapter.fn(source)
    household = _first_attr(source, "household")
    if household is None:
        plan = _first_attr(source, "plan")
        household = getattr(plan, "household", None) if plan is not None else None
    model = label.split(".")[-1]
    origin = (Origin.MEASURE if "measure" in model else Origin.RECORD if ("record" in model or "visit" in model)
              else Origin.FINDING if "finding" in model else Origin.MANUAL)
    facts: dict[str, Any] = {"household": household, "origin": origin}
    if origin == Origin.MEASURE:
        facts["measure_kind"] = _text(_first_attr(source, "kind", "measure_kind"))
    title = _first_attr(source, "title", "name", "label", "rule_label")
    facts["title"] = _text(title) or str(source)
    facts["description"] = _text(_first_attr(source, "description", "content", "text", "detail", "note", "summary"))
    if household is None:
        facts["village"] = _first_attr(source, "village")
    return facts


def _minqing_adapter(report: MinqingReport) -> dict:
    return {"household": report.household, "village": report.village, "origin": Origin.MINQING,
            "category": report.category, "urgency": report.urgency, "place": report.place,
            "title": f"民情:{report.get_category_display()}:{report.content[:40]}",
            "description": report.content}


def _measure_adapter(measure) -> dict:
    """A household plan measure (fupin.assistance Measure)."""
    return {"household": measure.household, "origin": Origin.MEASURE, "measure_kind": measure.kind,
            "title": measure.title, "description": getattr(measure, "detail", "") or ""}


def _record_adapter(record) -> dict:
    """A visit or call (fupin.assistance AssistanceRecord): the needs the household raised."""
    needs = _text(getattr(record, "needs", ""))
    first = needs.splitlines()[0][:80] if needs else ""
    return {"household": record.household, "origin": Origin.RECORD, "title": first or "走访中提出的需求",
            "description": f"{record.content}\n需求:{needs}" if needs else record.content}


def _finding_adapter(finding) -> dict:
    """A comparison finding (fupin.eligibility Finding): the source's department verifies it."""
    return {"household": finding.household, "origin": Origin.FINDING, "order_type": "verify",
            "department_code": defaults.SOURCE_DEPARTMENT.get(finding.source_code, ""),
            "title": f"比对疑点核实:{finding.rule_name or finding.rule_code}",
            "description": f"来源:{finding.source_code};证据:{finding.evidence}"[:2000]}


def need_adapters() -> list:
    """The adapters dispatch knows by itself (registered in fupin/dispatch/hooks.py)."""
    return [ext.NeedAdapter(key="dispatch.minqingreport", fn=_minqing_adapter),
            ext.NeedAdapter(key="assistance.measure", fn=_measure_adapter),
            ext.NeedAdapter(key="assistance.assistancerecord", fn=_record_adapter),
            ext.NeedAdapter(key="eligibility.finding", fn=_finding_adapter)]


@transaction.atomic
def work_order_from_need(*, actor, source, department=None, order_type=None, title: str = "",
                         description: str = "", urgency: str | None = None, now: dt.datetime | None = None
                         ) -> WorkOrder:
    """Turn a need (plan measure, visit record, 民情 report, comparison finding) into a routed work order.

    An open order of the same type for the same need is refused, so a double click does not push twice.
    """
    facts = need_facts(source)
    household = facts.get("household")
    if household is None and facts.get("village") is None:
        raise ServiceError(_("The need has no household or village: no work order can be made from it"))
    keywords = {
        "household": household, "village": facts.get("village") if household is None else None,
        "title": _text(title) or facts.get("title", ""), "description": _text(description) or facts.get("description", ""),
        "origin": facts.get("origin", Origin.MANUAL), "measure_kind": facts.get("measure_kind", ""),
        "category": facts.get("category", ""), "place": facts.get("place", ""),
        "urgency": urgency or facts.get("urgency", Urgency.NORMAL),
        "order_type": order_type or facts.get("order_type"),
    }
    if keywords["order_type"] is None:
        keywords["order_type"] = routing.suggest_type(keywords, getattr(household, "main_cause", "") or "")
    kind = order_type_for(keywords["order_type"])
    keywords["order_type"] = kind
    if department is None and facts.get("department_code"):
        from fupin.org.models import Department

        department = Department.objects.filter(code=facts["department_code"], is_active=True).first()
    dup = WorkOrder.objects.filter(source_type=source._meta.label_lower, source_id=str(source.pk),
                                   order_type=kind, state__in=[*WITH_DEPARTMENT, State.RESOLVED, State.RETURNED]).first()
    if dup is not None:
        raise ServiceError(_("The need already has an open %(kind)s work order %(number)s") % {"kind": kind, "number": dup.number})
    return work_order_create(actor=actor, department=department, source=source, now=now, **keywords)


# Work orders: transitions ----------------------------------------------------------------------------------------


def _locked(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_for_update().select_related("department", "order_type").get(pk=order.pk)


def _finish(order: WorkOrder, *, actor, t: Transition, before: dict, at: dt.datetime, note: str = "",
            data: dict | None = None, from_state: str = "") -> WorkOrder:
    order.version += 1
    order.save()
    _event(order, actor=actor, kind=t.name, at=at,
           from_state=from_state, to_state=order.state, note=note, data=data)
    audit.record(actor=actor, action=f"dispatch.workorder.{t.name}", obj=order, before=before,
                 after=audit.snapshot(order), note=note)
    item = JointPlanItem.objects.filter(work_order=order).select_related("plan").first()
    if item is not None:
        from fupin.dispatch.services.plans import (
            _refresh_plan,  # the plan follows its orders (plans import orders)
        )

        _refresh_plan(item.plan, at=at)
    return order


def _seconds(a: dt.datetime, b: dt.datetime) -> int:
    return max(0, int((b - a).total_seconds()))


@transaction.atomic
def work_order_act(*, actor, order: WorkOrder, action: str, note: str = "", department=None, handler=None,
                   satisfaction: int | None = None, now: dt.datetime | None = None) -> WorkOrder:
    """Take one transition of the state machine (see TRANSITIONS) on an order.

    accept / start / resolve (note = the result) / return (note = the reason) by the receiving department;
    reroute (department = the new one) by the sender after a return, or the city office at any open stage;
    reassign (handler = another user of the department) by the handler or the department head;
    reopen (note = why it is not solved), confirm (satisfaction 1-5), cancel (note) by the sender side;
    close by the sender side, the department or the city office once confirmed.
    """
    at = _now(now)
    order = _locked(order)
    t = check_transition(actor, order, action)
    note = _text(note)
    if t.needs_note and not note:
        raise ServiceError(t.needs_note)
    before = audit.snapshot(order)
    from_state = order.state
    data: dict = {}
    if t.name == "accept":
        order.handler = actor
        order.accepted_at = at
        order.accept_seconds = _seconds(order.pushed_at, at)
        _close(order, "dept", "overdue:1", "overdue:2")
        # lateness in accepting is settled; the resolve deadline escalates afresh (was_overdue keeps the record)
        order.escalation_level = 0
    elif t.name == "start":
        order.started_at = at
    elif t.name == "resolve":
        order.resolution = note
        order.resolved_at = at
        order.resolve_seconds = _seconds(order.pushed_at, at)
        _close(order, "overdue:1", "overdue:2")
        _post(order.sender, order, what="confirm", title=f"工单已办结,请确认:{order.title}",
              body=note[:300], due=_local_date(at + dt.timedelta(days=7)))
    elif t.name == "return":
        order.return_reason = note[:300]
        order.returned_at = at
        _close(order, "dept", "overdue:1", "overdue:2")
        _post(order.sender, order, what="returned", title=f"工单被{order.department}退回:{order.title}", body=note)
    elif t.name == "reroute":
        if department is None:
            raise ServiceError(_("Choose the new handling department"))
        if department.pk == order.department_id:
            raise ServiceError(_("The new handling department is the same as the current one"))
        if not department.is_active:
            raise ServiceError(_("Department “%(department)s” is inactive and cannot receive work orders") % {"department": department})
        data = {"from_department": order.department.code, "department": department.code}
        _close(order, "dept", "returned", "overdue:1", "overdue:2")
        order.department = department
        order.routing_rule = None
        order.routing_note = f"由{_actor_name(actor)}改派"[:200]
        order.handler = None
        order.pushed_at = at
        order.accept_due_at, order.due_at = deadlines_for(order.order_type, at, None)
        order.accepted_at = order.started_at = order.returned_at = None
        order.accept_seconds = None
        order.escalation_level = 0
        order.escalated_at = None
    elif t.name == "reassign":
        if handler is None or handler.department_id != order.department_id or not handler.is_active:
            raise ServiceError(_("The new handler must be an active member of %(department)s") % {"department": order.department})
        if handler.pk == order.handler_id:
            raise ServiceError(_("The new handler is the same as the current one"))
        data = {"from_handler": order.handler_id, "handler": handler.pk, "handler_name": str(handler)}
        order.handler = handler
        _post(handler, order, what=f"handler:{handler.pk}", title=f"工单转交给您办理:{order.title}",
              due=_local_date(order.due_at))
    elif t.name == "reopen":
        order.resolved_at = None
        order.resolve_seconds = None
        order.resolution = f"{order.resolution}\n(发起方退回重办:{note})".strip()
        _close(order, "confirm")
        if order.handler_id:
            _post(order.handler, order, what="reopen", title=f"工单未解决,退回重办:{order.title}", body=note)
    elif t.name == "confirm":
        try:
            score = int(satisfaction)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            score = 0
        if not 1 <= score <= 5:
            raise ServiceError(_("Choose the satisfaction (1–5)"))
        order.satisfaction = score
        order.confirm_note = note[:300]
        order.confirmed_at = at
        _close(order, "confirm", "reopen")
        data = {"satisfaction": order.satisfaction}
    elif t.name == "close":
        order.closed_at = at
    elif t.name == "cancel":
        order.closed_at = at
        _close(order, "dept", "returned", "overdue:1", "overdue:2")
    if t.target is not None:
        order.state = t.target
    _finish(order, actor=actor, t=t, before=before, at=at, note=note, data=data, from_state=from_state)
    if t.name == "reroute":
        _notify_department(order)
    return order


@transaction.atomic
def work_orders_accept(*, actor, orders, now: dt.datetime | None = None) -> dict:
    """Bulk accept (the department inbox): every order the actor may accept is accepted, the rest are reported."""
    accepted, refused = [], []
    for order in orders:
        try:
            with transaction.atomic():
                work_order_act(actor=actor, order=order, action="accept", now=now)
            accepted.append(order.number)
        except ServiceError as exc:
            refused.append(f"{order.number}:{exc.message}")
    return {"accepted": accepted, "refused": refused}


@transaction.atomic
def work_order_comment(*, actor, order: WorkOrder, text: str, now: dt.datetime | None = None) -> WorkOrderEvent:
    text = _text(text)
    if not text:
        raise ServiceError(_("The message is empty"))
    event = _event(order, actor=actor, kind=EventKind.COMMENT, at=_now(now), note=text[:2000])
    audit.record(actor=actor, action="dispatch.workorder.comment", obj=order, note=text[:2000])
    return event


@transaction.atomic
def work_order_attach(*, actor, order: WorkOrder, upload, note: str = "", now: dt.datetime | None = None
                      ) -> WorkOrderAttachment:
    """Keep a file with the order (evidence, a photo, a reply)."""
    if upload is None or not getattr(upload, "name", ""):
        raise ServiceError(_("Choose a file to upload"))
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ServiceError(_("An attachment cannot exceed 20 MB"))
    if order.state in (State.CLOSED, State.CANCELLED):
        raise ServiceError(_("The work order is closed: no more attachments"))
    at = _now(now)
    att = WorkOrderAttachment(order=order, name=upload.name[:200], size=upload.size, note=_text(note)[:200],
                              uploaded_by=_actor_user(actor), uploaded_at=at)
    att.file.save(upload.name, upload, save=False)
    att.save()
    _event(order, actor=actor, kind=EventKind.ATTACH, at=at, note=att.name, data={"attachment": str(att.uuid)})
    audit.record(actor=actor, action="dispatch.workorder.attach", obj=order, after={"attachment": att.name},
                 note=att.note)
    return att


# Overdue orders: escalation --------------------------------------------------------------------------------------


def overdue_q(now: dt.datetime):
    from django.db.models import Q

    return Q(state=State.PUSHED, accept_due_at__lt=now) | Q(state__in=WITH_DEPARTMENT, due_at__lt=now)


def _level_above(order: WorkOrder, level: int) -> list:
    """Level 1: the town grid station staff of the order's town; level 2 (or no town staff): the city office."""
    from fupin.geo import responsible

    if level == 1:
        town = responsible.town_code(order.area_code)
        staff = responsible.users(responsible.town_staff([town]).get(town, []))
        if staff:
            return staff
    county = responsible.county_code(order.area_code)
    return responsible.users(responsible.county_office([county]).get(county, []))


def _escalate_one(order: WorkOrder, *, level: int, at: dt.datetime, actor) -> None:
    before = audit.snapshot(order)
    order.escalation_level = level
    order.escalated_at = at
    order.was_overdue = True
    order.version += 1
    order.save(update_fields=["escalation_level", "escalated_at", "was_overdue", "version", "updated_at"])
    late = "受理" if order.state == State.PUSHED else "办结"
    title = f"工单超期未{late}({'一' if level == 1 else '二'}级督办):{order.title}"
    body = f"{order.department} · {order.number} · 期限 {timezone.localtime(order.due_at):%Y-%m-%d}"
    recipients = []
    if level == 1 and order.department.head_id:
        recipients.append(order.department.head)
    recipients += _level_above(order, level)
    for user in {u.pk: u for u in recipients}.values():
        _post(user, order, what=f"overdue:{level}", kind="warning", title=title, body=body, due=_local_date(at))
    _event(order, actor=actor, kind=EventKind.ESCALATE, at=at, from_state=order.state, to_state=order.state,
           note=title, data={"level": level, "to": [str(u) for u in recipients]})
    audit.record(actor=actor, action="dispatch.workorder.escalate", obj=order, before=before,
                 after=audit.snapshot(order), note=title)


def escalate_overdue(*, actor="system", now: dt.datetime | None = None) -> dict:
    """Escalate every overdue order not yet escalated to its level: run by `fupin nightly`.

    Level 1 at the deadline (accept or resolve): the department head and the town station; level 2 once the order is
    the type's `escalate_days` past its deadline: the city poverty office. Inbox items are deduplicated per order and
    level, so running twice posts nothing new.
    """
    at = _now(now)
    counts = {"level_1": 0, "level_2": 0}
    qs = (WorkOrder.objects.filter(overdue_q(at)).select_related("department__head", "order_type")
          .order_by("due_at"))
    for order in qs.iterator(chunk_size=500):
        deadline = order.accept_due_at if order.state == State.PUSHED and at > order.accept_due_at else order.due_at
        target = 2 if at > deadline + dt.timedelta(days=order.order_type.escalate_days) else 1
        if order.escalation_level >= target:
            continue
        with transaction.atomic():
            for level in range(order.escalation_level + 1, target + 1):
                _escalate_one(order, level=level, at=at, actor=actor)
                counts[f"level_{level}"] += 1
    return counts
