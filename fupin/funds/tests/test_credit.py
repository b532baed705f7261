"""Micro-credit services: the approval path with roles and jurisdiction, the credit rules, the leverage cap, the
subsidy computed by hand, overdue → light + work order, compensation split and recoveries, extension and renewal."""

import datetime as dt
from decimal import Decimal

import pytest

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.funds import services
from fupin.funds.choices import LoanState, SubsidyStatus
from fupin.funds.models import Loan, LoanStep, Repayment, RiskFundEntry, Subsidy
from fupin.funds.selectors import fund_status
from fupin.funds.tests.conftest import borrower, disbursed_loan

D = Decimal


def refused(fn, match: str, model=Loan):
    """A refusal: the error says why and the table did not change."""
    before = list(model.objects.order_by("pk").values())
    with pytest.raises(ServiceError, match=match):
        fn()
    assert list(model.objects.order_by("pk").values()) == before


def test_approval_path_roles_and_jurisdiction(rule, fund, bank, hh_a, users, frozen):
    loan = services.loan_apply(actor=users["grid_a"], person=borrower(hh_a), bank=bank, amount=30000,
                               term_months=24, purpose="种植柑橘")
    assert loan.state == LoanState.APPLIED and loan.rate == D("4.750") and loan.subsidy_share == 1
    assert loan.number.startswith("XD2026")
    # the town cannot skip the village review; another village's team cannot review
    refused(lambda: services.loan_decide(actor=users["town_a"], loan=loan), "不能办理")
    refused(lambda: services.loan_decide(actor=users["village_b"], loan=loan), "不能办理")
    loan = services.loan_decide(actor=users["village_a"], loan=loan, note="村民代表评议通过")
    assert loan.state == LoanState.VILLAGE_REVIEWED
    refused(lambda: services.loan_decide(actor=users["town_b"], loan=loan), "不能办理")
    loan = services.loan_decide(actor=users["town_a"], loan=loan)
    refused(lambda: services.loan_decide(actor=users["town_a"], loan=loan), "不能办理")  # the bank's step
    loan = services.loan_decide(actor=users["county"], loan=loan)
    assert loan.state == LoanState.BANK_APPROVED
    loan = services.loan_decide(actor=users["county"], loan=loan, on=dt.date(2026, 6, 1))
    loan.refresh_from_db()
    assert (loan.state, loan.disbursed_on, loan.due_on) == (LoanState.DISBURSED, dt.date(2026, 6, 1),
                                                            dt.date(2028, 6, 1))
    assert list(LoanStep.objects.filter(loan=loan).values_list("to_state", flat=True)) == [
        "applied", "village_reviewed", "town_reviewed", "bank_approved", "disbursed"]
    assert AuditEvent.objects.filter(action__startswith="funds.loan.", object_id=str(loan.pk)).count() == 5


def test_rules_are_dated_data_and_refusals(rule, fund, bank, hh_a, county, frozen):
    refused(lambda: services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=50001,
                                        term_months=12, purpose="养殖"), "超过上限50000")
    refused(lambda: services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=10000,
                                        term_months=37, purpose="养殖"), "最长36个月")
    not_poor = borrower(__import__("fupin.core.testing", fromlist=["x"]).make_household(county["va1"], head="钱富"))
    refused(lambda: services.loan_apply(actor="test", person=not_poor, bank=bank, amount=10000, term_months=12,
                                        purpose="养殖"), "不是建档立卡贫困户")
    refused(lambda: services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=10000,
                                        term_months=12, purpose="养殖", use="enterprise"), "企业或合作社")
    # a new rule from 2026-01-01 lowers the ceiling: loans applied after it follow it, earlier ones keep theirs
    services.credit_rule_create(actor="test", valid_from=dt.date(2026, 1, 1), ceiling=30000, max_term_months=36,
                                rate_short="4.0", rate_long="4.5", subsidy_share="0.5")
    refused(lambda: services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=40000,
                                        term_months=12, purpose="养殖"), "超过上限30000")
    old = services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=40000, term_months=12,
                              purpose="养殖", applied_on=dt.date(2025, 12, 1), use="enterprise",
                              enterprise="宜都柑橘合作社")
    assert (old.rule, old.rate, old.use, old.enterprise) == (rule, D("4.350"), "enterprise", "宜都柑橘合作社")
    refused(lambda: services.loan_apply(actor="test", person=borrower(hh_a), bank=bank, amount=1000,
                                        term_months=12, purpose="再贷"), "已有未结清")


