"""Work order types and routing rules: the starting set, edits, and routing a need to a department."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ServiceError, only_changes
from fupin.dispatch import defaults, routing
from fupin.dispatch.models import (
    RoutingRule,
    WorkOrderType,
)
from fupin.dispatch.services.base import _text

# Setup: types and rules -------------------------------------------------------------------------------------------


@transaction.atomic
def dispatch_setup_defaults(*, actor) -> dict:
    """Load the starting work order types and routing rules (defaults.py) where missing; idempotent.

    Returns {"types": created, "rules": created, "skipped": [rule names whose department does not exist]}.
    """
    from fupin.org.models import Department

    created_types = 0
    for i, (code, name, accept, resolve, escalate) in enumerate(defaults.ORDER_TYPES):
        _type, made = WorkOrderType.objects.get_or_create(
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
        raise ServiceError(_("The rule's name is required"))
    if rule.area_prefix and not rule.area_prefix.isdigit():
        raise ServiceError(_("The division code prefix may contain only digits"))
    if rule.department_id is None:
        raise ServiceError(_("Choose the handling department"))


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
    only_changes(changes, RULE_FIELDS)
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
    only_changes(changes, {"name", "accept_days", "resolve_days", "escalate_days", "is_active", "order"})
    before = audit.snapshot(order_type)
    for key, value in changes.items():
        setattr(order_type, key, value)
    if not order_type.resolve_days or not order_type.accept_days:
        raise ServiceError(_("The acceptance and completion limits are at least 1 day"))
    if order_type.accept_days > order_type.resolve_days:
        raise ServiceError(_("The acceptance limit cannot be longer than the completion limit"))
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
        raise ServiceError(_("No routing rule matches: choose the handling department by hand"))
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
        raise ServiceError(_("Work order type “%(code)s” is not set up: load the default work order types and routing rules first") % {"code": code})
    return found
