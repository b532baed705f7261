"""Funds API (/api/v1/funds/): projects, loans and risk funds, each scoped by `restrict(request.user)`; the
approval step of a loan for clients that record decisions (the bank's system, the phone app). ID numbers are masked
unless the role may see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from fupin.core import idnumber
from fupin.core.apierrors import refusal_as
from fupin.funds import selectors, services
from fupin.funds.choices import LoanState, ProjectState
from fupin.funds.models import Loan, Project, RiskFund

router = Router(tags=["funds"])
MAX_PAGE = 500


class ProjectOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    year: int
    division: str
    area_code: str
    state: str
    responsible_unit: str
    budget: dict[str, str]
    targets: list[dict[str, str]]
    mechanism: str
    households: int


class LoanOut(Schema):
    id: int
    number: str
    household_code: str | None
    borrower: str
    borrower_id: str
    area_code: str
    bank: str
    amount: Decimal
    term_months: int
    rate: Decimal
    subsidy_share: Decimal
    use: str
    enterprise: str
    state: str
    applied_on: dt.date
    disbursed_on: dt.date | None
    due_on: dt.date | None
    principal_repaid: Decimal
    outstanding: Decimal
    subsidy_suspended: bool


class RiskFundOut(Schema):
    bank: str
    balance: Decimal
    multiple: Decimal
    limit: Decimal
    outstanding: Decimal
    leverage: float | None
    bank_share: Decimal


class LoanDecisionIn(Schema):
    approve: bool = True
    note: str = ""
    on: dt.date | None = None


class ListFilter(Schema):
    state: str | None = None
    limit: int = 100
    offset: int = 0


def _project_out(p: Project) -> dict:
    return {"id": p.pk, "code": p.code, "name": p.name, "kind": p.kind, "year": p.year, "division": p.division.name,
            "area_code": p.area_code, "state": p.state, "responsible_unit": p.responsible_unit,
            "budget": {k: str(v) for k, v in (p.budget or {}).items()}, "targets": p.targets or [],
            "mechanism": p.mechanism, "households": p.beneficiaries.count()}


def _loan_out(loan: Loan, user) -> dict:
    number = loan.person.id_number
    return {"id": loan.pk, "number": loan.number, "household_code": loan.household.poor_code,
            "borrower": loan.person.name, "borrower_id": number if user.may_view_full_id else idnumber.mask(number),
            "area_code": loan.area_code, "bank": loan.bank.name, "amount": loan.amount,
            "term_months": loan.term_months, "rate": loan.rate, "subsidy_share": loan.subsidy_share, "use": loan.use,
            "enterprise": loan.enterprise, "state": loan.state, "applied_on": loan.applied_on,
            "disbursed_on": loan.disbursed_on, "due_on": loan.due_on, "principal_repaid": loan.principal_repaid,
            "outstanding": loan.outstanding, "subsidy_suspended": loan.subsidy_suspended}


def _page(f: ListFilter) -> slice:
    if f.limit < 1 or f.limit > MAX_PAGE or f.offset < 0:
        raise HttpError(422, _("limit must be between 1 and %(max_page)s, and offset cannot be negative") % {"max_page": MAX_PAGE})
    return slice(f.offset, f.offset + f.limit)


@router.get("/projects", response=list[ProjectOut])
def list_projects(request, filters: Query[ListFilter]):
    qs = Project.objects.restrict(request.user).select_related("division").order_by("-year", "code")
    if filters.state:
        if filters.state not in ProjectState.values:
            raise HttpError(422, _("Invalid project status"))
        qs = qs.filter(state=filters.state)
    return [_project_out(p) for p in qs[_page(filters)]]


@router.get("/projects/{project_id}", response=ProjectOut)
def get_project(request, project_id: int):
    return _project_out(get_object_or_404(Project.objects.restrict(request.user).select_related("division"),
                                          pk=project_id))


@router.get("/loans", response=list[LoanOut])
def list_loans(request, filters: Query[ListFilter]):
    qs = (Loan.objects.restrict(request.user).select_related("household", "person", "bank")
          .order_by("-applied_on", "-pk"))
    if filters.state:
        if filters.state not in LoanState.values:
            raise HttpError(422, _("Invalid loan status"))
        qs = qs.filter(state=filters.state)
    return [_loan_out(loan, request.user) for loan in qs[_page(filters)]]


@router.get("/loans/{loan_id}", response=LoanOut)
def get_loan(request, loan_id: int):
    loan = get_object_or_404(Loan.objects.restrict(request.user).select_related("household", "person", "bank"),
                             pk=loan_id)
    return _loan_out(loan, request.user)


@router.post("/loans/{loan_id}/decision", response=LoanOut)
def decide_loan(request, loan_id: int, payload: LoanDecisionIn):
    loan = get_object_or_404(Loan.objects.restrict(request.user), pk=loan_id)
    with refusal_as(409):
        loan = services.loan_decide(actor=request.user, loan=loan, approve=payload.approve, note=payload.note,
                                    on=payload.on)
    loan = Loan.objects.select_related("household", "person", "bank").get(pk=loan.pk)
    return _loan_out(loan, request.user)


@router.get("/risk-funds", response=list[RiskFundOut])
def list_risk_funds(request):
    out = []
    for fund in RiskFund.objects.restrict(request.user).select_related("bank"):
        s = selectors.fund_status(fund)
        out.append({"bank": fund.bank.name, "balance": s["balance"], "multiple": fund.multiple, "limit": s["limit"],
                    "outstanding": s["outstanding"], "leverage": s["leverage"], "bank_share": fund.bank_share})
    return out
