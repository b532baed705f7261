"""What the funds app adds to the other capabilities (registered by `fupin.funds.hooks`):

- the registry's household page: a panel with the household's loans, projects and asset income;
- the 明白卡: 小额信贷 and 项目带动 sections;
- the tracking lights: an overdue loan turns the light yellow, then
  red after FUPIN_FUNDS["red_after_days"] days;
- dispatch (work_order_from_need): an overdue loan becomes a 小额信贷 work order;
- the battle map: households coloured by loan (overdue / repaying / none), choropleths of projects and overdue loans;
- the dashboards: funds by source and use, projects by state, loans, overdue rate, the risk fund's leverage.
"""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.funds import conf

# Household page and card -----------------------------------------------------------------------------------------


def panel_context(request, household) -> dict | None:
    from fupin.funds.selectors import household_money

    data = household_money(household)
    if not (data["loans"] or data["projects"] or data["incomes"] or household.is_registered_poor):
        return None
    return {"hh": household, "panel_title": _("Funds, projects and credit"), **data}


def card_credit(household) -> dict | None:
    """小额信贷: each loan with bank, amount, term, state and the subsidy."""
    from fupin.funds.models import Loan

    loans = list(Loan.objects.filter(household=household).select_related("bank", "person").order_by("-applied_on")[:5])
    if not loans:
        return None
    with translation.override("zh-hans"):
        rows = [(f"{loan.person.name} {loan.bank.name}",
                 f"{loan.amount}元,{loan.term_months}个月,年利率{loan.rate}%,贴息{int(loan.subsidy_share * 100)}%,"
                 f"{loan.get_state_display()}" + (f",到期{loan.due_on}" if loan.due_on else "")
                 + (",户贷企用:" + loan.enterprise if loan.enterprise else "")) for loan in loans]
    return {"key": "credit", "title": "扶贫小额信贷", "rows": rows}


def card_projects(household) -> dict | None:
    """项目带动: the projects benefiting the household and its asset income."""
    from fupin.funds.models import AssetIncome, ProjectBeneficiary

    links = list(ProjectBeneficiary.objects.filter(household=household).select_related("project")[:8])
    incomes = list(AssetIncome.objects.filter(household=household).select_related("asset").order_by("-year")[:4])
    if not links and not incomes:
        return None
    with translation.override("zh-hans"):
        rows = [(b.project.name, f"{b.get_how_display()};{b.project.get_state_display()}") for b in links]
        rows += [(f"{i.year}年资产收益", f"{i.asset.name} {i.amount}元") for i in incomes]
    return {"key": "projects", "title": "项目带动与资产收益", "rows": rows}


# Lights and work orders ------------------------------------------------------------------------------------------


def overdue_conditions(household_ids, today: dt.date) -> dict[int, list[dict]]:
    """An overdue loan's reason on the household's light: yellow from FUPIN_FUNDS["yellow_after_days"] days after
    the due date, red from FUPIN_FUNDS["red_after_days"]."""
    from fupin.funds.engine import light_for_overdue
    from fupin.funds.selectors import overdue_household_ids

    out = {}
    yellow, red = int(conf.get("yellow_after_days")), int(conf.get("red_after_days"))
    for hid, (n, since) in overdue_household_ids(household_ids).items():
        days = (today - since).days + 1 if since else 0
        colour = light_for_overdue(days, yellow_after=yellow, red_after=red)
        if colour:
            out[hid] = [{"code": "loan_overdue", "colour": colour, "days": days, "count": n}]
    return out


def describe_overdue(reason: dict) -> tuple[str, str]:
    from django.utils.translation import ngettext

    n = reason.get("days") or 0
    return (ngettext("A micro-credit loan overdue for %(days)d day", "A micro-credit loan overdue for %(days)d days",
                     n) % {"days": n},
            _("Collect the repayment, or settle the loan with the bank"))


def loan_need(loan) -> dict:
    """An overdue loan as a need for `fupin.dispatch.services.work_order_from_need`."""
    return {"household": loan.household, "origin": "manual", "order_type": "credit", "measure_kind": "credit",
            "title": f"小额信贷逾期催收:{loan.number}",
            "description": (f"{loan.person.name}于{loan.disbursed_on}在{loan.bank.name}贷款{loan.amount}元,"
                            f"{loan.due_on}到期,尚欠本金{loan.amount - loan.principal_repaid}元。贴息已暂停,"
                            "请核实原因、督促还款或协调展期、风险补偿。")}


