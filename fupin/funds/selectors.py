"""Reads of the funds app. Lists and details go through `restrict(user)`; county totals (stats, dashboards) are
aggregates with no people's data in them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, Sum

from fupin.core.fields import sealed_names
from fupin.funds import engine
from fupin.funds.choices import OUTSTANDING_STATES, LoanState, ProjectState
from fupin.funds.models import (
    Allocation,
    AssetIncome,
    CompensationClaim,
    FundSource,
    Loan,
    Payment,
    Project,
    ProjectBeneficiary,
    Repayment,
    RiskFund,
    RiskFundEntry,
)
from fupin.registry.models import Person

ZERO = Decimal(0)


def project_sources(project: Project) -> list[dict]:
    """Where a project's money came from: per source, allocated and paid (source → allocation → payment)."""
    rows = (Allocation.objects.filter(project=project).values("source_id", "source__name", "source__kind",
                                                              "source__year")
            .annotate(amount=Sum("amount")).order_by("source__year", "source_id"))
    paid = dict(Payment.objects.filter(allocation__project=project).values("allocation__source_id")
                .annotate(s=Sum("amount")).values_list("allocation__source_id", "s"))
    return [{"source_id": r["source_id"], "name": r["source__name"], "kind": r["source__kind"],
             "year": r["source__year"], "amount": r["amount"], "paid": paid.get(r["source_id"], ZERO)} for r in rows]


def source_rows(user) -> list[dict]:
    """Every source the user sees with what was allocated and paid out of it, and what is left."""
    sources = list(FundSource.objects.restrict(user).order_by("-year", "kind", "pk"))
    alloc = dict(Allocation.objects.filter(source__in=sources).values("source_id").annotate(s=Sum("amount"))
                 .values_list("source_id", "s"))
    paid = dict(Payment.objects.filter(allocation__source__in=sources).values("allocation__source_id")
                .annotate(s=Sum("amount")).values_list("allocation__source_id", "s"))
    return [{"source": s, "allocated": alloc.get(s.pk, ZERO), "paid": paid.get(s.pk, ZERO),
             "unallocated": s.amount - alloc.get(s.pk, ZERO)} for s in sources]


def fund_status(fund: RiskFund, *, on: dt.date | None = None) -> dict:
    """A risk fund's balance, its bank's outstanding loans, the lending limit and the leverage."""
    entries = fund.entries.all() if on is None else fund.entries.filter(on__lte=on)
    balance = entries.aggregate(s=Sum("amount"))["s"] or ZERO
    row = Loan.objects.filter(bank_id=fund.bank_id, state__in=OUTSTANDING_STATES).aggregate(
        a=Sum("amount"), r=Sum("principal_repaid"))
    outstanding = (row["a"] or ZERO) - (row["r"] or ZERO)
    limit = engine.lending_limit(balance, fund.multiple)
    return {"fund": fund, "bank": fund.bank, "balance": balance, "outstanding": outstanding, "limit": limit,
            "headroom": limit - outstanding,
            "leverage": round(float(outstanding / balance), 2) if balance else None}


def fund_history(fund: RiskFund) -> list[dict]:
    """Month by month: the fund's balance, the bank's loans outstanding and the leverage (from the entries, the
    disbursements and the principal repayments: three grouped reads)."""
    from django.db.models.functions import TruncMonth

    def by_month(qs, date_field, value):
        return {m.date() if isinstance(m, dt.datetime) else m: v for m, v in
                qs.annotate(m=TruncMonth(date_field)).values("m").annotate(s=Sum(value)).values_list("m", "s")}

    entries = by_month(fund.entries.all(), "on", "amount")
    lent = by_month(Loan.objects.filter(bank_id=fund.bank_id, disbursed_on__isnull=False), "disbursed_on", "amount")
    back = by_month(Repayment.objects.filter(loan__bank_id=fund.bank_id),
                    "paid_on", "principal")
    written = by_month(CompensationClaim.objects.filter(loan__bank_id=fund.bank_id), "claimed_on", "loss")
    months = sorted(set(entries) | set(lent) | set(back) | set(written))
    if not months:
        return []
    out, balance, outstanding = [], ZERO, ZERO
    month = months[0]
    last = months[-1]
    while month <= last:
        balance += entries.get(month, ZERO) or ZERO
        outstanding += (lent.get(month, ZERO) or ZERO) - (back.get(month, ZERO) or ZERO) - (written.get(month, ZERO)
                                                                                           or ZERO)
        out.append({"month": month.strftime("%Y-%m"), "balance": balance, "outstanding": outstanding,
                    "leverage": round(float(outstanding / balance), 2) if balance else None})
        month = engine.add_months(month, 1)
    return out


def loan_totals(qs=None) -> dict:
    """Loans disbursed, yuan lent and outstanding, overdue loans and borrowers, in one aggregate over the loans."""
    qs = Loan.objects.all() if qs is None else qs
    out = Q(state__in=OUTSTANDING_STATES)
    row = qs.exclude(disbursed_on__isnull=True).aggregate(
        loans=Count("pk"), lent=Sum("amount"), a=Sum("amount", filter=out), r=Sum("principal_repaid", filter=out),
        overdue=Count("pk", filter=Q(state=LoanState.OVERDUE)), people=Count("person_id", distinct=True))
    return {"loans": row["loans"], "lent_yuan": row["lent"] or ZERO,
            "outstanding_yuan": (row["a"] or ZERO) - (row["r"] or ZERO), "overdue": row["overdue"],
            "beneficiaries": row["people"]}


