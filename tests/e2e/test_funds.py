"""Money in headless Chromium: a loan from application to repayment through the four approvals, another loan to
default and compensation from the risk fund, and a project from proposal to an asset, each step done by the role
whose step it is."""

import datetime as dt

import pytest
from django.test import Client

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.funds import services
from fupin.funds.models import Asset, CompensationClaim, Loan, Project
from fupin.funds.selectors import fund_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.fixture
def money_world(db):
    tree = make_county_tree()
    services.credit_rule_create(actor="test", valid_from=dt.date(2015, 1, 1), ceiling=50000, max_term_months=36,
                                rate_short="4.35", rate_long="4.75", subsidy_share="1")
    bank = services.bank_create(actor="test", code="nongshang", name="宜都农商银行")
    fund = services.risk_fund_create(actor="test", bank=bank, multiple=10, bank_share="0.5")
    services.fund_deposit(actor="test", fund=fund, amount=1000000, on=dt.date(2016, 1, 1))
    hh = make_household(tree["va1"], grid=tree["ga1"], head="张信贷", is_registered_poor=True, poor_code="A-LOAN",
                        poverty_status="0", main_cause="9")
    users = {"grid": make_user("e2e_grid", "grid_worker", grid=tree["ga1"]),
             "village": make_user("e2e_village", "village_team", division=tree["va1"]),
             "town": make_user("e2e_town", "town_staff", division=tree["town_a"]),
             "county": make_user("e2e_county", "city_office", division=tree["county"])}
    return {"tree": tree, "bank": bank, "fund": fund, "hh": hh, "users": users}


def test_loan_from_application_to_repayment(page, live_server, money_world):
    w, users = money_world, money_world["users"]
    _login(page, live_server, users["grid"])
    page.goto(f"{live_server.url}{w['hh'].get_absolute_url()}")
    page.click("[data-testid=funds-panel] a.btn")
    page.fill("#l-amount", "30000")
    page.fill("#l-term", "24")
    page.fill("#l-purpose", "柑橘种植")
    page.click("[data-testid=loan-form] button[type=submit]")
    page.wait_for_selector("[data-testid=loan-state]")
    assert page.inner_text("[data-testid=loan-state]") == "已申请"
    loan = Loan.objects.get()
    for role, shown in (("village", "村评议通过"), ("town", "乡镇审核通过"), ("county", "银行审批通过"),
                        ("county", "已放款")):
        _login(page, live_server, users[role])
        page.goto(f"{live_server.url}/funds/loans/{loan.pk}/")
        page.fill("#d-note", "同意")
        page.click("[data-testid=approve]")
        page.wait_for_selector("[data-testid=loan-state]")
        assert page.inner_text("[data-testid=loan-state]") == shown
    loan.refresh_from_db()
    assert loan.due_on == services.engine.add_months(services.today(), 24)
    assert "还款计划" in page.content()
    page.fill("#r-p", "30000")
    page.fill("#r-i", "120.50")
    page.click("[data-testid=repay-form] button[type=submit]")
    page.wait_for_selector("[data-testid=repayments]")
    assert page.inner_text("[data-testid=loan-state]") == "已结清"
    assert page.inner_text("[data-testid=outstanding]") == "0.00"
    loan.refresh_from_db()
    assert (loan.state, loan.principal_repaid) == ("repaid", 30000)