# Map and dashboards ----------------------------------------------------------------------------------------------


def _loan_choices():
    return [("overdue", str(_("overdue loan")), "#c0392b"), ("current", str(_("repaying a loan")), "#2e86c1"),
            ("none", str(_("no loan")), "#bbbbbb")]


def _loan_expression():
    from django.db.models import Case, CharField, Exists, OuterRef, Value, When

    from fupin.funds.choices import LoanState
    from fupin.funds.models import Loan

    return Case(
        When(Exists(Loan.objects.filter(household=OuterRef("pk"), state=LoanState.OVERDUE)), then=Value("overdue")),
        When(Exists(Loan.objects.filter(household=OuterRef("pk"), state=LoanState.DISBURSED)), then=Value("current")),
        default=Value("none"), output_field=CharField())


def _loan_filter(qs, codes: list[str]):
    from django.db.models import Exists, OuterRef, Q

    from fupin.funds.choices import LoanState
    from fupin.funds.models import Loan

    overdue = Exists(Loan.objects.filter(household=OuterRef("pk"), state=LoanState.OVERDUE))
    current = Exists(Loan.objects.filter(household=OuterRef("pk"), state=LoanState.DISBURSED))
    q = Q(pk__in=[])
    if "overdue" in codes:
        q |= Q(overdue)
    if "current" in codes:
        q |= Q(current) & ~Q(overdue)
    if "none" in codes:
        q |= ~Q(overdue) & ~Q(current)
    return qs.filter(q)


def map_popup(household, user) -> dict | None:
    from fupin.funds.models import Loan, ProjectBeneficiary

    loans = list(Loan.objects.filter(household=household).select_related("bank").order_by("-applied_on")[:3])
    projects = list(ProjectBeneficiary.objects.filter(household=household).select_related("project")[:3])
    if not loans and not projects:
        return None
    rows = [(_("Loan"), f"{loan.bank.name} {loan.amount} · {loan.get_state_display()}") for loan in loans]
    rows += [(_("Project"), b.project.name) for b in projects]
    return {"title": _("Funds, projects and credit"), "rows": rows}


def map_extensions() -> list:
    from fupin.core.extensions import HouseholdAttribute, Indicator, PopupSection

    return [
        HouseholdAttribute(key="loan", label=gettext_lazy("Micro-credit"), order=45, choices=_loan_choices,
                           expression=_loan_expression, filter=_loan_filter, highlight="overdue"),
        PopupSection(fn=map_popup, order=55),
        Indicator("projects", gettext_lazy("Poverty projects"), figure="funds.project_count",
                  unit=gettext_lazy("projects"), higher_is_worse=False, order=40),
        Indicator("loans_overdue", gettext_lazy("Overdue loans"), figure="funds.loans_overdue",
                  unit=gettext_lazy("loans"), order=41),
    ]


def _state_dims():
    from fupin.funds.choices import ProjectState

    palette = ["#bbbbbb", "#9ecae1", "#f2b705", "#2e86c1", "#8e44ad", "#27ae60", "#1e8449"]
    return [(s.value, str(s.label), palette[i]) for i, s in enumerate(ProjectState)]


def _source_dims():
    from fupin.funds.choices import SourceKind

    palette = ["#c0392b", "#e67e22", "#2e86c1", "#27ae60", "#8e44ad"]
    return [(s.value, str(s.label), palette[i]) for i, s in enumerate(SourceKind)]


def _kind_dims():
    from fupin.funds.choices import ProjectKind

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
    return [(s.value, str(s.label), palette[i]) for i, s in enumerate(ProjectKind)]


def _projects_url(area: str, dim: str | None) -> str:
    from urllib.parse import urlencode

    query = [("division", area)] if area else []
    if dim:
        query.append(("state", dim))
    return "/funds/projects/" + (f"?{urlencode(query)}" if query else "")


def _loans_url(area: str, dim: str | None = None, **params) -> str:
    from urllib.parse import urlencode

    query = [("division", area)] if area else []
    query += list(params.items())
    return "/funds/loans/" + (f"?{urlencode(query)}" if query else "")


