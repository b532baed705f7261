"""The demo data: a year of orders in every state (some overdue and escalated, some returned), pinned households with
joint plans, 民情 mostly answered; and the command that writes it on a seeded database."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from fupin.core.services import batch_start
from fupin.core.testing import make_household, make_user
from fupin.dispatch.choices import State
from fupin.dispatch.demo import seed_dispatch
from fupin.dispatch.models import HouseholdPin, JointPlan, MinqingReport, WorkOrder, WorkOrderEvent
from fupin.inbox.models import InboxItem

NOW = dt.datetime(2016, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def poor(world):
    c = world.county
    for i in range(40):
        village, grid = (c["va1"], c["ga1"]) if i % 2 else (c["vb1"], c["gb1"])
        make_household(village, grid=grid, head=f"户主{i}", members=1, is_registered_poor=True,
                       poor_code=f"P{i:04d}", main_cause=str(1 + i % 9), poverty_status="0")
    world.users["demo_grid"] = make_user("demo_grid_worker", "grid_worker", grid=c["ga1"])
    return world


def test_seed_dispatch_writes_a_year_in_every_state(poor):
    batch = batch_start(kind="test", actor=None)
    result = seed_dispatch(rng=random.Random(7), scale=0.01, batch=batch, now=NOW)
    orders = WorkOrder.objects.all()
    assert set(orders.values_list("state", flat=True)) == set(State.values)
    assert result["work_orders"] == orders.count() >= 35
    assert all(o.batch_id == batch.pk for o in orders)
    assert orders.filter(pushed_at__lt=NOW - dt.timedelta(days=300)).exists()
    assert not orders.filter(pushed_at__gt=NOW).exists()
    assert not WorkOrderEvent.objects.filter(at__gt=NOW).exists()
    # escalated today (with inbox warnings), escalated in the past, returned
    assert orders.filter(escalation_level__gte=1, state__in=[State.PUSHED, State.ACCEPTED, State.IN_PROGRESS]).exists()
    assert InboxItem.objects.filter(kind="warning", done_at__isnull=True).exists()
    assert orders.filter(was_overdue=True, state__in=[State.CONFIRMED, State.CLOSED]).exists()
    assert WorkOrderEvent.objects.filter(kind="return").exists()
    # every order's path starts with its push, and its department is the one the rules (or a reroute) chose
    first = WorkOrderEvent.objects.filter(order__in=orders).order_by("order_id", "at", "id")
    assert {e.order_id for e in first if e.kind == "push"} == set(orders.values_list("pk", flat=True))
    # pins, joint plans, 民情
    assert HouseholdPin.objects.filter(unpinned_at__isnull=True).count() >= 3
    assert JointPlan.objects.exists()
    plan = JointPlan.objects.first()
    assert plan.items.count() >= 2 and all(i.work_order_id for i in plan.items.all())
    reports = MinqingReport.objects.all()
    assert reports.count() == result["minqing_reports"] > 0
    assert reports.filter(status="answered").count() >= reports.count() * 0.7
    # the demo grid worker has orders of their grid in every stage, and an inbox that asks them to confirm
    mine = orders.filter(sender=poor.users["demo_grid"])
    assert {State.PUSHED, State.RESOLVED, State.RETURNED, State.CLOSED} <= set(mine.values_list("state", flat=True))
    assert all(o.area_code.startswith(poor.county["ga1"].code) for o in mine)
    assert InboxItem.objects.filter(user=poor.users["demo_grid"], title__contains="请确认", done_at__isnull=True).exists()
    pushed = orders.filter(state=State.PUSHED, department__staff__isnull=False).first()
    assert InboxItem.objects.filter(dedupe_key=f"dispatch:{pushed.uuid}:dept", done_at__isnull=True).exists()
    # numbers continue after the demo's explicit ids
    from fupin.dispatch.services import work_order_create

    extra = work_order_create(actor=poor.users["grid_a"], household=poor.hh_a, title="新需求", order_type="medical")
    assert extra.pk > max(o.pk for o in orders.exclude(pk=extra.pk))


def test_seed_dispatch_demo_command(poor):
    call_command("seed_dispatch_demo", "--seed", "3")
    assert WorkOrder.objects.count() > 30
    with pytest.raises(CommandError, match="已有工单"):
        call_command("seed_dispatch_demo")
