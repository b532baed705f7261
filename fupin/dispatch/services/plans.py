"""Joint plans (联合帮扶计划): a household's plan over several departments, its items and their evidence."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core import audit, scoping
from fupin.core.errors import ServiceError
from fupin.dispatch.choices import (
    Origin,
    PlanStatus,
    State,
    Urgency,
)
from fupin.dispatch.models import (
    HouseholdPin,
    JointPlan,
    JointPlanItem,
)
from fupin.dispatch.services.base import _actor_user, _check_household_scope, _now, _text
from fupin.dispatch.services.orders import _local_date, work_order_create
from fupin.dispatch.services.setup import type_for_department

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
        raise ServiceError(_("%(where)s: write the assistance item") % {"where": where})
    if department is None:
        raise ServiceError(_("%(where)s: choose the responsible unit") % {"where": where})
    if not isinstance(deadline, dt.date):
        raise ServiceError(_("%(where)s: give the deadline") % {"where": where})
    if deadline < _local_date(now):
        raise ServiceError(_("%(where)s: the deadline cannot be earlier than today") % {"where": where})
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
        raise ServiceError(_("Write the plan's name"))
    if not items:
        raise ServiceError(_("A plan needs at least one assistance item"))
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
        raise ServiceError(_("The plan is completed or withdrawn: no more items can be added"))
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
        raise ServiceError(_("Describe the evidence"))
    user = _actor_user(actor)
    if user is not None and not user.is_superuser:
        in_department = user.department_id and user.department_id == item.department_id
        in_area = scoping.covers(user, item.area_code) and user.can("edit")
        if not (in_department or in_area):
            raise ServiceError(_("Only the responsible unit or local staff may add evidence"))
    before = audit.snapshot(item)
    item.evidence = evidence
    item.version += 1
    item.save()
    audit.record(actor=actor, action="dispatch.jointplanitem.evidence", obj=item, before=before,
                 after=audit.snapshot(item))
    return item