def test_loan_to_default_and_compensation(page, live_server, money_world):
    w, users = money_world, money_world["users"]
    loan = services.loan_apply(actor="test", person=w["hh"].members.order_by("pk").first(), bank=w["bank"],
                               amount=40000, term_months=12, purpose="养猪", applied_on=dt.date(2024, 1, 10))
    for _ in range(4):
        loan = services.loan_decide(actor="test", loan=loan, on=dt.date(2024, 2, 1))
    services.repayment_record(actor="test", loan=loan, paid_on=dt.date(2024, 6, 30), principal=10000, interest=400)
    services.mark_overdue(notify=False)  # what `fupin nightly` does
    _login(page, live_server, users["county"])
    page.goto(f"{live_server.url}/funds/loans/{loan.pk}/")
    assert page.inner_text("[data-testid=loan-state]") == "逾期"
    assert "贴息暂停" in page.content()
    page.click("[data-testid=claim-form] button")
    page.wait_for_selector("[data-testid=claim]")
    assert page.inner_text("[data-testid=loan-state]") == "已风险补偿"
    assert "银行承担15000.00元,风险补偿金承担15000.00元" in page.inner_text("[data-testid=claim]")
    claim = CompensationClaim.objects.get(loan=loan)
    assert (claim.loss, claim.fund_part) == (30000, 15000)
    assert fund_status(w["fund"])["balance"] == 985000
    page.goto(f"{live_server.url}/funds/risk/")
    assert "985000.00" in page.inner_text("[data-testid=fund-nongshang]")


def test_project_from_proposal_to_asset(page, live_server, money_world):
    w, users = money_world, money_world["users"]
    village = w["tree"]["va1"]
    _login(page, live_server, users["county"])
    page.goto(f"{live_server.url}/funds/projects/")
    page.fill("#p-name", "甲一村柑橘基地")
    page.select_option("#p-kind", "industry")
    page.fill("#p-division", village.code)
    page.fill("#p-unit", "甲镇人民政府")
    page.fill("#p-b-integrated", "200000")
    page.fill("#p-i-0", "带动贫困户")
    page.fill("#p-t-0", "1户")
    page.fill("#p-mech", "贫困户务工和入股分红")
    page.click("[data-testid=project-form] button[type=submit]")
    page.wait_for_selector("[data-testid=project-state]")
    project = Project.objects.get()
    assert page.inner_text("[data-testid=project-state]") == "储备"

    def advance(expected):
        page.click("[data-testid=advance]")
        page.wait_for_selector("[data-testid=project-state]")
        assert page.inner_text("[data-testid=project-state]") == expected

    advance("论证")
    page.fill("#b-code", "A-LOAN")
    page.select_option("#b-how", "dividend")
    page.click("[data-testid=beneficiary-form] button")
    page.wait_for_selector("[data-testid=beneficiaries]")
    today = services.today()
    page.fill("#n-start", (today - dt.timedelta(days=20)).isoformat())
    page.fill("#n-end", (today - dt.timedelta(days=12)).isoformat())  # 9 days: refused
    page.click("[data-testid=notice-form] button")
    assert "不足规定的10天" in page.inner_text(".messages")
    page.fill("#n-start", (today - dt.timedelta(days=20)).isoformat())
    page.fill("#n-end", (today - dt.timedelta(days=10)).isoformat())
    page.click("[data-testid=notice-form] button")
    page.wait_for_selector("[data-testid=notices]")
    advance("公示")
    advance("入库")
    advance("实施")
    advance("验收")
    page.fill("#s-name", "甲一村柑橘园")
    page.fill("#s-owner", "甲一村村民委员会")
    page.fill("#s-manager", "甲一村柑橘合作社")
    page.fill("#s-value", "200000")
    page.click("[data-testid=asset-form] button")
    page.wait_for_selector("[data-testid=project-state]")
    assert page.inner_text("[data-testid=project-state]") == "资产移交"
    asset = Asset.objects.get(project=project)
    page.goto(f"{live_server.url}/funds/assets/{asset.pk}/")
    page.fill("#i-total", "3000")
    page.click("[data-testid=income-form] button")
    page.wait_for_selector("[data-testid=incomes]")
    assert "3000.00" in page.inner_text("[data-testid=incomes]")
    notice = project.notices.get()
    response = page.request.get(f"{live_server.url}/funds/notices/{notice.pk}/pdf/")
    assert response.ok and response.body().startswith(b"%PDF")
