"""Test factories of the dispatch app, used by the project's scoping sweep (tests/test_scoping_sweep.py)."""

from __future__ import annotations

import datetime as dt

DEPARTMENTS = [("minzheng", "民政局"), ("gongan", "公安局"), ("renshe", "人社局"), ("zhujian", "住建局"),
               ("weiji", "卫计局"), ("jiaoyu", "教育局"), ("caizheng", "财政局"), ("gongshang", "工商局"),
               ("guotu", "国土局"), ("nongye", "农业局"), ("linye", "林业局"), ("canlian", "残联"),
               ("fupinban", "扶贫办")]


def make_departments() -> dict:
    """The 13 departments of the 2016 Yidu demo (reference data), by code."""
    from fupin.org.models import Department

    return {code: Department.objects.get_or_create(code=code, defaults={
        "name": f"宜都市{name}", "short_name": name, "order": i})[0] for i, (code, name) in enumerate(DEPARTMENTS)}


def ensure_department(code: str = "fupinban", name: str = "扶贫办"):
    """A department (reference data) for tests; created when missing."""
    from fupin.org.models import Department

    department, _ = Department.objects.get_or_create(code=code, defaults={"name": f"宜都市{name}", "short_name": name})
    return department


def sweep_objects(*, village, grid, actor) -> dict:
    """A work order (with a comment), a pin, a joint plan and an answered 民情 report in this village."""
    from django.utils import timezone

    from fupin.core.testing import make_household
    from fupin.dispatch import services
    from fupin.registry.models import Household

    department = ensure_department()
    services.dispatch_setup_defaults(actor=actor)
    household = Household.objects.filter(village=village).order_by("pk").first()
    if household is None:
        household = make_household(village, grid=grid, head="工单户", members=2)
    order = services.work_order_create(actor=actor, household=household, title=f"{village.name}工单",
                                       order_type="other", department=department)
    services.work_order_comment(actor=actor, order=order, text=f"{village.name}留言")
    pin = services.household_pin(actor=actor, household=household, reason=f"{village.name}特殊困难")
    plan = services.joint_plan_create(
        actor=actor, household=household, title=f"{household}协同帮扶方案",
        items=[{"project": "危房改造", "department": department,
                "deadline": timezone.localdate() + dt.timedelta(days=30)}])
    report = services.minqing_report_create(actor=actor, channel="grid_worker", category="living",
                                            content=f"{village.name}民情", household=household)
    services.minqing_answer(actor=actor, report=report, answer="已上门答复", way="visit")
    return {"order": order, "pin": pin, "plan": plan, "report": report}
