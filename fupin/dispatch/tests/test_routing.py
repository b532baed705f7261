"""Routing: the pure engine, the default rules, priority order, place, and rules as audited data."""

import pytest

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.dispatch import routing
from fupin.dispatch.models import RoutingRule, WorkOrder
from fupin.dispatch.services import (
    dispatch_setup_defaults,
    routing_rule_create,
    routing_rule_update,
    work_order_create,
)


def test_engine_lowest_priority_wins_and_all_criteria_must_match():
    rules = [
        routing.Rule(id=3, priority=1000, department="fupinban"),
        routing.Rule(id=1, priority=10, department="weiji", order_type="medical"),
        routing.Rule(id=2, priority=5, department="special", order_type="medical", area_prefix="420581101"),
        routing.Rule(id=4, priority=100, department="jiaoyu", cause="3"),
    ]
    assert routing.route(rules, routing.Facts(order_type="medical", area_code="420581100201")).department == "weiji"
    assert routing.route(rules, routing.Facts(order_type="medical", area_code="420581101201001")).department == "special"
    assert routing.route(rules, routing.Facts(order_type="other", cause="3")).department == "jiaoyu"
    assert routing.route(rules, routing.Facts(order_type="other", cause="5")).department == "fupinban"
    assert routing.route(rules[1:2], routing.Facts(order_type="credit")) is None


def test_engine_ties_break_on_id():
    rules = [routing.Rule(id=2, priority=10, department="b"), routing.Rule(id=1, priority=10, department="a")]
    assert routing.route(rules, routing.Facts()).department == "a"


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"order_type": "medical"}, "weiji"),
    ({"order_type": "education"}, "jiaoyu"),
    ({"order_type": "housing"}, "zhujian"),
    ({"order_type": "social_security"}, "minzheng"),
    ({"order_type": "employment"}, "renshe"),
    ({"order_type": "credit"}, "fupinban"),
    ({"measure_kind": "housing"}, "zhujian"),
    ({"category": "living"}, "minzheng"),
])
def test_default_rules_route_needs_to_the_right_department(world, kwargs, expected):
    order = work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="需求", **kwargs)
    assert order.department.code == expected
    assert order.routing_rule is not None
    assert "按规则" in order.routing_note


def test_cause_routes_when_the_type_says_nothing(world):
    # 王病户 is 因病 (cause 1), 李学户 因学 (cause 3): an "other" need follows the household's main cause
    sick = work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="生活困难", order_type="other")
    student = work_order_create(actor=world.users["grid_a"], household=world.hh_a2, title="生活困难",
                                order_type="other")
    assert sick.department.code == "weiji"
    assert student.department.code == "jiaoyu"
    # with no type at all, the cause picks the type too
    inferred = work_order_create(actor=world.users["grid_a"], household=world.hh_a2, title="孩子上学")
    assert inferred.order_type.code == "education" and inferred.department.code == "jiaoyu"


def test_default_rule_catches_the_rest(world):
    order = work_order_create(actor=world.users["team_a"], village=world.county["va1"], title="道路", order_type="other")
    assert order.department.code == "fupinban"
    assert "默认规则" in order.routing_note


def test_place_rule_overrides_by_priority_and_inactive_rules_are_skipped(world):
    rule = routing_rule_create(actor=world.users["city"], department=world.depts["minzheng"], name="乙镇医疗先找民政",
                               priority=1, area_prefix="420581101")
    b = work_order_create(actor=world.users["grid_b"], household=world.hh_b, title="看病", order_type="medical")
    a = work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="看病", order_type="medical")
    assert b.department.code == "minzheng" and b.routing_rule == rule
    assert a.department.code == "weiji"  # the rule names town B: village A keeps the ordinary route
    routing_rule_update(actor=world.users["city"], rule=rule, is_active=False)
    b2 = work_order_create(actor=world.users["grid_b"], household=world.hh_b, title="再看病", order_type="medical")
    assert b2.department.code == "weiji"


def test_rule_changes_are_audited_with_before_and_after(world):
    rule = RoutingRule.objects.get(name="因学致贫→教育局")
    routing_rule_update(actor=world.users["city"], rule=rule, priority=5, department=world.depts["fupinban"])
    event = AuditEvent.objects.filter(action="dispatch.routingrule.update", object_id=str(rule.pk)).get()
    assert event.before["priority"] == 102 and event.after["priority"] == 5
    assert event.after["department_id"] == world.depts["fupinban"].pk
    rule.refresh_from_db()
    assert rule.version == 2


def test_rule_refused_without_name_changes_nothing(world):
    rule = RoutingRule.objects.get(name="因学致贫→教育局")
    with pytest.raises(ServiceError, match="规则名称不能为空"):
        routing_rule_update(actor=world.users["city"], rule=rule, name="  ")
    rule.refresh_from_db()
    assert rule.name == "因学致贫→教育局" and rule.version == 1


def test_no_rule_no_department_is_refused_in_chinese(world):
    RoutingRule.objects.all().delete()
    with pytest.raises(ServiceError, match="没有匹配的分派规则"):
        work_order_create(actor=world.users["grid_a"], household=world.hh_a, title="看病", order_type="medical")
    assert not WorkOrder.objects.exists()


def test_setup_defaults_is_idempotent_and_reports_missing_departments(world):
    assert world.setup["rules"] == 21 and world.setup["skipped"] == []
    again = dispatch_setup_defaults(actor=world.users["city"])
    assert again == {"types": 0, "rules": 0, "skipped": []}
