"""挪用 and 转贷 as causes of a cancelled interest subsidy, set from a recorded finding (not by overdue alone), and an
overdue loan as a return-to-poverty risk signal."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from fupin.core.errors import ServiceError
from fupin.core.i18n import shown
from fupin.core.models import AuditEvent
from fupin.funds import services
from fupin.funds.choices import SubsidyStatus
from fupin.funds.models import Loan, Subsidy
from fupin.funds.tests.conftest import disbursed_loan

pytestmark = pytest.mark.django_db
D = Decimal


def test_misuse_stops_the_subsidy_from_the_quarter_it_was_found(rule, fund, bank, hh_a, users):
    loan = disbursed_loan(hh_a, bank, amount=20000, term=24, on=dt.date(2016, 1, 1))
    for period in ("2016Q1", "2016Q2"):
        services.subsidies_compute(actor=users["county"], period=period)
    assert set(Subsidy.objects.values_list("status", flat=True)) == {SubsidyStatus.DUE}
    for actor, kw, match in ((users["village_a"], {}, "银行或县级"), (users["county"], {"note": " "}, "依据"),
                             (users["county"], {"kind": "stolen"}, "挪用或转贷"),
                             (users["county"], {"found_on": dt.date(2015, 12, 1)}, "放款之后")):
        args = {"kind": "diverted", "found_on": dt.date(2016, 5, 10), "note": "走访发现贷款用于建房", **kw}
        with pytest.raises(ServiceError, match=match):
            services.loan_misuse_record(actor=actor, loan=loan, **args)
    assert not Loan.objects.get(pk=loan.pk).misuse
    loan = services.loan_misuse_record(actor=users["county"], loan=loan, kind="diverted",
                                       found_on=dt.date(2016, 5, 10), note="走访发现贷款用于建房")
    # stored by message id, shown in the reader's language
    assert loan.subsidy_suspended and loan.suspension_reason == 'i18n:["Loan diverted"]'
    assert shown(loan.suspension_reason, "zh-hans") == "贷款挪用" and shown(loan.suspension_reason, "en") == "Loan diverted"
    got = dict(Subsidy.objects.values_list("period", "status"))
    assert got == {"2016Q1": SubsidyStatus.DUE, "2016Q2": SubsidyStatus.SUSPENDED}  # Q1 stands
    # a recomputation keeps the stop, with the reason; the quarter before keeps its subsidy
    services.subsidies_compute(actor=users["county"], period="2016Q2")
    q2 = Subsidy.objects.get(period="2016Q2")
    assert q2.status == SubsidyStatus.SUSPENDED and q2.amount == D("0.00")
    assert shown(q2.reason, "zh-hans") == "贷款挪用,停止贴息"
    assert shown(q2.reason, "en") == "Loan diverted, subsidy stopped"
    assert services.compute_subsidies("2016Q1")[0]["status"] == SubsidyStatus.DUE
    assert AuditEvent.objects.filter(action="funds.loan.misuse").count() == 1
    with pytest.raises(ServiceError, match="已于"):
        services.loan_misuse_record(actor=users["county"], loan=loan, kind="on_lent", found_on=dt.date(2016, 6, 1),
                                    note="再次")


def test_misuse_form_on_the_loan_page(rule, fund, bank, hh_a, users):
    """The bank's or county's form: recorded through the loan's actions, shown on the page, offered once."""
    loan = disbursed_loan(hh_a, bank, amount=20000, term=24, on=dt.date(2016, 1, 1))
    client = Client()
    client.force_login(users["county"])
    assert 'data-testid="misuse-form"' in client.get(loan.get_absolute_url()).content.decode()
    r = client.post(f"{loan.get_absolute_url()}act/", {"action": "misuse", "kind": "on_lent", "on": "2016-04-02",
                                                        "note": "银行贷后检查:转借亲戚"})
    assert r.status_code == 302
    loan.refresh_from_db()
    assert loan.misuse == "on_lent" and loan.suspension_reason == 'i18n:["Loan lent on"]'
    page = client.get(loan.get_absolute_url()).content.decode()
    assert 'data-testid="misuse"' in page and 'data-testid="misuse-form"' not in page
    assert "转贷他人" in page.split('class="overdue-text"', 1)[1][:200]  # the subsidy's suspension reason
    assert "转贷他人(2016-04-02):银行贷后检查:转借亲戚" in page  # the step's note
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(loan.get_absolute_url()).content.decode()
    assert "Loan lent on" in page.split('class="overdue-text"', 1)[1][:200] and "转贷他人" not in page
    assert "Loan lent on (2016-04-02): 银行贷后检查:转借亲戚" in page


def test_an_overdue_loan_of_an_exited_household_is_a_risk_signal(rule, fund, bank, hh_a, frozen):
    from fupin.assessment.models import RiskAlert
    from fupin.assessment.services import risk_scan
    from fupin.registry.models import Household

    Household.objects.filter(pk=hh_a.pk).update(poverty_status="1")  # exited: watched for return to poverty
    loan = disbursed_loan(hh_a, bank, amount=10000, term=12, on=dt.date(2025, 1, 10))
    risk_scan(actor="test")
    assert not RiskAlert.objects.filter(signal="loan").exists()  # repaying normally: no signal
    services.mark_overdue(actor="test", notify=False)
    risk_scan(actor="test")
    alert = RiskAlert.objects.get(signal="loan")
    assert alert.household_id == hh_a.pk and loan.number in alert.detail