def funds_status() -> list[dict]:
    """Every risk fund's status with one grouped read of the loans outstanding (for pages showing them all)."""
    funds = list(RiskFund.objects.select_related("bank"))
    balances = dict(RiskFundEntry.objects.order_by().values("fund_id").annotate(s=Sum("amount"))
                    .values_list("fund_id", "s"))
    outstanding = {b: (a or ZERO) - (r or ZERO) for b, a, r in (
        Loan.objects.filter(state__in=OUTSTANDING_STATES).order_by().values("bank_id")
        .annotate(a=Sum("amount"), r=Sum("principal_repaid")).values_list("bank_id", "a", "r"))}
    rows = []
    for fund in funds:
        balance = balances.get(fund.pk) or ZERO
        owed = outstanding.get(fund.bank_id, ZERO)
        limit = engine.lending_limit(balance, fund.multiple)
        rows.append({"fund": fund, "bank": fund.bank, "balance": balance, "outstanding": owed, "limit": limit,
                     "headroom": limit - owed, "leverage": round(float(owed / balance), 2) if balance else None})
    return rows


def stats() -> dict:
    """The `fupin stats --json` keys of the funds app."""
    totals = loan_totals()
    funds = funds_status()
    balance = sum((f["balance"] for f in funds), ZERO)
    outstanding = sum((f["outstanding"] for f in funds), ZERO)
    by_state = dict(Project.objects.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {
        "funds_total": float(FundSource.objects.aggregate(s=Sum("amount"))["s"] or 0),
        "projects": sum(by_state.values()),
        "projects_by_state": {s.value: by_state.get(s.value, 0) for s in ProjectState},
        "loans": totals["loans"],
        "loans_outstanding_yuan": float(totals["outstanding_yuan"]),
        "loans_overdue": totals["overdue"],
        "loan_beneficiaries": totals["beneficiaries"],
        "risk_fund_balance_yuan": float(balance),
        "risk_fund_leverage": round(float(outstanding / balance), 2) if balance else None,
    }


def household_money(household) -> dict:
    """What the household page's panel shows: its loans (with the borrower's name; the borrower's sealed values stay
    closed), the projects benefiting it, its asset income. Three queries whatever the number of loans or projects."""
    loans = list(Loan.objects.filter(household=household).select_related("bank", "person")
                 .defer(*sealed_names(Person, "person__")).order_by("-applied_on"))
    projects = list(ProjectBeneficiary.objects.filter(household=household).select_related("project")
                    .order_by("-project__year"))
    incomes = list(AssetIncome.objects.filter(household=household).select_related("asset").order_by("-year")[:10])
    return {"loans": loans, "projects": projects, "incomes": incomes}


def dashboard_rows(ctx):
    """Leaf values by area for the dashboards (funds by use per project place, projects by state, loans, overdue)."""
    from fupin.dashboards.figures import Row

    for area, state, n in (Project.objects.order_by().values("area_code", "state").annotate(n=Count("pk"))
                           .values_list("area_code", "state", "n")):
        yield Row(area, "funds.projects", n, dim=state)
        yield Row(area, "funds.project_count", n)
    for area, kind, s in (Payment.objects.order_by().values("area_code", "allocation__project__kind")
                          .annotate(s=Sum("amount")).values_list("area_code", "allocation__project__kind", "s")):
        yield Row(area, "funds.paid_by_use", float(s or 0), dim=kind)
    for area, kind, s in (Allocation.objects.order_by().values("area_code", "source__kind")
                          .annotate(s=Sum("amount")).values_list("area_code", "source__kind", "s")):
        yield Row(area, "funds.allocated_by_source", float(s or 0), dim=kind)
    for area, n, overdue, amount, repaid in (
            Loan.objects.exclude(disbursed_on__isnull=True).order_by().values("area_code")
            .annotate(n=Count("pk"), o=Count("pk", filter=Q(state=LoanState.OVERDUE)),
                      a=Sum("amount", filter=Q(state__in=OUTSTANDING_STATES)),
                      r=Sum("principal_repaid", filter=Q(state__in=OUTSTANDING_STATES)))
            .values_list("area_code", "n", "o", "a", "r")):
        yield Row(area, "funds.loans", n)
        yield Row(area, "funds.loans_overdue", overdue)
        yield Row(area, "funds.loans_outstanding", float((amount or 0) - (repaid or 0)))
    from fupin.funds.services import county_code

    county = county_code()
    if county:
        balance = sum((f["balance"] for f in funds_status()), ZERO)
        yield Row(county, "funds.risk_fund_balance", float(balance))
        yield Row(county, "funds.sources_total", float(FundSource.objects.aggregate(s=Sum("amount"))["s"] or 0))
        for kind, s in FundSource.objects.order_by().values("kind").annotate(s=Sum("amount")).values_list("kind", "s"):
            yield Row(county, "funds.sources_by_kind", float(s or 0), dim=kind)


def overdue_household_ids(household_ids=None) -> dict[int, tuple[int, dt.date]]:
    """{household_id: (overdue loans, earliest overdue_since)} of households with an overdue loan."""
    from django.db.models import Min

    qs = Loan.objects.filter(state=LoanState.OVERDUE)
    if household_ids is not None:
        qs = qs.filter(household_id__in=list(household_ids))
    return {h: (n, since) for h, n, since in qs.order_by().values("household_id")
            .annotate(n=Count("pk"), s=Min("overdue_since")).values_list("household_id", "n", "s")}

