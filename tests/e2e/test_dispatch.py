"""In the browser: a cadre's visit turns into a work order that lands in 卫计's inbox, the department accepts it (bulk
accept) and resolves it, the grid worker confirms it with a satisfaction rating, and the household's page shows the
whole path. Screenshots go to the artifacts folder (dispatch_NN_*.png)."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone

from fupin.core.testing import make_household, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-test-12345"


@pytest.fixture
def setup(db):
    from fupin.core.testing import make_county_tree
    from fupin.dispatch.services import dispatch_setup_defaults, household_pin
    from fupin.dispatch.testing import make_departments

    county = make_county_tree()
    depts = make_departments()
    users = {
        "grid": make_user("e2e_grid", "grid_worker", grid=county["ga1"], display_name="李网格员"),
        "weiji": make_user("e2e_weiji", "dept_handler", department=depts["weiji"], display_name="卫计局张经办"),
        "head": make_user("e2e_weiji_head", "dept_handler", department=depts["weiji"], display_name="卫计局王局长"),
        "city": make_user("e2e_city", "city_office", division=county["county"], display_name="市扶贫办周"),
    }
    depts["weiji"].head = users["head"]
    depts["weiji"].save()
    dispatch_setup_defaults(actor=users["city"])
    hh = make_household(county["va1"], grid=county["ga1"], head="黄大山", members=3, is_registered_poor=True,
                        poor_code="420581100201-0007", main_cause="1", attribute="1", poverty_status="0",
                        phone="13907170000", address="甲一村三组")
    other = make_household(county["va1"], grid=county["ga1"], head="陈小花", members=2, is_registered_poor=True,
                           poor_code="420581100201-0008", main_cause="2", attribute="2", poverty_status="0")
    household_pin(actor=users["city"], household=other, reason="重度残疾,独居无人照料")
    record = None
    try:
        from fupin.assistance.services import record_create
    except ImportError:
        pass
    else:
        record, _ = record_create(actor=users["grid"], household=hh, occurred_on=timezone.localdate(),
                                  content="入户走访:户主黄大山胃癌术后在家休养,家中无其他劳力。",
                                  needs="住院费用自付部分3万元无力承担,申请大病救助")
    return {"county": county, "users": users, "hh": hh, "record": record}


class Browser:
    def __init__(self, page, live_server, artifacts_dir):
        self.page, self.base, self.dir = page, live_server.url, artifacts_dir
        self.shots = 0

    def login(self, username: str):
        self.page.context.clear_cookies()
        self.page.goto(f"{self.base}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def go(self, path: str):
        self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state()

    def shot(self, name: str):
        self.shots += 1
        self.page.screenshot(path=os.path.join(self.dir, f"dispatch_{self.shots:02d}_{name}.png"), full_page=True)

    def no_errors(self):
        errors = self.page.locator(".msg-error, .errorlist").all_inner_texts()
        assert not errors, errors


def test_push_accept_resolve_confirm(page, live_server, artifacts_dir, setup):
    from fupin.dispatch.models import WorkOrder

    b = Browser(page, live_server, artifacts_dir)
    hh, record = setup["hh"], setup["record"]

    # 1. the grid worker pushes the need raised at the visit
    b.login("e2e_grid")
    if record is not None:
        b.go(f"/dispatch/orders/new/?source=assistance.assistancerecord:{record.pk}")
        assert page.input_value("#id_title") == "住院费用自付部分3万元无力承担,申请大病救助"
    else:
        b.go(f"/dispatch/orders/new/?household={hh.poor_code}")
        page.fill("#id_title", "住院费用自付部分3万元无力承担,申请大病救助")
    assert page.input_value("#id_order_type") == "medical"
    assert "卫计局" in page.locator("#route-preview").inner_text()
    page.select_option("#id_urgency", "urgent")
    b.shot("push_form")
    page.click("#push")
    page.wait_for_load_state()
    b.no_errors()
    order = WorkOrder.objects.get(household=hh)
    assert order.department.code == "weiji" and order.state == "pushed"
    assert page.url.endswith(order.get_absolute_url())
    b.shot("pushed")

    # 2. the department handler finds it in the inbox and accepts it in bulk
    b.login("e2e_weiji")
    b.go("/dispatch/inbox/")
    row = page.locator("tr", has_text=order.number)
    assert row.count() == 1
    row.locator("input[name=order]").check()
    b.shot("inbox")
    page.click("#bulk-accept")
    page.wait_for_load_state()
    b.no_errors()
    order.refresh_from_db()
    assert order.state == "accepted" and order.handler.username == "e2e_weiji"

    # 3. ... and resolves it
    b.go(order.get_absolute_url())
    form = page.locator("form[data-action=resolve]")
    form.locator("textarea[name=note]").fill("已纳入大病保险和医疗救助,报销2.1万元,款项已打卡。")
    b.shot("resolve")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    b.no_errors()
    order.refresh_from_db()
    assert order.state == "resolved"

    # 4. the grid worker confirms on the household's behalf
    b.login("e2e_grid")
    b.go("/dispatch/outbox/")
    assert page.locator(".itemlist", has_text=order.number).count() == 1
    b.shot("outbox")
    b.go(order.get_absolute_url())
    form = page.locator("form[data-action=confirm]")
    form.locator("select[name=satisfaction]").select_option("5")
    form.locator("textarea[name=note]").fill("农户表示满意,感谢党和政府。")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    b.no_errors()
    order.refresh_from_db()
    assert order.state == "confirmed" and order.satisfaction == 5
    b.shot("confirmed")

    # 5. the household's history shows the whole path; pinned households come first in the order list
    b.go(f"/dispatch/households/{hh.poor_code}/")
    path = page.locator("details.order-path").first.inner_text()
    for text in ("已纳入大病保险", "农户表示满意"):
        assert text in path
    assert page.locator(".timeline li").count() >= 4
    b.shot("household_path")
    b.go("/dispatch/")
    b.shot("overview")
