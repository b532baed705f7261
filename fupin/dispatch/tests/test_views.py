"""Pages: every page renders for area users and department handlers, writes go through the services, a department
handler sees only their department's orders, pinned households come first, and lists stay within a query budget."""

import datetime as dt

import pytest
from django.utils import timezone

from fupin.dispatch.choices import State
from fupin.dispatch.models import HouseholdPin, JointPlan, MinqingReport, WorkOrder
from fupin.dispatch.services import (
    household_pin,
    minqing_answer,
    minqing_report_create,
    work_order_act,
    work_order_create,
)


@pytest.fixture
def data(world):
    u = world.users
    medical = work_order_create(actor=u["grid_a"], household=world.hh_a, title="住院报销", order_type="medical")
    school = work_order_create(actor=u["grid_a"], household=world.hh_a2, title="学费减免", order_type="education")
    b_order = work_order_create(actor=u["grid_b"], household=world.hh_b, title="乙村看病", order_type="medical")
    report = minqing_report_create(actor=u["grid_a"], channel="household", category="medical",
                                   content="看病贵", household=world.hh_a)
    household_pin(actor=u["team_a"], household=world.hh_a, reason="重病无劳力")
    return {"medical": medical, "school": school, "b_order": b_order, "report": report}


def login(client, user):
    client.force_login(user)
    return client


PAGES = ["/dispatch/", "/dispatch/inbox/", "/dispatch/outbox/", "/dispatch/orders/", "/dispatch/pins/",
         "/dispatch/pins/?show=all", "/dispatch/plans/", "/dispatch/minqing/", "/dispatch/minqing/analysis/",
         "/dispatch/minqing/analysis/print/", "/dispatch/figures/", "/dispatch/rules/",
         "/dispatch/orders/new/?household=A-001", "/dispatch/minqing/new/", "/dispatch/households/A-001/",
         "/dispatch/plans/new/?household=A-001", "/dispatch/rules/new/", "/dispatch/types/medical/"]


@pytest.mark.parametrize("who", ["city", "team_a", "grid_a"])
def test_pages_render_for_area_users(client, world, data, who):
    login(client, world.users[who])
    for url in PAGES:
        response = client.get(url, follow=True)
        if url.startswith(("/dispatch/rules/new", "/dispatch/types/")) and who != "city":
            assert response.status_code == 403, url
            continue
        assert response.status_code == 200, url
    for obj in (data["medical"], data["report"]):
        assert client.get(obj.get_absolute_url()).status_code == 200


def test_department_handler_sees_only_their_departments_orders(client, world, data):
    login(client, world.users["weiji"])
    body = client.get("/dispatch/inbox/").content.decode()
    assert "住院报销" in body and "乙村看病" in body
    assert "学费减免" not in body
    assert client.get(data["school"].get_absolute_url()).status_code == 404
    assert client.get(data["medical"].get_absolute_url()).status_code == 200
    assert client.get("/dispatch/").status_code == 302  # a department's home is its inbox
    assert set(WorkOrder.objects.restrict(world.users["weiji"])) == {data["medical"], data["b_order"]}
    assert set(WorkOrder.objects.restrict(world.users["jiaoyu"])) == {data["school"]}
    # households and 民情 are area data: a department sees none of them directly
    assert client.get("/dispatch/households/A-001/").status_code == 404
    assert client.get(data["report"].get_absolute_url()).status_code == 404
    api = client.get("/api/v1/dispatch/orders").json()
    assert {o["title"] for o in api} == {"住院报销", "乙村看病"}


def test_village_user_sees_nothing_of_another_village(client, world, data):
    login(client, world.users["team_a"])
    body = client.get("/dispatch/orders/").content.decode()
    assert "住院报销" in body and "乙村看病" not in body
    assert client.get(data["b_order"].get_absolute_url()).status_code == 404
    assert client.get("/dispatch/households/B-001/").status_code == 404
    assert client.get(f"/api/v1/dispatch/orders/{data['b_order'].uuid}").status_code == 404
    titles = {o["title"] for o in client.get("/api/v1/dispatch/orders").json()}
    assert titles == {"住院报销", "学费减免"}


