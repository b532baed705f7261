"""The work order's state machine: every allowed transition, and the forbidden ones refused in Chinese with the
database untouched."""

import re

import pytest

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.dispatch.choices import State
from fupin.dispatch.models import WorkOrder, WorkOrderEvent
from fupin.dispatch.services import allowed_actions, work_order_act, work_order_create, work_orders_accept
from fupin.inbox.models import InboxItem


@pytest.fixture
def order(world):
    return work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="住院费用报销",
                             order_type="medical", description="住院花费3万元")


def act(world, order, who, action, **kw):
    return work_order_act(actor=world.users[who], order=order, action=action, **kw)


def test_whole_path_push_accept_start_resolve_confirm_close(world, order):
    assert order.state == State.PUSHED and order.department.code == "weiji"
    assert order.number.startswith("GD")
    handler_inbox = InboxItem.objects.filter(user=world.users["weiji"], object_id=str(order.pk))
    assert handler_inbox.filter(done_at__isnull=True).count() == 1
    act(world, order, "weiji", "accept")
    assert not handler_inbox.filter(done_at__isnull=True).exists()
    act(world, order, "weiji", "start")
    act(world, order, "weiji", "resolve", note="已纳入大病救助,报销2.1万元")
    assert InboxItem.objects.filter(user=world.users["grid_a"], done_at__isnull=True,
                                    title__contains="请确认").count() == 1
    act(world, order, "grid_a", "confirm", satisfaction=5, note="农户满意")
    act(world, order, "grid_a", "close")
    order.refresh_from_db()
    assert order.state == State.CLOSED
    assert order.handler == world.users["weiji"]
    assert order.satisfaction == 5 and order.resolution.startswith("已纳入")
    assert order.accept_seconds is not None and order.resolve_seconds is not None
    assert list(order.events.values_list("kind", flat=True)) == ["push", "accept", "start", "resolve", "confirm",
                                                                  "close"]
    assert [e.to_state for e in order.events.all()] == ["pushed", "accepted", "in_progress", "resolved",
                                                        "confirmed", "closed"]
    actions = list(AuditEvent.objects.filter(object_type="dispatch.workorder", object_id=str(order.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["dispatch.workorder.create", "dispatch.workorder.accept", "dispatch.workorder.start",
                       "dispatch.workorder.resolve", "dispatch.workorder.confirm", "dispatch.workorder.close"]
    assert not InboxItem.objects.filter(user=world.users["grid_a"], done_at__isnull=True,
                                        object_id=str(order.pk)).exists()


def test_resolve_straight_after_accept(world, order):
    act(world, order, "weiji", "accept")
    act(world, order, "weiji", "resolve", note="电话告知政策")
    assert WorkOrder.objects.get(pk=order.pk).state == State.RESOLVED


@pytest.mark.parametrize("steps", [[], ["accept"], ["accept", "start"]])
def test_return_with_reason_from_every_department_state(world, order, steps):
    for step in steps:
        act(world, order, "weiji", step)
    act(world, order, "weiji", "return", note="属医保报销范围,请转医保")
    order.refresh_from_db()
    assert order.state == State.RETURNED and order.return_reason == "属医保报销范围,请转医保"
    assert InboxItem.objects.filter(user=world.users["grid_a"], title__contains="退回", done_at__isnull=True).exists()


def test_returned_order_is_rerouted_by_the_sender(world, order):
    act(world, order, "weiji", "return", note="非本部门职责")
    act(world, order, "grid_a", "reroute", department=world.depts["minzheng"], note="改由民政临时救助")
    order.refresh_from_db()
    assert order.state == State.PUSHED and order.department.code == "minzheng" and order.handler is None
    assert "改派" in order.routing_note
    assert InboxItem.objects.filter(user=world.users["minzheng"], object_id=str(order.pk), done_at__isnull=True).exists()
    assert not InboxItem.objects.filter(user=world.users["grid_a"], title__contains="退回", done_at__isnull=True).exists()
    # the old department no longer sees it, the new one does
    assert not WorkOrder.objects.restrict(world.users["weiji"]).filter(pk=order.pk).exists()
    assert WorkOrder.objects.restrict(world.users["minzheng"]).filter(pk=order.pk).exists()


def test_city_office_may_reroute_an_order_in_progress(world, order):
    act(world, order, "weiji", "accept")
    act(world, order, "city", "reroute", department=world.depts["minzheng"])
    assert WorkOrder.objects.get(pk=order.pk).department.code == "minzheng"


def test_reassign_within_the_department(world, order):
    act(world, order, "weiji", "accept")
    act(world, order, "weiji_head", "reassign", handler=world.users["weiji_head"], note="负责人亲自督办")
    order.refresh_from_db()
    assert order.state == State.ACCEPTED and order.handler == world.users["weiji_head"]
    assert order.events.filter(kind="reassign").count() == 1


def test_reopen_when_not_solved(world, order):
    act(world, order, "weiji", "accept")
    act(world, order, "weiji", "resolve", note="已办")
    act(world, order, "team_a", "reopen", note="报销款尚未到账")
    order.refresh_from_db()
    assert order.state == State.IN_PROGRESS and "尚未到账" in order.resolution


@pytest.mark.parametrize("closer", ["grid_a", "weiji", "city"])
def test_confirmed_order_is_closed_by_sender_department_or_city(world, order, closer):
    act(world, order, "weiji", "accept")
    act(world, order, "weiji", "resolve", note="已办")
    act(world, order, "team_a", "confirm", satisfaction=4)
    act(world, order, closer, "close")
    assert WorkOrder.objects.get(pk=order.pk).state == State.CLOSED


@pytest.mark.parametrize("returned", [False, True])
def test_sender_cancels_pushed_or_returned(world, order, returned):
    if returned:
        act(world, order, "weiji", "return", note="信息不全")
    act(world, order, "grid_a", "cancel", note="农户已自行解决")
    assert WorkOrder.objects.get(pk=order.pk).state == State.CANCELLED


def test_bulk_accept_accepts_what_it_may_and_reports_the_rest(world, order):
    other = work_order_create(actor=world.users["grid_a"], household=world.hh_a2, title="学费", order_type="education")
    result = work_orders_accept(actor=world.users["weiji"], orders=[order, other])
    assert result["accepted"] == [order.number]
    assert len(result["refused"]) == 1 and "只有承办部门" in result["refused"][0]
    assert WorkOrder.objects.get(pk=other.pk).state == State.PUSHED


def test_allowed_actions_follow_the_roles(world, order):
    assert allowed_actions(world.users["weiji"], order) == ["accept", "return"]
    assert allowed_actions(world.users["grid_a"], order) == ["cancel"]
    assert allowed_actions(world.users["jiaoyu"], order) == []
    assert "reroute" in allowed_actions(world.users["city"], order)


FORBIDDEN = [
    # (steps before, who, action, kwargs, message)
    ([], "weiji", "close", {}, "本部门尚未受理该工单,不能关闭"),
    ([], "weiji", "resolve", {"note": "已办"}, "本部门尚未受理该工单,不能办结"),
    ([], "jiaoyu", "accept", {}, "只有承办部门(卫计局)的经办人可以受理"),
    ([], "grid_a", "accept", {}, "只有承办部门"),
    ([], "city", "accept", {}, "只有承办部门"),
    ([], "weiji", "return", {"note": "  "}, "退回须填写理由"),
    (["accept"], "weiji", "resolve", {"note": ""}, "办结须填写办理结果"),
    (["accept", "resolve"], "weiji", "confirm", {"satisfaction": 5}, "只有发起方"),
    (["accept", "resolve"], "grid_b", "confirm", {"satisfaction": 5}, "只有发起方"),
    (["accept", "resolve"], "grid_a", "confirm", {}, "请选择满意度"),
    (["accept", "resolve"], "grid_a", "confirm", {"satisfaction": 9}, "请选择满意度"),
    (["accept", "resolve"], "grid_a", "close", {}, "须经发起方确认后才能关闭"),
    (["accept", "resolve"], "weiji", "close", {}, "须经发起方确认后才能关闭"),
    (["accept"], "grid_a", "reroute", {"department": "minzheng"}, "部门尚未退回该工单"),
    (["accept"], "grid_a", "cancel", {"note": "不办了"}, "不能撤销"),
    (["accept"], "weiji", "reassign", {"handler": "jiaoyu"}, "新的经办人须是卫计局的在岗人员"),
    (["accept"], "weiji_head", "accept", {}, "不能受理"),
    ([], "grid_a", "cancel", {}, "撤销须填写理由"),
    (["return"], "grid_a", "reroute", {}, "请选择新的承办部门"),
    (["return"], "grid_a", "reroute", {"department": "weiji"}, "新的承办部门与原部门相同"),
    (["accept", "resolve", "confirm", "close"], "weiji", "start", {}, "当前状态为「已关闭」"),
    ([], "auditor", "cancel", {"note": "x"}, "只有发起方"),
    ([], "cadre_a", "launch", {}, "未知的工单操作"),
]


@pytest.mark.parametrize(("steps", "who", "action", "kwargs", "message"), FORBIDDEN)
def test_forbidden_transitions_are_refused_and_change_nothing(world, order, steps, who, action, kwargs, message):
    actors = {"accept": "weiji", "resolve": "weiji", "return": "weiji", "confirm": "grid_a", "close": "grid_a"}
    for step in steps:
        extra = {"note": "理由"} if step in ("resolve", "return") else {}
        extra |= {"satisfaction": 5} if step == "confirm" else {}
        act(world, order, actors[step], step, **extra)
    kwargs = dict(kwargs)
    if "department" in kwargs:
        kwargs["department"] = world.depts[kwargs["department"]]
    if "handler" in kwargs:
        kwargs["handler"] = world.users[kwargs["handler"]]
    order.refresh_from_db()
    before = (order.state, order.version, order.department_id, order.handler_id)
    events = WorkOrderEvent.objects.count()
    audits = AuditEvent.objects.count()
    with pytest.raises(ServiceError, match=re.escape(message)):
        act(world, order, who, action, **kwargs)
    order.refresh_from_db()
    assert (order.state, order.version, order.department_id, order.handler_id) == before
    assert WorkOrderEvent.objects.count() == events
    assert AuditEvent.objects.count() == audits


def test_department_handler_cannot_push_and_outsiders_cannot_push_into_another_area(world):
    with pytest.raises(ServiceError, match="部门经办人不能发起工单"):
        work_order_create(actor=world.users["weiji"], household=world.hh_a, title="x", order_type="medical")
    with pytest.raises(ServiceError, match="不在您的管辖范围"):
        work_order_create(actor=world.users["grid_b"], household=world.hh_a, title="x", order_type="medical")
    with pytest.raises(ServiceError, match="您的角色不能发起工单"):
        work_order_create(actor=world.users["auditor"], household=world.hh_a, title="x", order_type="medical")
    assert not WorkOrder.objects.exists()
