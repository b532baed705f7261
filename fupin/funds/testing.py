"""Objects the scoping sweep (tests/test_scoping_sweep.py) creates in each village, so every funds page and endpoint
is tried with village B's identifiers (projects, notices, payments, assets, loans, claims) by a user of village A."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.funds import services
from fupin.funds.models import Bank, CreditRule, FundSource, RiskFund
from fupin.registry.models import Household


def _credit_setup(actor):
    if not CreditRule.objects.exists():
        services.credit_rule_create(actor=actor, valid_from=dt.date(2015, 1, 1), ceiling=50000, max_term_months=36,
                                    rate_short="4.35", rate_long="4.75", subsidy_share="1")
    bank = Bank.objects.filter(code="sweep").first() or services.bank_create(actor=actor, code="sweep",
                                                                              name="扫描测试银行")
    if not RiskFund.objects.filter(bank=bank).exists():
        fund = services.risk_fund_create(actor=actor, bank=bank, multiple=10, bank_share="0.5")
        services.fund_deposit(actor=actor, fund=fund, amount=1000000, on=dt.date(2015, 1, 1))
    source = FundSource.objects.first() or services.source_create(actor=actor, year=2016, kind="central",
                                                                   name="扫描测试资金", amount=10000000)
    return bank, source


def sweep_objects(*, village, grid, actor) -> None:
    bank, source = _credit_setup(actor)
    households = list(Household.objects.filter(village=village, is_registered_poor=True))
    project = services.project_create(actor=actor, name=f"{village.name}扫描项目", kind="industry", year=2016,
                                      division=village, responsible_unit="扫描单位", mechanism="务工带动",
                                      targets=[{"indicator": "带动户数", "value": "1"}])
    services.project_advance(actor=actor, project=project, to_state="appraisal")
    for hh in households:
        services.beneficiary_add(actor=actor, project=project, household=hh, how="wages")
    services.notice_create(actor=actor, project=project, kind="project", start_date=dt.date(2016, 1, 1),
                           end_date=dt.date(2016, 1, 10))
    services.project_advance(actor=actor, project=project, to_state="notice")
    services.project_advance(actor=actor, project=project, to_state="library")
    allocation = services.allocation_create(actor=actor, source=source, project=project, amount=1000,
                                            allocated_on=dt.date(2016, 2, 1))
    payment = services.payment_create(actor=actor, allocation=allocation, amount=500, paid_on=dt.date(2016, 3, 1),
                                      payee=f"{village.name}合作社", voucher_no=f"PZ{village.code}",
                                      voucher=SimpleUploadedFile("v.txt", village.name.encode()))
    notice = services.notice_create(actor=actor, project=project, kind="fund_use", payment=payment,
                                    start_date=dt.date(2016, 3, 2), end_date=dt.date(2016, 3, 12))
    services.notice_post(actor=actor, notice=notice, posted_on=dt.date(2016, 3, 2), place=f"{village.name}公示栏",
                         photo=SimpleUploadedFile("p.jpg", village.name.encode()))
    services.project_advance(actor=actor, project=project, to_state="implementation")
    services.project_advance(actor=actor, project=project, to_state="accepted")
    asset = services.asset_create(actor=actor, project=project, name=f"{village.name}扫描资产", owner=village.name,
                                  manager="合作社", value=1000, handed_over_on=dt.date(2016, 12, 1))
    if households:
        services.asset_income_distribute(actor=actor, asset=asset, year=2016, total=100)
    for hh in households:
        person = hh.members.order_by("pk").first()
        loan = services.loan_apply(actor=actor, person=person, bank=bank, amount=10000, term_months=12,
                                   purpose="扫描贷款", applied_on=dt.date(2016, 1, 5))
        for _ in range(4):
            loan = services.loan_decide(actor=actor, loan=loan, on=dt.date(2016, 1, 10))
        services.repayment_record(actor=actor, loan=loan, paid_on=dt.date(2016, 4, 1), principal=1000, interest=100,
                                  bank_ref=f"LS{hh.pk}")
    services.mark_overdue(on=dt.date(2017, 6, 1), actor=actor, notify=False)
    services.subsidies_compute(actor=actor, period="2016Q1")
    from fupin.funds.models import Loan

    for loan in Loan.objects.filter(household__village=village, state="overdue"):
        services.claim_create(actor=actor, loan=loan, claimed_on=dt.date(2017, 6, 1))