def test_bulk_accept_from_the_inbox(client, world, data):
    login(client, world.users["weiji"])
    response = client.post("/dispatch/inbox/accept/", {"order": [str(data["medical"].uuid), str(data["b_order"].uuid),
                                                                 str(data["school"].uuid)]})
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=data["medical"].pk).state == State.ACCEPTED
    assert WorkOrder.objects.get(pk=data["b_order"].pk).state == State.ACCEPTED
    assert WorkOrder.objects.get(pk=data["school"].pk).state == State.PUSHED  # not visible, not touched


def test_push_accept_resolve_confirm_through_the_pages(client, world):
    login(client, world.users["grid_a"])
    response = client.post("/dispatch/orders/new/?household=A-001", {
        "order_type": "housing", "title": "房屋漏雨", "description": "D级危房", "urgency": "urgent", "department": ""})
    order = WorkOrder.objects.get(title="房屋漏雨")
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert order.department.code == "zhujian"
    login(client, world.users["zhujian"])
    client.post(f"/dispatch/orders/{order.uuid}/act/", {"action": "accept"})
    client.post(f"/dispatch/orders/{order.uuid}/act/", {"action": "resolve", "note": ""})  # refused: no result
    assert WorkOrder.objects.get(pk=order.pk).state == State.ACCEPTED
    client.post(f"/dispatch/orders/{order.uuid}/act/", {"action": "resolve", "note": "纳入危房改造,已完工"})
    login(client, world.users["grid_a"])
    client.post(f"/dispatch/orders/{order.uuid}/act/", {"action": "confirm", "satisfaction": "5"})
    order.refresh_from_db()
    assert order.state == State.CONFIRMED and order.satisfaction == 5
    page = client.get("/dispatch/households/A-001/").content.decode()
    assert order.number in page and "纳入危房改造,已完工" in page  # the household's history shows the path
    assert page.count('class="k-') >= 4
    assert list(order.events.values_list("kind", flat=True)) == ["push", "accept", "resolve", "confirm"]


def test_refusals_are_shown_in_chinese(client, world, data):
    login(client, world.users["weiji"])
    response = client.post(f"/dispatch/orders/{data['medical'].uuid}/act/", {"action": "close"}, follow=True)
    assert "本部门尚未受理该工单,不能关闭" in response.content.decode()


def test_pin_and_unpin_need_reasons(client, world, data):
    login(client, world.users["team_a"])
    client.post("/dispatch/pins/new/", {"household": "A-002", "reason": ""})
    assert not HouseholdPin.objects.filter(household=world.hh_a2).exists()
    client.post("/dispatch/pins/new/", {"household": "A-002", "reason": "孤寡老人"})
    pin = HouseholdPin.objects.get(household=world.hh_a2)
    client.post(f"/dispatch/pins/{pin.uuid}/unpin/", {"reason": ""})
    assert HouseholdPin.objects.get(pk=pin.pk).unpinned_at is None
    client.post(f"/dispatch/pins/{pin.uuid}/unpin/", {"reason": "已纳入特困供养"})
    assert HouseholdPin.objects.get(pk=pin.pk).unpinned_at is not None


