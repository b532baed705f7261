"""Pages, API, files and the hooks into other capabilities: scoping of every route, ID masking, notices printing
Chinese text, the household panel and card, map attribute, dashboard figures and `fupin stats` keys."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from fupin.core import idnumber
from fupin.core.testing import make_user
from fupin.funds import services
from fupin.funds.models import Loan, Notice, Payment, Project
from fupin.funds.tests.conftest import borrower, disbursed_loan


@pytest.fixture
def world(rule, fund, bank, hh_a, hh_b, users, county, frozen):
    """A loan, a project with a paid voucher and a posted notice, and an asset in each of villages A and B."""
    out = {}
    source = services.source_create(actor="test", year=2026, kind="county", name="县级扶贫资金", amount=100000)
    for key, hh, village in (("a", hh_a, county["va1"]), ("b", hh_b, county["vb1"])):
        loan = disbursed_loan(hh, bank, amount=20000, term=12, on=dt.date(2025, 6, 1))  # due 2026-06-01: overdue
        project = services.project_create(actor="test", name=f"{village.name}产业项目", kind="industry", year=2026,
                                          division=village, responsible_unit="镇政府", mechanism="务工",
                                          targets=[{"indicator": "带动", "value": "1户"}])
        services.project_advance(actor="test", project=project, to_state="appraisal")
        services.beneficiary_add(actor="test", project=project, household=hh, how="wages")
        notice = services.notice_create(actor="test", project=project, kind="project", start_date=dt.date(2026, 5, 1),
                                        end_date=dt.date(2026, 5, 10))
        services.notice_post(actor="test", notice=notice, posted_on=dt.date(2026, 5, 1), place="公示栏",
                             photo=SimpleUploadedFile("board.jpg", f"photo-{key}".encode()))
        for state in ("notice", "library"):
            services.project_advance(actor="test", project=project, to_state=state)
        allocation = services.allocation_create(actor="test", source=source, project=project, amount=1000,
                                                allocated_on=dt.date(2026, 5, 20))
        payment = services.payment_create(actor="test", allocation=allocation, amount=500, paid_on=dt.date(2026, 6, 1),
                                          payee=f"{village.name}合作社",
                                          voucher=SimpleUploadedFile("v.txt", f"voucher-{key}".encode()))
        for state in ("implementation", "accepted"):
            services.project_advance(actor="test", project=project, to_state=state)
        asset = services.asset_create(actor="test", project=project, name=f"{village.name}资产", owner="村委会",
                                      manager="合作社", value=1000, handed_over_on=dt.date(2026, 6, 10))
        out[key] = {"loan": loan, "project": project, "notice": notice, "payment": payment, "asset": asset, "hh": hh}
    services.mark_overdue(notify=False)
    return out


def _routes(w):
    return [f"/funds/loans/{w['loan'].pk}/", f"/funds/projects/{w['project'].pk}/", f"/funds/notices/{w['notice'].pk}/",
            f"/funds/notices/{w['notice'].pk}/pdf/", f"/funds/notices/{w['notice'].pk}/xlsx/",
            f"/funds/files/voucher/{w['payment'].pk}/", f"/funds/files/photo/{w['notice'].pk}/",
            f"/funds/assets/{w['asset'].pk}/", f"/funds/households/{w['hh'].uuid}/loan/",
            f"/api/v1/funds/loans/{w['loan'].pk}", f"/api/v1/funds/projects/{w['project'].pk}"]


def test_every_detail_route_is_scoped(client, world, users):
    client.force_login(users["village_a"])
    for url in _routes(world["a"]):
        assert client.get(url).status_code == 200, url
    for url in _routes(world["b"]):
        assert client.get(url).status_code == 404, url
    for url in ("/funds/", "/funds/projects/", "/funds/loans/", "/funds/assets/", "/funds/sources/", "/funds/risk/",
                "/funds/subsidies/", "/api/v1/funds/loans", "/api/v1/funds/projects", "/api/v1/funds/risk-funds"):
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, url
        assert "乙一村" not in body and "赵乙" not in body and world["b"]["loan"].number not in body, url
    assert world["a"]["loan"].number in client.get("/funds/loans/").content.decode()
    assert len(client.get("/api/v1/funds/loans").json()) == 1
    # writes on another village's objects are 404 too, and change nothing
    before = Loan.objects.get(pk=world["b"]["loan"].pk).version
    assert client.post(f"/funds/loans/{world['b']['loan'].pk}/act/", {"action": "claim"}).status_code == 404
    assert client.post(f"/funds/projects/{world['b']['project'].pk}/act/", {"action": "review"}).status_code == 404
    assert Loan.objects.get(pk=world["b"]["loan"].pk).version == before


def test_files_are_served_only_through_the_scoped_view(client, world, users):
    client.force_login(users["village_a"])
    response = client.get(f"/funds/files/voucher/{world['a']['payment'].pk}/")
    assert b"".join(response.streaming_content) == b"voucher-a"
    client.force_login(users["county"])
    assert client.get(f"/funds/files/photo/{world['b']['notice'].pk}/").status_code == 200


def test_id_numbers_masked_for_roles_without_the_capability(client, world, users, county):
    loan = world["a"]["loan"]
    full = loan.person.id_number
    masked = idnumber.mask(full)
    client.force_login(users["leader"])  # city leader: views, may not see full IDs
    for url in (f"/funds/loans/{loan.pk}/", f"/api/v1/funds/loans/{loan.pk}"):
        body = client.get(url).content.decode()
        assert full not in body and masked in body, url
    client.force_login(users["county"])
    assert full in client.get(f"/funds/loans/{loan.pk}/").content.decode()


def test_notices_print_chinese_and_never_a_full_id(client, world, users):
    notice = world["a"]["notice"]
    client.force_login(users["county"])
    pdf = client.get(f"/funds/notices/{notice.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"/FontFile2" in pdf.content or b"/FontFile" in pdf.content  # the Chinese font is embedded
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(client.get(f"/funds/notices/{notice.pk}/xlsx/").content))
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    text = "\n".join(cells)
    full = world["a"]["hh"].members.get(relationship="户主").id_number
    assert "项目入库公示" in text and "甲一村产业项目" in text and "张甲" in text
    assert full not in text and idnumber.mask(full) in text
    assert full not in notice.text


def test_web_forms_drive_the_loan_path(client, rule, fund, bank, hh_a, users, frozen):
    client.force_login(users["grid_a"])
    response = client.post(f"/funds/households/{hh_a.uuid}/loan/", {
        "person": borrower(hh_a).pk, "bank": bank.pk, "amount": "60000", "term": "12", "purpose": "养殖"})
    assert response.status_code == 200 and "超过上限50000" in response.content.decode()
    assert not Loan.objects.exists()
    response = client.post(f"/funds/households/{hh_a.uuid}/loan/", {
        "person": borrower(hh_a).pk, "bank": bank.pk, "amount": "20000", "term": "12", "purpose": "养殖"})
    loan = Loan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/funds/loans/{loan.pk}/"
    for user in ("village_a", "town_a", "county"):
        client.force_login(users[user])
        client.post(f"/funds/loans/{loan.pk}/act/", {"action": "approve", "note": "同意"})
    client.post(f"/funds/loans/{loan.pk}/act/", {"action": "approve", "on": "2026-06-01"})
    loan.refresh_from_db()
    assert (loan.state, loan.disbursed_on) == ("disbursed", dt.date(2026, 6, 1))
    client.post(f"/funds/loans/{loan.pk}/act/", {"action": "repay", "on": "2026-06-10", "principal": "20000",
                                                 "interest": "24"})
    loan.refresh_from_db()
    assert loan.state == "repaid" and loan.principal_repaid == Decimal(20000)


def test_household_panel_card_map_dashboard_and_stats(client, world, users):
    from fupin.registry import panels

    hh = world["a"]["hh"]
    request = RequestFactory().get("/")
    request.user = users["village_a"]
    html = {p["key"]: p["html"] for p in panels.render_panels(request, hh)}["funds"]
    assert world["a"]["loan"].number in html and "甲一村产业项目" in html
    from fupin.funds import integration

    credit = integration.card_credit(hh)
    assert credit["title"] == "扶贫小额信贷" and "逾期" in credit["rows"][0][1]
    assert integration.card_projects(hh)["rows"][0][0] == "甲一村产业项目"
    from fupin.maps.layers import attribute
    from fupin.registry.models import Household

    loan_attr = attribute("loan")
    assert set(loan_attr.filter(Household.objects.all(), ["overdue"]).values_list("pk", flat=True)) == {
        world["a"]["hh"].pk, world["b"]["hh"].pk}
    from fupin.dashboards.models import FigureSnapshot
    from fupin.dashboards.services import refresh_snapshots

    refresh_snapshots()
    county = FigureSnapshot.objects.filter(area_code__startswith="420581000000")
    figures = {f.key: f for f in FigureSnapshot.objects.filter(level="county")} or {f.key: f for f in county}
    assert figures["funds.loans"].value == 2 and figures["funds.loans_overdue"].value == 2
    assert figures["funds.overdue_rate"].value == 100.0
    assert figures["funds.risk_fund_balance"].value == 100000
    assert figures["funds.leverage"].value == 0.4
    assert figures["funds.projects"].breakdown.get("handed_over") == 2
    client.force_login(users["county"])
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("stats", "--json", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["loans"] == 2 and stats["loans_overdue"] == 2 and stats["loan_beneficiaries"] == 2
    assert stats["loans_outstanding_yuan"] == 40000.0 and stats["risk_fund_balance_yuan"] == 100000.0
    assert stats["risk_fund_leverage"] == 0.4 and stats["projects_by_state"]["handed_over"] == 2
    assert stats["funds_total"] == 100000.0


def test_department_handler_of_the_bank_decides_only_that_banks_loans(client, rule, fund, bank, hh_a, frozen):
    from fupin.dispatch.testing import make_departments

    depts = make_departments()
    bank.department = depts["minzheng"]
    bank.save()
    clerk = make_user("bank_clerk", "dept_handler", department=depts["minzheng"])
    loan = services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=10000, term_months=12,
                               purpose="养殖")
    loan = services.loan_decide(actor="test", loan=services.loan_decide(actor="test", loan=loan))
    client.force_login(clerk)
    assert client.get(f"/funds/loans/{loan.pk}/").status_code == 200
    response = client.post(f"/api/v1/funds/loans/{loan.pk}/decision", data={"approve": True, "note": "审批通过"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "bank_approved"
    assert Project.objects.count() == 0 and Notice.objects.count() == 0 and Payment.objects.count() == 0


def test_payable_list_for_the_finance_bureau(client, world, users):
    from io import BytesIO

    from openpyxl import load_workbook

    services.subsidies_compute(actor=users["county"], period="2026Q1")
    pl = services.payable_list_create(actor=users["county"], period="2026Q1")
    loan = world["a"]["loan"]
    full = loan.person.id_number
    for user, shown in ((users["county"], full), (users["leader"], idnumber.mask(full))):
        client.force_login(user)
        response = client.get("/funds/subsidies/2026Q1/xlsx/")
        rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
        assert rows[0][0] == "扶贫小额信贷贴息资金拨付清单(2026Q1)"
        assert any(r[1] == loan.number and r[5] == shown for r in rows)
        assert rows[-1][0] == "合计" and Decimal(str(rows[-1][-1])) == pl.total
    client.force_login(users["village_a"])
    assert client.get("/funds/subsidies/2026Q1/xlsx/").status_code == 404
