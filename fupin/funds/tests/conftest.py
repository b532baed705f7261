"""State for the funds tests: the test county, credit terms, a bank with its risk fund, poor households — all built
through services."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from fupin.core.testing import make_household, make_user
from fupin.funds import services

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                             tick=False) as traveller:
        yield traveller


@pytest.fixture
def rule(db):
    return services.credit_rule_create(actor="test", valid_from=dt.date(2015, 1, 1), ceiling=50000, max_term_months=36,
                                       rate_short="4.35", rate_long="4.75", subsidy_share="1", note="测试政策")


@pytest.fixture
def bank(db):
    return services.bank_create(actor="test", code="nongshang", name="宜都农商银行")


@pytest.fixture
def fund(bank, county):
    fund = services.risk_fund_create(actor="test", bank=bank, multiple=10, bank_share="0.5")
    services.fund_deposit(actor="test", fund=fund, amount=100000, on=dt.date(2016, 1, 1))
    return fund


def poor(village, grid=None, *, head="张三", **fields):
    fields.setdefault("is_registered_poor", True)
    fields.setdefault("poverty_status", "0")
    fields.setdefault("main_cause", "9")
    return make_household(village, grid=grid, head=head, **fields)


@pytest.fixture
def hh_a(county):
    return poor(county["va1"], county["ga1"], head="张甲", poor_code="A0001")


@pytest.fixture
def hh_b(county):
    return poor(county["vb1"], county["gb1"], head="赵乙", poor_code="B0001")


@pytest.fixture
def users(county):
    return {
        "grid_a": make_user("grid_a", "grid_worker", grid=county["ga1"]),
        "village_a": make_user("village_a", "village_team", division=county["va1"]),
        "village_b": make_user("village_b", "village_team", division=county["vb1"]),
        "town_a": make_user("town_a", "town_staff", division=county["town_a"]),
        "town_b": make_user("town_b", "town_staff", division=county["town_b"]),
        "county": make_user("county_office", "city_office", division=county["county"]),
        "leader": make_user("leader", "city_leader", division=county["county"]),
    }


def borrower(hh):
    return hh.members.order_by("pk").first()


def disbursed_loan(hh, bank, *, amount=50000, term=36, on=dt.date(2016, 3, 1), actor="test"):
    loan = services.loan_apply(actor=actor, person=borrower(hh), bank=bank, amount=amount, term_months=term,
                               purpose="养殖", applied_on=on - dt.timedelta(days=20))
    for _ in range(4):
        loan = services.loan_decide(actor=actor, loan=loan, approve=True, on=on)
    return loan


D = Decimal