def dashboard_extensions() -> list:
    from fupin.core.extensions import DashboardSection, DerivedFigure, Figure, FigureProvider
    from fupin.funds.selectors import dashboard_rows

    yuan, loans, projects = gettext_lazy("yuan"), gettext_lazy("loans"), gettext_lazy("projects")
    section = DashboardSection("funds", gettext_lazy("Funds, projects and credit"), order=60)
    provider = FigureProvider("funds", compute=dashboard_rows, watches=("funds.",), order=60, figures=[
        Figure("funds.sources_total", gettext_lazy("Poverty funds received"), section="funds", unit=yuan, order=1,
               higher_is_worse=False, link=lambda area, dim: "/funds/sources/"),
        Figure("funds.sources_by_kind", gettext_lazy("Funds by source"), section="funds", chart="pie", unit=yuan,
               order=2, dims=_source_dims, link=lambda area, dim: "/funds/sources/"),
        Figure("funds.allocated_by_source", gettext_lazy("Funds allocated to projects here, by source"),
               section="funds", chart="bar", unit=yuan, order=3, dims=_source_dims, higher_is_worse=False,
               link=_projects_url),
        Figure("funds.paid_by_use", gettext_lazy("Funds paid, by project type"), section="funds", chart="bar",
               unit=yuan, order=4, dims=_kind_dims, higher_is_worse=False, link=_projects_url),
        Figure("funds.project_count", gettext_lazy("Projects"), section="funds", unit=projects, order=5,
               column=True, higher_is_worse=False, link=_projects_url),
        Figure("funds.projects", gettext_lazy("Projects by state"), section="funds", chart="bar", unit=projects,
               order=6, dims=_state_dims, link=_projects_url),
        Figure("funds.loans", gettext_lazy("Micro-credit loans"), section="funds", unit=loans, order=10,
               higher_is_worse=False, link=lambda area, dim: _loans_url(area)),
        Figure("funds.loans_outstanding", gettext_lazy("Loans outstanding"), section="funds", unit=yuan, order=11,
               higher_is_worse=False, link=lambda area, dim: _loans_url(area)),
        Figure("funds.loans_overdue", gettext_lazy("Overdue loans"), section="funds", unit=loans, order=12,
               column=True, link=lambda area, dim: _loans_url(area, state="overdue")),
        Figure("funds.risk_fund_balance", gettext_lazy("Risk-compensation fund balance"), section="funds",
               unit=yuan, order=20, higher_is_worse=False, link=lambda area, dim: "/funds/risk/"),
    ])

    def overdue_rate(get):
        n, o = get("funds.loans"), get("funds.loans_overdue")
        return round(100.0 * (o or 0) / n, 2) if n else None

    def leverage(get):
        balance, outstanding = get("funds.risk_fund_balance"), get("funds.loans_outstanding")
        return round((outstanding or 0) / balance, 2) if balance else None

    return [
        section, provider,
        DerivedFigure(Figure("funds.overdue_rate", gettext_lazy("Overdue rate"), section="funds", unit="%", order=13,
                             decimals=2, link=lambda area, dim: _loans_url(area, state="overdue")), overdue_rate),
        DerivedFigure(Figure("funds.leverage", gettext_lazy("Risk fund leverage (loans ÷ fund)"), section="funds",
                             unit=gettext_lazy("times"), order=21, decimals=2, higher_is_worse=False,
                             link=lambda area, dim: "/funds/risk/"), leverage),
    ]


# Assessment: the 应享未享 household fact `loans`, the return-to-poverty risk signal "loan overdue" ----------------


def loans_fact() -> tuple[str, list]:
    """The household's micro-credit loans, any state but refused (the household fact `loans`)."""
    from django.db import connection

    from fupin.funds.choices import LoanState
    from fupin.funds.models import Loan

    table = connection.ops.quote_name(Loan._meta.db_table)
    return (f"SELECT household_id, CAST(count(*) AS DOUBLE PRECISION) AS value FROM {table} "  # noqa: S608
            "WHERE state <> %s GROUP BY household_id", [LoanState.REFUSED])


def loan_overdue(today) -> list:
    """The risk signal "loan overdue" on watched households."""
    from fupin.assessment.services import Signal
    from fupin.assessment.signals import _watched
    from fupin.funds.choices import LoanState
    from fupin.funds.models import Loan

    rows = (Loan.objects.filter(state=LoanState.OVERDUE, household__in=_watched())
            .values_list("pk", "household_id", "number", "overdue_since", "amount", "principal_repaid"))
    return [Signal(hid, f"loan:{pk}:{since}", "loan", f"扶贫小额信贷{number}逾期(自{since})",
                   {"借据号": number, "逾期起始": str(since), "尚欠本金": str(amount - repaid)})
            for pk, hid, number, since, amount, repaid in rows]
