"""Writes of the dispatch app. Each change is one keyword-only service taking `actor`, atomic, audited.

The work order's state machine lives here (see TRANSITIONS): every transition checks the state it starts from and
who may take it, refuses in Chinese otherwise, writes the order, one timeline event and one audit event, and posts or
closes the inbox items that follow from it. Services take an optional `now` so that the demo can write a past year
and tests can freeze time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.scoping import scope_prefix
from fupin.dispatch import defaults, routing
from fupin.dispatch.choices import (
    STATE_ZH,
    WITH_DEPARTMENT,
    AnswerWay,
    Category,
    Channel,
    EventKind,
    Origin,
    PlanStatus,
    ReportStatus,
    State,
    Urgency,
)
from fupin.dispatch.models import (
    HouseholdPin,
    JointPlan,
    JointPlanItem,
    MinqingReport,
    RoutingRule,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderEvent,
    WorkOrderType,
)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_user(actor):
    return actor if getattr(actor, "pk", None) else None


def _actor_name(actor) -> str:
    user = _actor_user(actor)
    if user is None:
        return str(actor or "system")[:150]
    return (getattr(user, "display_name", "") or user.get_username())[:150]


def _text(value: Any) -> str:
    return str(value or "").strip()


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
    prefix = scope_prefix(user)
    return prefix is not None and order.area_code.startswith(prefix) and user.can("edit")


def is_supervisor(user, order: WorkOrder) -> bool:
    """The city poverty office (or a superuser): may send an order on to another department at any stage."""
    if getattr(user, "is_superuser", False):
        return True
    prefix = scope_prefix(user)
    return (not getattr(user, "department_id", None) and user.can("approve_county") and prefix is not None
            and order.area_code.startswith(prefix))


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
        raise ServiceError(f"未知的工单操作:{name}")
    state_text = STATE_ZH.get(order.state, order.state)
    if not _may(user, order, t.who):
        raise ServiceError(_who_text(t, order))
    if order.state not in t.sources:
        if is_department_handler(user, order) and order.state == State.PUSHED and name in ("resolve", "close", "start"):
            raise ServiceError(f"本部门尚未受理该工单,不能{t.label}")
        if name == "close" and order.state == State.RESOLVED:
            raise ServiceError("工单须经发起方确认后才能关闭")
        raise ServiceError(f"工单当前状态为「{state_text}」,不能{t.label}")
    if name == "reroute" and order.state != State.RETURNED and not is_supervisor(user, order):
        raise ServiceError("部门尚未退回该工单;办理中的工单只有市扶贫办可以改派")
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


# Setup: types and rules -------------------------------------------------------------------------------------------


@transaction.atomic
def dispatch_setup_defaults(*, actor) -> dict:
    """Load the starting work order types and routing rules (defaults.py) where missing; idempotent.

    Returns {"types": created, "rules": created, "skipped": [rule names whose department does not exist]}.
    """
    from fupin.org.models import Department

    created_types = 0
    for i, (code, name, accept, resolve, escalate) in enumerate(defaults.ORDER_TYPES):
        _, made = WorkOrderType.objects.get_or_create(
            code=code, defaults={"name": name, "accept_days": accept, "resolve_days": resolve,
                                 "escalate_days": escalate, "order": i})
        created_types += made
    departments = {d.code: d for d in Department.objects.all()}
    types = {t.code: t for t in WorkOrderType.objects.all()}
    created_rules, skipped = 0, []
    if not RoutingRule.objects.exists():
        for priority, name, criteria, dept_code in defaults.RULES:
            dept = departments.get(dept_code)
            if dept is None:
                skipped.append(name)
                continue
            RoutingRule.objects.create(priority=priority, name=name, department=dept,
                                       order_type=types.get(criteria.get("order_type", "")),
                                       cause=criteria.get("cause", ""), measure_kind=criteria.get("measure_kind", ""),
                                       category=criteria.get("category", ""))
            created_rules += 1
    result = {"types": created_types, "rules": created_rules, "skipped": skipped}
    if created_types or created_rules:
        audit.record(actor=actor, action="dispatch.setup_defaults", object_type="dispatch.routingrule",
                     object_repr="工单类型与分派规则初始配置", after=result)
    return result


RULE_FIELDS = ("priority", "name", "order_type", "cause", "measure_kind", "category", "area_prefix", "department",
               "is_active", "note")


def _clean_rule(rule: RoutingRule) -> None:
    if not rule.name.strip():
        raise ServiceError("规则名称不能为空")
    if rule.area_prefix and not rule.area_prefix.isdigit():
        raise ServiceError("地区代码前缀只能是数字")
    if rule.department_id is None:
        raise ServiceError("请选择承办部门")


@transaction.atomic
def routing_rule_create(*, actor, department, name: str, priority: int = 100, order_type: WorkOrderType | None = None,
                        cause: str = "", measure_kind: str = "", category: str = "", area_prefix: str = "",
                        is_active: bool = True, note: str = "") -> RoutingRule:
    rule = RoutingRule(department=department, name=_text(name), priority=priority, order_type=order_type,
                       cause=_text(cause), measure_kind=_text(measure_kind), category=_text(category),
                       area_prefix=_text(area_prefix), is_active=is_active, note=_text(note))
    _clean_rule(rule)
    rule.save()
    audit.record(actor=actor, action="dispatch.routingrule.create", obj=rule, after=audit.snapshot(rule))
    return rule


@transaction.atomic
def routing_rule_update(*, actor, rule: RoutingRule, **changes: Any) -> RoutingRule:
    """Change a rule; the audit event keeps the rule before and after (the rule's version history)."""
    bad = set(changes) - set(RULE_FIELDS)
    if bad:
        raise ServiceError(f"不能修改:{', '.join(sorted(bad))}")
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    before = audit.snapshot(rule)
    for key, value in changes.items():
        setattr(rule, key, _text(value) if isinstance(value, str) else value)
    _clean_rule(rule)
    rule.version += 1
    rule.save()
    audit.record(actor=actor, action="dispatch.routingrule.update", obj=rule, before=before,
                 after=audit.snapshot(rule))
    return rule


@transaction.atomic
def order_type_update(*, actor, order_type: WorkOrderType, **changes: Any) -> WorkOrderType:
    """Change a type's name or deadlines (days to accept, to resolve, before the level above is told)."""
    allowed = {"name", "accept_days", "resolve_days", "escalate_days", "is_active", "order"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(f"不能修改:{', '.join(sorted(bad))}")
    before = audit.snapshot(order_type)
    for key, value in changes.items():
        setattr(order_type, key, value)
    if not order_type.resolve_days or not order_type.accept_days:
        raise ServiceError("受理和办结期限至少为1天")
    if order_type.accept_days > order_type.resolve_days:
        raise ServiceError("受理期限不能长于办结期限")
    order_type.version += 1
    order_type.save()
    audit.record(actor=actor, action="dispatch.workordertype.update", obj=order_type, before=before,
                 after=audit.snapshot(order_type))
    return order_type


def engine_rule(r: RoutingRule) -> routing.Rule:
    """A rule row as the routing engine sees it."""
    return routing.Rule(id=r.pk, priority=r.priority, department=r.department_id,
                        order_type=r.order_type.code if r.order_type_id else "", cause=r.cause,
                        measure_kind=r.measure_kind, category=r.category, area_prefix=r.area_prefix, name=r.name)


def active_rules() -> list[routing.Rule]:
    return [engine_rule(r) for r in
            RoutingRule.objects.filter(is_active=True, department__is_active=True).select_related("order_type")]


def route_need(facts: routing.Facts):
    """(department, rule row) for these facts by the active rules; ServiceError when nothing matches."""
    from fupin.org.models import Department

    chosen = routing.route(active_rules(), facts)
    if chosen is None:
        raise ServiceError("没有匹配的分派规则,请手工选择承办部门")
    return Department.objects.get(pk=chosen.department), RoutingRule.objects.get(pk=chosen.id)


def type_for_department(department) -> WorkOrderType:
    """The need type a department usually handles (its first type rule), else 其他困难."""
    rule = (RoutingRule.objects.filter(department=department, is_active=True, order_type__isnull=False,
                                       order_type__is_active=True)
            .select_related("order_type").order_by("priority", "id").first())
    return rule.order_type if rule else order_type_for("other")


def order_type_for(code: str | WorkOrderType | None) -> WorkOrderType:
    if isinstance(code, WorkOrderType):
        return code
    code = code or "other"
    found = WorkOrderType.objects.filter(code=code, is_active=True).first()
    if found is None:
        found = WorkOrderType.objects.filter(code="other", is_active=True).first()
    if found is None:
        raise ServiceError(f"未配置工单类型「{code}」,请先载入默认工单类型与分派规则")
    return found


# Work orders: creation -------------------------------------------------------------------------------------------


def _check_area(actor, area_code: str) -> None:
    user = _actor_user(actor)
    if user is None:
        return  # the system (demo, nightly) acts everywhere
    if getattr(user, "department_id", None) and not user.is_superuser:
        raise ServiceError("部门经办人不能发起工单;如需其他部门协办,请退回并说明理由")
    prefix = scope_prefix(user)
    if prefix is None or not area_code.startswith(prefix):
        raise ServiceError("该户不在您的管辖范围内,不能发起工单")
    if not user.can("edit"):
        raise ServiceError("您的角色不能发起工单")


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
        raise ServiceError("请填写工单标题")
    if urgency not in Urgency.values:
        raise ServiceError("紧急程度无效")
    if household is not None:
        village = household.village
        area_code = household.area_code
        cause = household.main_cause if cause is None else cause
    elif grid is not None:
        village, area_code = grid.village, grid.code
    elif village is not None:
        area_code = village.code
    else:
        raise ServiceError("请指定农户或所在村")
    if village.level not in ("village", "community"):
        raise ServiceError("工单须落到村(社区)或农户")
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
        raise ServiceError(f"部门「{department}」已停用,不能接收工单")
    accept_due, due = deadlines_for(order_type, now, due_date)
    if due <= now:
        raise ServiceError("办结期限不能早于现在")
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
_ADAPTERS: dict[str, NeedAdapter] = {}


def register_need_adapter(label: str, fn: NeedAdapter) -> NeedAdapter:
    """Teach `work_order_from_need` a source model ("app_label.model"): fn(source) -> dict of work_order_create
    keywords (household, title, description, measure_kind, category, order_type, origin, urgency, village)."""
    _ADAPTERS[label] = fn
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
    if label in _ADAPTERS:
        return _ADAPTERS[label](source)
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


register_need_adapter("dispatch.minqingreport", _minqing_adapter)
register_need_adapter("assistance.measure", _measure_adapter)
register_need_adapter("assistance.assistancerecord", _record_adapter)
register_need_adapter("eligibility.finding", _finding_adapter)


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
        raise ServiceError("该需求没有关联农户或村,无法生成工单")
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
        raise ServiceError(f"该需求已有未办结的{kind}工单 {dup.number}")
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
            raise ServiceError("请选择新的承办部门")
        if department.pk == order.department_id:
            raise ServiceError("新的承办部门与原部门相同")
        if not department.is_active:
            raise ServiceError(f"部门「{department}」已停用,不能接收工单")
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
            raise ServiceError(f"新的经办人须是{order.department}的在岗人员")
        if handler.pk == order.handler_id:
            raise ServiceError("新的经办人与当前经办人相同")
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
            raise ServiceError("请选择满意度(1-5分)")
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
        raise ServiceError("留言不能为空")
    event = _event(order, actor=actor, kind=EventKind.COMMENT, at=_now(now), note=text[:2000])
    audit.record(actor=actor, action="dispatch.workorder.comment", obj=order, note=text[:2000])
    return event


@transaction.atomic
def work_order_attach(*, actor, order: WorkOrder, upload, note: str = "", now: dt.datetime | None = None
                      ) -> WorkOrderAttachment:
    """Keep a file with the order (evidence, a photo, a reply)."""
    if upload is None or not getattr(upload, "name", ""):
        raise ServiceError("请选择要上传的文件")
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ServiceError("附件不能超过20MB")
    if order.state in (State.CLOSED, State.CANCELLED):
        raise ServiceError("工单已关闭,不能再添加附件")
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
    from fupin.accounts.models import User

    if level == 1:
        town_code = order.area_code[:9] + "000"
        staff = list(User.objects.filter(role="town_staff", division__code=town_code, is_active=True))
        if staff:
            return staff
    county_code = order.area_code[:6] + "000000"
    return list(User.objects.filter(role="city_office", division__code=county_code, is_active=True))


_LIGHT_HOOKS: list[Callable] = []


def register_overdue_light(fn: Callable) -> Callable:
    """fn(order, level) lights a warning for an escalated order (the assistance app's lights, when present)."""
    if fn not in _LIGHT_HOOKS:
        _LIGHT_HOOKS.append(fn)
    return fn


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
    for fn in _LIGHT_HOOKS:
        fn(order, level)


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


# Pinning ---------------------------------------------------------------------------------------------------------


def _check_household_scope(actor, household) -> None:
    user = _actor_user(actor)
    if user is None:
        return
    prefix = scope_prefix(user)
    if prefix is None or not household.area_code.startswith(prefix) or not user.can("edit"):
        raise ServiceError("该户不在您的管辖范围内")


@transaction.atomic
def household_pin(*, actor, household, reason: str, now: dt.datetime | None = None) -> HouseholdPin:
    """Pin a household in special difficulty (置顶): it comes first in every list and stands out on the map."""
    reason = _text(reason)
    if not reason:
        raise ServiceError("置顶须填写理由")
    _check_household_scope(actor, household)
    if HouseholdPin.objects.filter(household=household, unpinned_at__isnull=True).exists():
        raise ServiceError(f"{household}已置顶")
    pin = HouseholdPin.objects.create(household=household, area_code=household.area_code, reason=reason[:300],
                                      pinned_by=_actor_user(actor), pinned_at=_now(now))
    audit.record(actor=actor, action="dispatch.householdpin.create", obj=pin, after=audit.snapshot(pin), note=reason)
    return pin


@transaction.atomic
def household_unpin(*, actor, pin: HouseholdPin, reason: str, now: dt.datetime | None = None) -> HouseholdPin:
    reason = _text(reason)
    if not reason:
        raise ServiceError("取消置顶须填写理由")
    pin = HouseholdPin.objects.select_for_update().get(pk=pin.pk)
    if pin.unpinned_at is not None:
        raise ServiceError("该户已取消置顶")
    _check_household_scope(actor, pin.household)
    before = audit.snapshot(pin)
    pin.unpinned_at = _now(now)
    pin.unpinned_by = _actor_user(actor)
    pin.unpin_reason = reason[:300]
    pin.version += 1
    pin.save()
    audit.record(actor=actor, action="dispatch.householdpin.unpin", obj=pin, before=before, after=audit.snapshot(pin),
                 note=reason)
    return pin


# Joint plans -----------------------------------------------------------------------------------------------------

FINISHED_ORDER_STATES = (State.CONFIRMED, State.CLOSED)


def _refresh_plan(plan: JointPlan, *, at: dt.datetime) -> None:
    """A plan is complete when every item's order is confirmed or closed (cancelled items do not count)."""
    if plan.status == PlanStatus.CANCELLED:
        return
    states = list(plan.items.exclude(work_order__state=State.CANCELLED).values_list("work_order__state", flat=True))
    done = bool(states) and all(s in FINISHED_ORDER_STATES for s in states)
    status = PlanStatus.DONE if done else PlanStatus.OPEN
    if status != plan.status:
        before = audit.snapshot(plan)
        plan.status = status
        plan.completed_at = at if done else None
        plan.version += 1
        plan.save()
        audit.record(actor="system", action="dispatch.jointplan.status", obj=plan, before=before,
                     after=audit.snapshot(plan))


def _add_item(*, actor, plan: JointPlan, item: dict, position: int, now: dt.datetime) -> JointPlanItem:
    project = _text(item.get("project"))
    department = item.get("department")
    deadline = item.get("deadline")
    where = f"第{position}项"
    if not project:
        raise ServiceError(f"{where}:请填写帮扶项目")
    if department is None:
        raise ServiceError(f"{where}:请选择责任单位")
    if not isinstance(deadline, dt.date):
        raise ServiceError(f"{where}:请填写完成时限")
    if deadline < _local_date(now):
        raise ServiceError(f"{where}:完成时限不能早于今天")
    row = JointPlanItem(plan=plan, position=position, project=project[:200], department=department,
                        responsible_person=_text(item.get("responsible_person"))[:50], deadline=deadline,
                        evidence=_text(item.get("evidence")), area_code=plan.area_code)
    order = work_order_create(
        actor=actor, household=plan.household, department=department,
        order_type=item.get("order_type") or type_for_department(department),
        title=f"协同帮扶:{project}"[:200], origin=Origin.JOINT_PLAN, source=plan, urgency=Urgency.URGENT,
        description=f"{plan.title}\n责任人:{row.responsible_person or '—'}", due_date=deadline, now=now)
    row.work_order = order
    row.save()
    return row


@transaction.atomic
def joint_plan_create(*, actor, household, title: str, items: list[dict], note: str = "",
                      now: dt.datetime | None = None) -> JointPlan:
    """A joint assistance plan: each item (project, department, responsible person, deadline) becomes a work order
    pushed to its department, with the item's deadline as the order's deadline."""
    at = _now(now)
    title = _text(title)
    if not title:
        raise ServiceError("请填写方案名称")
    if not items:
        raise ServiceError("方案至少要有一个帮扶项目")
    _check_household_scope(actor, household)
    pin = HouseholdPin.objects.filter(household=household, unpinned_at__isnull=True).first()
    plan = JointPlan.objects.create(household=household, pin=pin, area_code=household.area_code, title=title[:200],
                                    note=_text(note), created_by=_actor_user(actor))
    for i, item in enumerate(items, start=1):
        _add_item(actor=actor, plan=plan, item=item, position=i, now=at)
    audit.record(actor=actor, action="dispatch.jointplan.create", obj=plan, after=audit.snapshot(plan),
                 note=f"{len(items)}个帮扶项目")
    return plan


@transaction.atomic
def joint_plan_add_item(*, actor, plan: JointPlan, item: dict, now: dt.datetime | None = None) -> JointPlanItem:
    if plan.status != PlanStatus.OPEN:
        raise ServiceError("方案已完成或已撤销,不能再添加项目")
    _check_household_scope(actor, plan.household)
    position = (plan.items.count() or 0) + 1
    row = _add_item(actor=actor, plan=plan, item=item, position=position, now=_now(now))
    audit.record(actor=actor, action="dispatch.jointplan.add_item", obj=plan, after={"project": row.project})
    return row


@transaction.atomic
def joint_plan_item_evidence(*, actor, item: JointPlanItem, evidence: str) -> JointPlanItem:
    """Record what proves the item was done (the department or the village)."""
    evidence = _text(evidence)
    if not evidence:
        raise ServiceError("请填写佐证材料说明")
    user = _actor_user(actor)
    if user is not None and not user.is_superuser:
        in_department = user.department_id and user.department_id == item.department_id
        prefix = scope_prefix(user)
        in_area = prefix is not None and item.area_code.startswith(prefix) and user.can("edit")
        if not (in_department or in_area):
            raise ServiceError("只有责任单位或本地工作人员可以填写佐证材料")
    before = audit.snapshot(item)
    item.evidence = evidence
    item.version += 1
    item.save()
    audit.record(actor=actor, action="dispatch.jointplanitem.evidence", obj=item, before=before,
                 after=audit.snapshot(item))
    return item


# 民情 (public opinion) -------------------------------------------------------------------------------------------


@transaction.atomic
def minqing_report_create(*, actor, channel: str, category: str, content: str, household=None, village=None,
                          grid=None, urgency: str = Urgency.NORMAL, place: str = "", reporter_name: str = "",
                          reporter_phone: str = "", reported_at: dt.datetime | None = None,
                          now: dt.datetime | None = None) -> MinqingReport:
    """Record what a household, a grid worker, a village team or a hotline caller reported."""
    at = _now(now)
    content = _text(content)
    if not content:
        raise ServiceError("请填写反映内容")
    if channel not in Channel.values:
        raise ServiceError("来源渠道无效")
    if category not in Category.values:
        raise ServiceError("民情类别无效")
    if urgency not in Urgency.values:
        raise ServiceError("紧急程度无效")
    if household is not None:
        village, area_code = household.village, household.area_code
    elif grid is not None:
        village, area_code = grid.village, grid.code
    elif village is not None:
        area_code = village.code
    else:
        raise ServiceError("请指定农户或所在村")
    if village.level not in ("village", "community"):
        raise ServiceError("民情须落到村(社区)或农户")
    user = _actor_user(actor)
    if user is not None and not user.is_superuser:
        prefix = scope_prefix(user)
        if prefix is None or not area_code.startswith(prefix):
            raise ServiceError("该地不在您的管辖范围内")
    if channel == Channel.HOTLINE and not (_text(reporter_name) or _text(reporter_phone)):
        raise ServiceError("热线来电请填写来电人姓名或电话")
    reported_at = reported_at or at
    if reported_at > at + dt.timedelta(minutes=5):
        raise ServiceError("反映时间不能晚于现在")
    report = MinqingReport.objects.create(
        channel=channel, category=category, urgency=urgency, village=village, area_code=area_code,
        household=household, place=_text(place)[:200] or village.name, reporter_name=_text(reporter_name)[:50],
        reporter_phone=_text(reporter_phone)[:30], content=content, reported_at=reported_at,
        recorded_by=user)
    report.number = f"MQ{timezone.localtime(reported_at):%Y%m%d}{report.pk:05d}"
    report.save(update_fields=["number"])
    audit.record(actor=actor, action="dispatch.minqingreport.create", obj=report, after=audit.snapshot(report))
    return report


def _check_report_scope(actor, report: MinqingReport) -> None:
    user = _actor_user(actor)
    if user is None or user.is_superuser:
        return
    prefix = scope_prefix(user)
    if prefix is None or not report.area_code.startswith(prefix) or not user.can("edit"):
        raise ServiceError("该民情不在您的管辖范围内")


@transaction.atomic
def minqing_classify(*, actor, report: MinqingReport, category: str, urgency: str | None = None,
                     analysis: str = "") -> MinqingReport:
    """Sort a report at the analysis meeting: its category, urgency and the meeting's analysis."""
    _check_report_scope(actor, report)
    if category not in Category.values:
        raise ServiceError("民情类别无效")
    if urgency is not None and urgency not in Urgency.values:
        raise ServiceError("紧急程度无效")
    before = audit.snapshot(report)
    report.category = category
    if urgency:
        report.urgency = urgency
    if _text(analysis):
        report.analysis = _text(analysis)
    report.version += 1
    report.save()
    audit.record(actor=actor, action="dispatch.minqingreport.classify", obj=report, before=before,
                 after=audit.snapshot(report))
    return report


@transaction.atomic
def minqing_answer(*, actor, report: MinqingReport, answer: str, way: str, now: dt.datetime | None = None
                   ) -> MinqingReport:
    """Record the answer given back to the household (every report gets one)."""
    _check_report_scope(actor, report)
    answer = _text(answer)
    if not answer:
        raise ServiceError("请填写答复内容")
    if way not in AnswerWay.values:
        raise ServiceError("请选择答复方式")
    before = audit.snapshot(report)
    report.answer = answer
    report.answer_way = way
    report.answered_at = _now(now)
    report.answered_by = _actor_user(actor)
    report.status = ReportStatus.ANSWERED
    report.version += 1
    report.save()
    audit.record(actor=actor, action="dispatch.minqingreport.answer", obj=report, before=before,
                 after=audit.snapshot(report))
    return report


@transaction.atomic
def minqing_spawn_order(*, actor, report: MinqingReport, department=None, order_type=None, title: str = "",
                        now: dt.datetime | None = None) -> WorkOrder:
    """Turn a report into a work order (routed by its category and the household's cause)."""
    _check_report_scope(actor, report)
    order = work_order_from_need(actor=actor, source=report, department=department, order_type=order_type,
                                 title=title, now=now)
    if report.status == ReportStatus.OPEN:
        report.status = ReportStatus.IN_HAND
        report.version += 1
        report.save(update_fields=["status", "version", "updated_at"])
    return order