def test_leverage_cap_refuses_with_the_figures(rule, county, frozen):
    from fupin.funds.tests.conftest import poor

    bank = services.bank_create(actor="test", code="small", name="小银行")
    fund = services.risk_fund_create(actor="test", bank=bank, multiple=10, bank_share="0.5")
    services.fund_deposit(actor="test", fund=fund, amount=10000, on=dt.date(2016, 1, 1))  # lends 100,000
    loans = []
    for i in range(3):
        hh = poor(county["va1"], head=f"贷户{'一二三'[i]}", poor_code=f"L{i:03d}")
        loans.append(services.loan_apply(actor="test", person=borrower(hh), bank=bank, amount=50000,
                                         term_months=12, purpose="养殖"))
    for loan in loans[:2]:
        for _ in range(4):
            loan = services.loan_decide(actor="test", loan=loan)
    assert fund_status(fund)["outstanding"] == D(100000)
    last = services.loan_decide(actor="test", loan=services.loan_decide(actor="test", loan=loans[2]))
    with pytest.raises(ServiceError) as exc:
        services.loan_decide(actor="test", loan=last)
    assert "余额10000.00元×10.00倍=100000.00元" in exc.value.message
    assert "超出50000.00元" in exc.value.message
    assert Loan.objects.get(pk=last.pk).state == LoanState.TOWN_REVIEWED
    # a new deposit raises the limit
    services.fund_deposit(actor="test", fund=fund, amount=5000, on=dt.date(2026, 6, 1))
    assert services.loan_decide(actor="test", loan=last).state == LoanState.BANK_APPROVED


def test_subsidy_recomputed_by_hand(rule, fund, bank, hh_a, hh_b, users):
    a = disbursed_loan(hh_a, bank, amount=50000, term=36, on=dt.date(2016, 2, 15))  # 4.75 %, fully subsidised
    b = disbursed_loan(hh_b, bank, amount=20000, term=12, on=dt.date(2016, 1, 1))   # 4.35 %
    Loan.objects.filter(pk=b.pk).update(subsidy_share=D("0.5"))
    services.repayment_record(actor="test", loan=a, paid_on=dt.date(2016, 3, 1), principal=10000, interest=0)
    summary = services.subsidies_compute(actor=users["county"], period="2016Q1")
    # a: 50,000 from 15 Feb to 29 Feb (15 days), 40,000 from 1 to 31 March (31 days); 2016 is a leap year
    interest_a = (D(50000) * 15 + D(40000) * 31) * D("0.0475") / 360
    # b: 20,000 for all 91 days of Q1 2016, half subsidised
    interest_b = D(20000) * 91 * D("0.0435") / 360
    got = {s.loan_id: s for s in Subsidy.objects.filter(period="2016Q1")}
    assert got[a.pk].interest == interest_a.quantize(D("0.01")) == D("262.57")
    assert got[a.pk].amount == D("262.57")
    assert got[b.pk].interest == interest_b.quantize(D("0.01")) == D("219.92")
    assert got[b.pk].amount == D("109.96")
    assert summary["loans"] == 2 and D(summary["due"]) == D("372.53")
    pl = services.payable_list_create(actor=users["county"], period="2016Q1")
    assert pl.total == D("372.53") and pl.loans == 2
    assert set(Subsidy.objects.values_list("status", flat=True)) == {SubsidyStatus.LISTED}
    # listed subsidies are never recomputed; a second list is refused
    services.subsidies_compute(actor=users["county"], period="2016Q1")
    assert Subsidy.objects.filter(period="2016Q1").count() == 2
    refused(lambda: services.payable_list_create(actor=users["county"], period="2016Q1"), "已生成", Subsidy)
    refused(lambda: services.subsidies_compute(actor=users["town_a"], period="2016Q2"), "县级", Subsidy)


def _pair_and_visit(hh, on):
    from fupin.assistance import services as assistance

    unit = assistance.unit_create(actor="test", name="县扶贫办", kind="department")
    cadre = assistance.cadre_create(actor="test", name="王干部", unit=unit)
    assistance.pairing_assign(actor="test", household=hh, cadre=cadre, start=on - dt.timedelta(days=5))
    assistance.record_create(actor="test", household=hh, occurred_on=on, content="走访")


