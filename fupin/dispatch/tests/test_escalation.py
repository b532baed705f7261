"""Deadlines and escalation with frozen time: overdue orders escalate by themselves in `fupin nightly`."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fupin.core.nightly import run_refreshers
from fupin.dispatch.models import WorkOrder, WorkOrderType
from fupin.dispatch.selectors import order_figures
from fupin.dispatch.services import escalate_overdue, order_type_update, work_order_act, work_order_create
from fupin.inbox.models import InboxItem

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2016, 6, 1, 9, 0, tzinfo=TZ)


def open_warnings(user):
    return InboxItem.objects.filter(user=user, kind="warning", done_at__isnull=True)


@pytest.fixture
def order(world):
    with time_machine.travel(START, tick=False):
        return work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="大病救助",
                                 order_type="medical")


def test_deadlines_come_from_the_type(world, order):
    # 医疗救助: 2 days to accept, 15 to resolve
    assert order.accept_due_at == START + dt.timedelta(days=2)
    assert order.due_at == START + dt.timedelta(days=15)
    with time_machine.travel(START, tick=False):
        order_type_update(actor=world.users["city"], order_type=WorkOrderType.objects.get(code="medical"),
                          resolve_days=10)
        later = work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="复查", order_type="medical")
    assert later.due_at == START + dt.timedelta(days=10)


def test_unaccepted_order_escalates_to_head_and_town_then_city(world, order):
    head, town, city = world.users["weiji_head"], world.users["town_a"], world.users["city"]
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        assert escalate_overdue() == {"level_1": 0, "level_2": 0}
    with time_machine.travel(START + dt.timedelta(days=2, hours=1), tick=False):
        assert escalate_overdue() == {"level_1": 1, "level_2": 0}
        assert escalate_overdue() == {"level_1": 0, "level_2": 0}  # once per level
    order.refresh_from_db()
    assert order.escalation_level == 1 and order.was_overdue
    assert open_warnings(head).count() == 1 and open_warnings(town).count() == 1
    assert not open_warnings(city).exists()
    assert order.events.filter(kind="escalate").count() == 1
    # 5 days (the type's escalate_days) past the accept deadline: the city office
    with time_machine.travel(START + dt.timedelta(days=7, hours=2), tick=False):
        assert escalate_overdue() == {"level_1": 0, "level_2": 1}
    assert open_warnings(city).count() == 1
    assert WorkOrder.objects.get(pk=order.pk).escalation_level == 2
    # accepting settles the lateness: the warnings close
    with time_machine.travel(START + dt.timedelta(days=8), tick=False):
        work_order_act(actor=world.users["weiji"], order=order, action="accept")
    assert not open_warnings(head).exists() and not open_warnings(city).exists()


def test_accepted_order_escalates_again_when_the_resolve_deadline_passes(world, order):
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        work_order_act(actor=world.users["weiji"], order=order, action="accept")
    with time_machine.travel(START + dt.timedelta(days=14), tick=False):
        assert escalate_overdue()["level_1"] == 0
        assert order_figures(WorkOrder.objects.all())["overdue"] == 0
    with time_machine.travel(START + dt.timedelta(days=16), tick=False):
        assert escalate_overdue()["level_1"] == 1
        assert order_figures(WorkOrder.objects.all())["overdue"] == 1
    with time_machine.travel(START + dt.timedelta(days=17), tick=False):
        work_order_act(actor=world.users["weiji"], order=order, action="resolve", note="已办结")
        assert order_figures(WorkOrder.objects.all())["overdue"] == 0
    assert not open_warnings(world.users["weiji_head"]).exists()
    assert WorkOrder.objects.get(pk=order.pk).was_overdue


def test_without_town_staff_the_city_office_is_told_at_level_one(world, order):
    world.users["town_a"].is_active = False
    world.users["town_a"].save()
    with time_machine.travel(START + dt.timedelta(days=3), tick=False):
        escalate_overdue()
    assert open_warnings(world.users["city"]).count() == 1


def test_nightly_runs_the_escalation(world, order):
    with time_machine.travel(START + dt.timedelta(days=30), tick=False):
        result = run_refreshers(only=["dispatch.escalate"])
    assert result["dispatch.escalate"] == {"level_1": 1, "level_2": 1}
    assert WorkOrder.objects.get(pk=order.pk).escalation_level == 2


def test_finished_and_returned_orders_do_not_escalate(world, order):
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        work_order_act(actor=world.users["weiji"], order=order, action="return", note="不属本部门")
    with time_machine.travel(START + dt.timedelta(days=40), tick=False):
        assert escalate_overdue() == {"level_1": 0, "level_2": 0}


def test_joint_plan_deadline_is_the_orders_deadline(world):
    from fupin.dispatch.services import joint_plan_create

    with time_machine.travel(START, tick=False):
        plan = joint_plan_create(actor=world.users["team_a"], household=world.hh_a, title="王病户协同帮扶",
                                 items=[{"project": "危房改造", "department": world.depts["zhujian"],
                                         "deadline": dt.date(2016, 6, 10), "responsible_person": "张主任"}])
    order = plan.items.get().work_order
    assert order.due_at == dt.datetime(2016, 6, 10, 23, 59, 59, tzinfo=TZ)
    assert order.accept_due_at == START + dt.timedelta(days=3)  # 危房改造 gives 3 days to accept
