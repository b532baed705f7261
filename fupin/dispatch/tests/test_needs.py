"""Needs from other capabilities become routed work orders: a visit record, a plan measure, a 民情 report, a
comparison finding; a double push of the same need is refused."""

import pytest
from django.utils import timezone

from fupin.core.errors import ServiceError
from fupin.dispatch.choices import Origin
from fupin.dispatch.models import WorkOrder
from fupin.dispatch.services import (
    minqing_report_create,
    minqing_spawn_order,
    need_facts,
    work_order_from_need,
)

assistance = pytest.importorskip("fupin.assistance.services")


def test_a_cadres_visit_turns_into_a_work_order_for_the_right_department(client, world):
    record, _ = assistance.record_create(actor=world.users["grid_a"], household=world.hh_a,
                                         occurred_on=timezone.localdate(), content="入户走访,户主住院",
                                         needs="住院费用报销困难")
    order = work_order_from_need(actor=world.users["grid_a"], source=record)
    assert order.origin == Origin.RECORD and order.source_type == "assistance.assistancerecord"
    assert order.title == "住院费用报销困难" and "入户走访" in order.description
    assert order.department.code == "weiji"  # 王病户 is 因病: the cause picks 医疗救助 → 卫计
    with pytest.raises(ServiceError, match="已有未办结"):
        work_order_from_need(actor=world.users["grid_a"], source=record)
    # the order page of the pushing user links back to the visit
    client.force_login(world.users["grid_a"])
    response = client.get(f"/dispatch/orders/new/?source=assistance.assistancerecord:{record.pk}")
    assert response.status_code == 200 and "住院费用报销困难" in response.content.decode()


def test_a_plan_measure_routes_by_its_kind(world):
    measure = assistance.measure_add(actor=world.users["team_a"], household=world.hh_a, kind="housing",
                                     title="D级危房改造", responsible_name="王主任")
    order = work_order_from_need(actor=world.users["team_a"], source=measure)
    assert order.order_type.code == "housing" and order.department.code == "zhujian"
    assert order.origin == Origin.MEASURE and order.source_id == str(measure.pk)


def test_a_minqing_report_routes_by_its_category(world):
    report = minqing_report_create(actor=world.users["grid_a"], channel="household", category="employment",
                                   content="想就近务工", household=world.hh_a)
    order = minqing_spawn_order(actor=world.users["grid_a"], report=report)
    assert order.department.code == "renshe" and order.origin == Origin.MINQING


def test_a_finding_goes_to_the_department_of_its_source(world):
    from fupin.eligibility.models import Finding

    finding = Finding(household=world.hh_a, rule_code="vehicle", rule_name="拥有非生产用车", source_code="vehicle",
                      evidence={"号牌号码": "鄂E12345"})
    facts = need_facts(finding)
    assert facts["department_code"] == "gongan" and facts["order_type"] == "verify"
    assert facts["origin"] == Origin.FINDING and "拥有非生产用车" in facts["title"]


def test_a_need_outside_the_users_area_is_refused(world):
    record, _ = assistance.record_create(actor=world.users["grid_b"], household=world.hh_b,
                                         occurred_on=timezone.localdate(), content="走访", needs="缺资金")
    with pytest.raises(ServiceError, match="不在您的管辖范围"):
        work_order_from_need(actor=world.users["grid_a"], source=record)
    assert not WorkOrder.objects.exists()