def test_overdue_turns_light_yellow_then_red_and_pushes_a_work_order(rule, fund, bank, hh_a, hh_b, county, frozen):
    from fupin.assistance.models import HouseholdLight
    from fupin.assistance.tracking import recompute_all
    from fupin.dispatch.models import WorkOrder
    from fupin.dispatch.services import dispatch_setup_defaults
    from fupin.dispatch.testing import make_departments

    make_departments()
    dispatch_setup_defaults(actor="test")
    late = disbursed_loan(hh_a, bank, amount=30000, term=12, on=dt.date(2025, 6, 10))  # due 2026-06-10
    fine = disbursed_loan(hh_b, bank, amount=30000, term=24, on=dt.date(2025, 6, 10))
    services.repayment_record(actor="test", loan=late, paid_on=dt.date(2026, 6, 1), principal=10000, interest=300)
    _pair_and_visit(hh_a, dt.date(2026, 6, 14))
    recompute_all()
    assert HouseholdLight.objects.get(household=hh_a).colour == "green"
    services.subsidies_compute(actor="test", period="2026Q2")

    result = services.mark_overdue()
    late.refresh_from_db()
    fine.refresh_from_db()
    assert result["newly_overdue"] == 1 and fine.state == LoanState.DISBURSED
    assert (late.state, late.overdue_since, late.subsidy_suspended) == (LoanState.OVERDUE, dt.date(2026, 6, 11), True)
    assert Subsidy.objects.get(loan=late, period="2026Q2").status == SubsidyStatus.SUSPENDED
    assert Subsidy.objects.get(loan=fine, period="2026Q2").status == SubsidyStatus.DUE
    light = HouseholdLight.objects.get(household=hh_a)
    assert light.colour == "yellow"
    assert [r["code"] for r in light.reasons] == ["loan_overdue"]
    order = WorkOrder.objects.get(source_type="funds.loan", source_id=str(late.pk))
    assert (order.order_type.code, order.department.code, order.household_id) == ("credit", "fupinban", hh_a.pk)
    # the next night pushes no second order; 30 days on the light is red
    assert services.mark_overdue()["work_orders"] == 0
    frozen.move_to(dt.datetime(2026, 7, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    from fupin.assistance import services as assistance

    assistance.record_create(actor="test", household=hh_a, occurred_on=dt.date(2026, 7, 9), content="催收走访")
    recompute_all()
    light.refresh_from_db()
    assert light.colour == "red" and light.reasons[0]["days"] == 30
    # repaid in full: the loan closes and the light clears
    services.repayment_record(actor="test", loan=late, paid_on=dt.date(2026, 7, 10), principal=20000, interest=80)
    late.refresh_from_db()
    assert late.state == LoanState.REPAID and late.was_overdue
    recompute_all()
    light.refresh_from_db()
    assert light.colour == "green"
    # a loan once overdue may not be renewed
    refused(lambda: services.loan_apply(actor="test", person=late.person, bank=bank, amount=10000, term_months=12,
                                        purpose="续贷", renewal_of=late), "逾期记录")


def test_compensation_split_and_recovery(rule, fund, bank, hh_a, users, frozen):
    loan = disbursed_loan(hh_a, bank, amount=30000, term=12, on=dt.date(2025, 1, 10))  # due 2026-01-10
    services.repayment_record(actor="test", loan=loan, paid_on=dt.date(2025, 12, 1), principal=10000, interest=500)
    services.mark_overdue(notify=False)
    too_early = dt.date(2026, 3, 1)
    refused(lambda: services.claim_create(actor=users["county"], loan=loan, claimed_on=too_early), "逾期满90天")
    refused(lambda: services.claim_create(actor=users["town_a"], loan=loan), "县级")
    claim = services.claim_create(actor=users["county"], loan=loan, claimed_on=dt.date(2026, 6, 1))
    assert (claim.loss, claim.bank_part, claim.fund_part) == (D(20000), D(10000), D(10000))
    loan.refresh_from_db()
    assert loan.state == LoanState.COMPENSATED
    assert fund_status(fund)["balance"] == D(90000)
    assert fund_status(fund)["outstanding"] == 0
    services.recovery_record(actor=users["county"], claim=claim, amount=3000, on=dt.date(2026, 6, 10))
    claim.refresh_from_db()
    assert (claim.recovered, claim.recovered_to_fund) == (D(3000), D(1500))
    assert fund_status(fund)["balance"] == D(91500)
    assert list(RiskFundEntry.objects.values_list("kind", "amount")) == [
        ("deposit", D(100000)), ("compensation", D(-10000)), ("recovery", D(1500))]
    from fupin.funds.selectors import fund_history

    history = {h["month"]: h for h in fund_history(fund)}
    assert (history["2025-01"]["balance"], history["2025-01"]["outstanding"]) == (D(100000), D(30000))
    assert history["2025-12"]["outstanding"] == D(20000) and history["2025-12"]["leverage"] == 0.2
    assert (history["2026-06"]["balance"], history["2026-06"]["outstanding"]) == (D(91500), D(0))
    refused(lambda: services.recovery_record(actor=users["county"], claim=claim, amount=17001), "超过损失",
            RiskFundEntry)


def test_extension_and_renewal(rule, fund, bank, hh_a, users, frozen):
    loan = disbursed_loan(hh_a, bank, amount=20000, term=12, on=dt.date(2025, 7, 1))  # due 2026-07-01
    refused(lambda: services.loan_extend(actor=users["county"], loan=loan, months=13, note="受灾"), "不能超过12个月")
    refused(lambda: services.loan_extend(actor=users["town_a"], loan=loan, months=6, note="受灾"), "银行")
    loan = services.loan_extend(actor=users["county"], loan=loan, months=6, note="柑橘受冻")
    assert (loan.due_on, loan.extensions) == (dt.date(2027, 1, 1), 1)
    refused(lambda: services.loan_extend(actor=users["county"], loan=loan, months=1, note="再展"), "上限")
    services.repayment_record(actor="test", loan=loan, paid_on=dt.date(2026, 6, 1), principal=20000, interest=100)
    loan.refresh_from_db()
    assert loan.state == LoanState.REPAID
    renewal = services.loan_apply(actor="test", person=loan.person, bank=bank, amount=20000, term_months=12,
                                  purpose="续贷", renewal_of=loan)
    assert renewal.renewal_of == loan
    refused(lambda: services.loan_apply(actor="test", person=loan.person, bank=bank, amount=20000, term_months=12,
                                        purpose="续贷", renewal_of=loan), "已办理过续贷")
    assert Repayment.objects.count() == 1