def test_pinned_households_first_in_the_order_list(client, world, data):
    login(client, world.users["city"])
    body = client.get("/dispatch/orders/").content.decode()
    assert body.count('class="pinned') == 1
    # 住院报销 (the pinned 王病户) was pushed first, yet comes before the later orders
    assert body.index("住院报销") < body.index("乙村看病") < body.index("学费减免")
    login(client, world.users["weiji"])
    inbox = client.get("/dispatch/inbox/").content.decode()
    assert inbox.index("住院报销") < inbox.index("乙村看病")
    api = [o["title"] for o in client.get("/api/v1/dispatch/orders").json()]
    assert api == ["住院报销", "乙村看病"]
    login(client, world.users["team_a"])
    minqing_report_create(actor=world.users["team_a"], channel="village_team", category="housing",
                          content="李学户房屋漏雨", household=world.hh_a2)
    reports = client.get("/dispatch/minqing/").content.decode()
    assert reports.index("看病贵") < reports.index("李学户房屋漏雨")
    from fupin.dispatch.selectors import pinned_first
    from fupin.registry.models import Household

    ordered = list(pinned_first(Household.objects.order_by("-head_name")))
    assert ordered[0] == world.hh_a and ordered[0].is_pinned


def test_joint_plan_made_on_the_page(client, world, data):
    login(client, world.users["team_a"])
    deadline = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    response = client.post("/dispatch/plans/new/?household=A-001", {
        "title": "王病户协同帮扶方案", "note": "",
        "i0-project": "大病救助", "i0-department": "weiji", "i0-responsible_person": "刘医生", "i0-deadline": deadline,
        "i1-project": "危房改造", "i1-department": "zhujian", "i1-responsible_person": "", "i1-deadline": deadline,
    })
    plan = JointPlan.objects.get()
    assert response.status_code == 302
    assert [i.work_order.department.code for i in plan.items.all()] == ["weiji", "zhujian"]
    login(client, world.users["zhujian"])
    assert client.get(plan.get_absolute_url()).status_code == 200  # a responsible unit sees its plan


def test_minqing_answer_and_spawn(client, world, data):
    login(client, world.users["grid_a"])
    report = data["report"]
    client.post(f"/dispatch/minqing/{report.uuid}/order/", {"order_type": "", "department": ""})
    order = WorkOrder.objects.get(source_type="dispatch.minqingreport", source_id=str(report.pk))
    assert order.department.code == "weiji" and order.origin == "minqing"
    assert MinqingReport.objects.get(pk=report.pk).status == "in_hand"
    client.post(f"/dispatch/minqing/{report.uuid}/answer/", {"answer": "已联系卫计局办理大病救助", "way": "visit"})
    assert MinqingReport.objects.get(pk=report.pk).status == "answered"


def test_analysis_exports(client, world, data):
    minqing_answer(actor=world.users["grid_a"], report=data["report"], answer="已答复", way="phone")
    login(client, world.users["city"])
    xlsx = client.get("/dispatch/minqing/analysis.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = client.get("/dispatch/minqing/analysis.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    page = client.get("/dispatch/minqing/analysis/print/").content.decode()
    assert "民情分析报告" in page and "医疗" in page


def test_attachment_upload_and_scoped_download(client, world, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, world.users["weiji"])
    client.post(f"/dispatch/orders/{data['medical'].uuid}/attach/",
                {"file": SimpleUploadedFile("发票.txt", b"invoice"), "note": "票据"})
    att = data["medical"].attachments.get()
    assert client.get(f"/dispatch/attachments/{att.uuid}/").status_code == 200
    login(client, world.users["grid_b"])
    assert client.get(f"/dispatch/attachments/{att.uuid}/").status_code == 404


def test_order_list_query_budget(client, world, data, django_assert_max_num_queries):
    for i in range(30):
        order = work_order_create(actor=world.users["grid_a"], household=world.hh_a, title=f"需求{i}",
                                  order_type="medical")
        if i % 3 == 0:
            work_order_act(actor=world.users["weiji"], order=order, action="accept")
    login(client, world.users["weiji"])
    client.get("/dispatch/inbox/")
    with django_assert_max_num_queries(14):
        assert client.get("/dispatch/inbox/?state=all").status_code == 200
    login(client, world.users["city"])
    client.get("/dispatch/orders/")
    with django_assert_max_num_queries(14):
        assert client.get("/dispatch/orders/").status_code == 200
