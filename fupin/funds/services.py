"""Every write of the funds app: keyword-only, taking `actor`, atomic, audited. Refusals raise ServiceError with the
reason in Chinese (and, for the leverage cap, the figures)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import DateField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.i18n import shown, stored
from fupin.funds import conf, engine
from fupin.funds import permissions as perm
from fupin.funds.choices import (
    OPEN_STATES,
    OUTSTANDING_STATES,
    PROJECT_FLOW,
    BenefitKind,
    FundEntryKind,
    LoanMisuse,
    LoanState,
    LoanUse,
    NoticeKind,
    NoticeLevel,
    ProjectKind,
    ProjectState,
    SourceKind,
    SubsidyStatus,
)
from fupin.funds.models import (
    Allocation,
    Asset,
    AssetIncome,
    AssetShare,
    Bank,
    CompensationClaim,
    CreditRule,
    FundSource,
    Loan,
    LoanStep,
    Notice,
    PayableList,
    Payment,
    Project,
    ProjectBeneficiary,
    ProjectEvent,
    Repayment,
    RiskFund,
    RiskFundEntry,
    Subsidy,
)

log = logging.getLogger(__name__)


def county_code() -> str:
    """The county's division code (county-level money is scoped to it)."""
    from fupin.geo.models import Division

    county = Division.objects.filter(level="county").order_by("code").first()
    return county.code if county else ""


def today() -> dt.date:
    from fupin.assistance.conf import local_today

    return local_today()


def _actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "pk", None) else str(actor or "system")


def _amount(value, label: str = "金额", *, positive: bool = True) -> Decimal:
    try:
        d = engine.money(value)
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError(_("The %(label)s is not a valid number: %(value)s") % {"label": label, "value": value}) from None
    if positive and d <= 0:
        raise ServiceError(_("The %(label)s must be greater than 0") % {"label": label})
    return d


def _text(value: Any) -> str:
    return str(value or "").strip()


# Funds and the project library -----------------------------------------------------------------------------------


@transaction.atomic
def source_create(*, actor, year: int, kind: str, name: str, amount, document_no: str = "",
                  received_on: dt.date | None = None, batch=None) -> FundSource:
    perm.require(perm.can_manage(actor), _("Only the county poverty office may record fund sources"))
    if kind not in SourceKind.values:
        raise ServiceError(_("Invalid fund source type: %(kind)s") % {"kind": kind})
    if not _text(name):
        raise ServiceError(_("Write the fund's name"))
    src = FundSource.objects.create(year=int(year), kind=kind, name=_text(name)[:200], document_no=_text(document_no),
                                    amount=_amount(amount), received_on=received_on, area_code=county_code(),
                                    batch=batch)
    if batch is None:
        audit.record(actor=actor, action="funds.source.create", obj=src, after=audit.snapshot(src))
    return src


def _clean_budget(budget: dict | None) -> dict:
    out = {}
    for kind, value in (budget or {}).items():
        if kind not in SourceKind.values:
            raise ServiceError(_("Invalid budget source type: %(kind)s") % {"kind": kind})
        if value in (None, "", 0, "0"):
            continue
        out[kind] = str(_amount(value, _("budget amount")))
    return out


def _clean_targets(targets) -> list[dict]:
    out = []
    for t in targets or []:
        indicator, value = _text(t.get("indicator")), _text(t.get("value"))
        if indicator or value:
            if not (indicator and value):
                raise ServiceError(_("A performance target needs both the indicator and the target value"))
            out.append({"indicator": indicator, "value": value})
    return out


@transaction.atomic
def project_create(*, actor, name: str, kind: str, year: int, division, responsible_unit: str,
                   budget: dict | None = None, targets: list | None = None, mechanism: str = "",
                   start_date: dt.date | None = None, end_date: dt.date | None = None, code: str = "") -> Project:
    """Propose a project (储备). Anyone who edits in the place may propose."""
    perm.require(perm.can(actor, "edit"), _("Your role cannot propose projects"))
    perm.require_area(actor, division.code)
    if kind not in ProjectKind.values:
        raise ServiceError(_("Invalid project type: %(kind)s") % {"kind": kind})
    if not _text(name) or not _text(responsible_unit):
        raise ServiceError(_("Write the project's name and responsible unit"))
    if start_date and end_date and end_date < start_date:
        raise ServiceError(_("The planned completion date cannot be earlier than the start date"))
    code = _text(code)
    if code and Project.objects.filter(code=code).exists():
        raise ServiceError(_("Duplicate project number: %(code)s") % {"code": code})
    p = Project.objects.create(code=code or f"tmp-{timezone.now().timestamp()}", name=_text(name)[:200], kind=kind,
                               year=int(year), division=division, area_code=division.code,
                               responsible_unit=_text(responsible_unit)[:100], budget=_clean_budget(budget),
                               targets=_clean_targets(targets), mechanism=_text(mechanism), start_date=start_date,
                               end_date=end_date)
    if not code:
        p.code = f"XM{int(year)}{p.pk:05d}"
        p.save(update_fields=["code"])
    _project_event(p, actor=actor, to_state=ProjectState.RESERVE, note="申报入储备")
    audit.record(actor=actor, action="funds.project.create", obj=p, after=audit.snapshot(p))
    return p


@transaction.atomic
def project_update(*, actor, project: Project, **changes) -> Project:
    """Change a project's plan while it has not entered the library (after entry it changes only by adjustment)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    perm.require_area(actor, project.area_code)
    perm.require(perm.can(actor, "edit"), _("Your role cannot change projects"))
    if project.state not in (ProjectState.RESERVE, ProjectState.APPRAISAL):
        raise ServiceError(_("The project has been publicised or entered in the library: it cannot be changed"))
    before = audit.snapshot(project)
    allowed = {"name", "responsible_unit", "mechanism", "start_date", "end_date", "budget", "targets"}
    for key, value in changes.items():
        if key not in allowed:
            raise ServiceError(_("Field cannot be changed: %(key)s") % {"key": key})
        if key == "budget":
            value = _clean_budget(value)
        elif key == "targets":
            value = _clean_targets(value)
        elif key in ("name", "responsible_unit", "mechanism"):
            value = _text(value)
        setattr(project, key, value)
    project.version += 1
    project.save()
    audit.record(actor=actor, action="funds.project.update", obj=project, before=before, after=audit.snapshot(project))
    return project


@transaction.atomic
def beneficiary_add(*, actor, project: Project, household, how: str, expected_yuan=None, note: str = ""
                    ) -> ProjectBeneficiary:
    project = Project.objects.get(pk=project.pk)
    perm.require_area(actor, project.area_code)
    perm.require(perm.can(actor, "edit"), _("Your role cannot change projects"))
    perm.require_area(actor, household.area_code)
    if how not in BenefitKind.values:
        raise ServiceError(_("Invalid way of benefiting the poor"))
    if not household.is_registered_poor:
        raise ServiceError(_("The household of %(head_name)s is not a registered poor household") % {"head_name": household.head_name})
    if project.state in (ProjectState.ACCEPTED, ProjectState.HANDED_OVER):
        raise ServiceError(_("The project has been accepted: no more beneficiary households"))
    if ProjectBeneficiary.objects.filter(project=project, household=household).exists():
        raise ServiceError(_("The household of %(head_name)s is already a beneficiary of this project") % {"head_name": household.head_name})
    b = ProjectBeneficiary.objects.create(
        project=project, household=household, area_code=household.area_code, how=how, note=_text(note)[:200],
        expected_yuan=_amount(expected_yuan, _("expected income")) if expected_yuan not in (None, "") else None)
    audit.record(actor=actor, action="funds.project.beneficiary", obj=project,
                 after={"household": household.pk, "how": how})
    return b


def _project_event(project: Project, *, actor, to_state: str = "", from_state: str = "", note: str = "",
                   review_year: int | None = None) -> ProjectEvent:
    return ProjectEvent.objects.create(project=project, area_code=project.area_code, at=timezone.now(),
                                       from_state=from_state, to_state=to_state, review_year=review_year,
                                       actor_name=_actor_name(actor), note=_text(note))


def entry_problems(project: Project, *, on: dt.date | None = None) -> list[str]:
    """Why a project may not enter the library (empty when it may)."""
    problems = []
    if not project.targets:
        problems.append(_("no performance target"))
    if not project.beneficiaries.exists():
        problems.append(_("no poor household benefits (no beneficiary)"))
    if not _text(project.mechanism):
        problems.append(_("no mechanism for lifting households out of poverty"))
    if conf.get("notice_before_entry"):
        on = on or today()
        finished = project.notices.filter(kind=NoticeKind.PROJECT, end_date__lt=on)
        if not finished.exists():
            problems.append(_("the notice before entering the library has not ended (a project notice whose period is over is needed)"))
    return problems


def _transition_allowed(actor, project: Project, to_state: str) -> bool:
    if to_state in (ProjectState.APPRAISAL,):
        return perm.can(actor, "edit")
    if to_state == ProjectState.NOTICE:
        return perm.can(actor, "approve_town") or perm.can_manage(actor)
    return perm.can_manage(actor)


@transaction.atomic
def project_advance(*, actor, project: Project, to_state: str, note: str = "", on: dt.date | None = None) -> Project:
    """Move a project one step along 储备 → 论证 → 公示 → 入库 → 实施 → 验收 (资产移交 is `asset_create`)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    perm.require_area(actor, project.area_code)
    if to_state not in PROJECT_FLOW:
        raise ServiceError(_("Invalid project status: %(to_state)s") % {"to_state": to_state})
    here = PROJECT_FLOW.index(project.state)
    if PROJECT_FLOW.index(to_state) != here + 1:
        raise ServiceError(_("The project is “%(state)s”: it cannot go straight to “%(label)s”") % {"state": project.get_state_display(), "label": ProjectState(to_state).label})
    if to_state == ProjectState.HANDED_OVER:
        raise ServiceError(_("Handing over an asset needs the asset recorded (owner, manager, value, beneficiary households)"))
    perm.require(_transition_allowed(actor, project, to_state), _("Your role cannot take this step"))
    if to_state == ProjectState.LIBRARY:
        problems = entry_problems(project, on=on)
        if problems:
            raise ServiceError(_("The project cannot enter the library: ") + ";".join(problems))
        project.entered_on = on or today()
    if to_state == ProjectState.NOTICE and not project.targets:
        raise ServiceError(_("The project has no performance target and cannot be publicised"))
    before = audit.snapshot(project)
    from_state = project.state
    project.state = to_state
    project.version += 1
    project.save()
    _project_event(project, actor=actor, from_state=from_state, to_state=to_state, note=note)
    audit.record(actor=actor, action="funds.project.advance", obj=project, before=before,
                 after=audit.snapshot(project), note=note)
    return project


@transaction.atomic
def project_review(*, actor, project: Project, year: int, note: str) -> ProjectEvent:
    """The library's yearly review (年度审核) of one project: its conclusion recorded."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may review the project library"))
    if not _text(note):
        raise ServiceError(_("Write the review opinion"))
    if project.events.filter(review_year=year).exists():
        raise ServiceError(_("The project was already reviewed for %(year)s") % {"year": year})
    ev = _project_event(project, actor=actor, review_year=int(year), note=note)
    audit.record(actor=actor, action="funds.project.review", obj=project, after={"year": year, "note": note})
    return ev


def source_balance(source: FundSource) -> Decimal:
    used = source.allocations.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    return source.amount - used


def allocation_balance(allocation: Allocation) -> Decimal:
    paid = allocation.payments.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    return allocation.amount - paid


@transaction.atomic
def allocation_create(*, actor, source: FundSource, project: Project, amount, allocated_on: dt.date,
                      document_no: str = "", batch=None) -> Allocation:
    """Assign money of a source to a project in the library; never more than the source has left."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may allocate funds"))
    source = FundSource.objects.select_for_update().get(pk=source.pk)
    project = Project.objects.get(pk=project.pk)
    amount = _amount(amount)
    if project.state not in (ProjectState.LIBRARY, ProjectState.IMPLEMENTATION, ProjectState.ACCEPTED):
        raise ServiceError(_("Project “%(project_name)s” is not in the library yet: no funds can be allocated") % {"project_name": project.name})
    left = source_balance(source)
    if amount > left:
        raise ServiceError(_("Fund “%(source_name)s” has %(left)s yuan left, not enough to allocate %(amount)s yuan") % {"source_name": source.name, "left": left, "amount": amount})
    a = Allocation.objects.create(source=source, project=project, area_code=project.area_code, amount=amount,
                                  allocated_on=allocated_on, document_no=_text(document_no), batch=batch)
    if batch is None:
        audit.record(actor=actor, action="funds.allocation.create", obj=a, after=audit.snapshot(a))
    return a


@transaction.atomic
def payment_create(*, actor, allocation: Allocation, amount, paid_on: dt.date, payee: str, purpose: str = "",
                   voucher_no: str = "", voucher=None, batch=None) -> Payment:
    """Pay out of an allocation (never more than it has left), keeping the voucher."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may record payments"))
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    amount = _amount(amount)
    if not _text(payee):
        raise ServiceError(_("Write the payee (unit or person)"))
    left = allocation_balance(allocation)
    if amount > left:
        raise ServiceError(_("The allocation has %(left)s yuan left, not enough to pay %(amount)s yuan") % {"left": left, "amount": amount})
    if voucher is not None and getattr(voucher, "size", 0) > 20 * 1024 * 1024:
        raise ServiceError(_("A voucher file cannot exceed 20 MB"))
    p = Payment(allocation=allocation, area_code=allocation.area_code, amount=amount, paid_on=paid_on,
                payee=_text(payee)[:200], purpose=_text(purpose)[:200], voucher_no=_text(voucher_no)[:60], batch=batch)
    if voucher is not None and getattr(voucher, "name", ""):
        p.voucher.save(voucher.name, voucher, save=False)
    p.save()
    if batch is None:
        audit.record(actor=actor, action="funds.payment.create", obj=p, after=audit.snapshot(p))
    return p


# Notices ---------------------------------------------------------------------------------------------------------


def notice_text(project: Project, *, kind: str, payment: Payment | None = None) -> tuple[str, str]:
    """(title, text) of a notice, generated from the data. ID numbers never appear (heads' names and 户编号 do)."""
    from fupin.funds.selectors import project_sources

    place = project.division.full_name or project.division.name
    if kind == NoticeKind.PROJECT:
        title = f"{project.name}项目入库公示"
        targets = ";".join(f"{t['indicator']}:{t['value']}" for t in project.targets) or "—"
        budget = ";".join(f"{SourceKind(k).label}{v}元" for k, v in project.budget.items()) or "—"
        hh = project.beneficiaries.select_related("household").order_by("household__poor_code")
        names = "、".join(f"{b.household.head_name}({BenefitKind(b.how).label})" for b in hh[:200])
        text = (f"根据精准扶贫项目库管理规定,现将拟入库项目公示如下:\n项目名称:{project.name}\n项目编号:{project.code}\n"
                f"项目类型:{project.get_kind_display()}\n建设地点:{place}\n责任单位:{project.responsible_unit}\n"
                f"计划工期:{project.start_date or '—'}至{project.end_date or '—'}\n资金预算:{budget}\n"
                f"绩效目标:{targets}\n带贫减贫机制:{project.mechanism}\n带动贫困户{hh.count()}户:{names}\n"
                "如有异议,请在公示期内向乡镇人民政府或县扶贫办反映。")
        return title, text
    if payment is None:
        raise ServiceError(_("A notice of fund use must name the payment"))
    sources = "、".join(f"{s['name']}{engine.money(s['amount'])}元" for s in project_sources(project))
    title = f"{project.name}扶贫资金使用公告"
    text = (f"现将扶贫资金使用情况公告如下:\n项目名称:{project.name}({project.code})\n实施地点:{place}\n"
            f"资金来源:{sources or '—'}\n本次支付:{payment.amount}元,支付日期{payment.paid_on},收款方{payment.payee},"
            f"用途{payment.purpose or '—'},凭证号{payment.voucher_no or '—'}\n"
            f"项目累计支付:{project_paid(project)}元\n受益贫困户:{project.beneficiaries.count()}户\n"
            "欢迎群众监督,如有异议请向县扶贫办、县财政局反映。")
    return title, text


def project_paid(project: Project) -> Decimal:
    return engine.money(Payment.objects.filter(allocation__project=project).aggregate(s=Sum("amount"))["s"] or 0)


@transaction.atomic
def notice_create(*, actor, project: Project, kind: str, start_date: dt.date, end_date: dt.date,
                  level: str = NoticeLevel.VILLAGE, payment: Payment | None = None) -> Notice:
    """Draw up a notice from the data and check its period (≥ FUPIN_FUNDS["notice_min_days"] days)."""
    project = Project.objects.select_related("division").get(pk=project.pk)
    perm.require_area(actor, project.area_code)
    perm.require(perm.can(actor, "edit"), _("Your role cannot publish notices"))
    if kind not in NoticeKind.values or level not in NoticeLevel.values:
        raise ServiceError(_("Invalid notice type or level"))
    minimum = int(conf.get("notice_min_days"))
    days = (end_date - start_date).days + 1
    if days < minimum:
        raise ServiceError(_("The notice period is %(days)s days, short of the required %(minimum)s days") % {"days": days, "minimum": minimum})
    if kind == NoticeKind.PROJECT and project.state not in (ProjectState.APPRAISAL, ProjectState.NOTICE):
        raise ServiceError(_("A project notice comes after the appraisal and before entering the library"))
    if kind == NoticeKind.FUND_USE:
        if payment is None or payment.allocation.project_id != project.pk:
            raise ServiceError(_("A notice of fund use must name a payment of this project"))
    title, text = notice_text(project, kind=kind, payment=payment)
    n = Notice.objects.create(kind=kind, level=level, project=project, payment=payment, area_code=project.area_code,
                              title=title, text=text, start_date=start_date, end_date=end_date)
    audit.record(actor=actor, action="funds.notice.create", obj=n, after=audit.snapshot(n))
    return n


@transaction.atomic
def notice_post(*, actor, notice: Notice, posted_on: dt.date, place: str, photo=None) -> Notice:
    """Record that the notice was put up, with a photo of the board."""
    perm.require_area(actor, notice.area_code)
    perm.require(perm.can(actor, "edit"), _("Your role cannot record postings"))
    if photo is None or not getattr(photo, "name", ""):
        raise ServiceError(_("Upload a photo of the notice board"))
    if getattr(photo, "size", 0) > 20 * 1024 * 1024:
        raise ServiceError(_("A photo cannot exceed 20 MB"))
    if not _text(place):
        raise ServiceError(_("Write where it was posted"))
    if posted_on > notice.start_date:
        raise ServiceError(_("Posted on %(posted_on)s, after the notice began on %(start_date)s: the notice period is too short") % {"posted_on": posted_on, "start_date": notice.start_date})
    before = audit.snapshot(notice)
    notice.posted_on, notice.posted_place = posted_on, _text(place)[:200]
    notice.photo.save(photo.name, photo, save=False)
    notice.version += 1
    notice.save()
    audit.record(actor=actor, action="funds.notice.post", obj=notice, before=before, after=audit.snapshot(notice))
    return notice


# Assets ----------------------------------------------------------------------------------------------------------


@transaction.atomic
def asset_create(*, actor, project: Project, name: str, owner: str, manager: str, value, handed_over_on: dt.date,
                 shares: list[tuple[Any, Any]] | None = None) -> Asset:
    """An accepted project becomes an asset (资产移交); the households sharing its income default to the project's
    beneficiaries, each with share 1."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may hand over assets"))
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.state != ProjectState.ACCEPTED:
        raise ServiceError(_("Only an accepted project can be handed over as an asset"))
    if not (_text(name) and _text(owner) and _text(manager)):
        raise ServiceError(_("Write the asset's name, owner and manager"))
    asset = Asset.objects.create(project=project, area_code=project.area_code, name=_text(name)[:200],
                                 owner=_text(owner)[:100], manager=_text(manager)[:100], value=_amount(value, _("asset value")),
                                 handed_over_on=handed_over_on)
    if shares is None:
        shares = [(b.household, 1) for b in project.beneficiaries.select_related("household")]
    for household, weight in shares:
        AssetShare.objects.create(asset=asset, household=household, area_code=household.area_code,
                                  weight=_amount(weight, _("share")))
    from_state = project.state
    project.state = ProjectState.HANDED_OVER
    project.version += 1
    project.save()
    _project_event(project, actor=actor, from_state=from_state, to_state=ProjectState.HANDED_OVER,
                   note=f"移交资产:{asset.name}")
    audit.record(actor=actor, action="funds.asset.create", obj=asset, after=audit.snapshot(asset))
    return asset


@transaction.atomic
def asset_income_distribute(*, actor, asset: Asset, year: int, total) -> list[AssetIncome]:
    """Split one year's income of an asset among its households by their shares (the last one takes the cents)."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may record income distributions"))
    total = _amount(total, _("total income"))
    if asset.incomes.filter(year=year).exists():
        raise ServiceError(_("The income of %(asset_name)s for %(year)s has been distributed") % {"asset_name": asset.name, "year": year})
    shares = list(asset.shares.select_related("household").order_by("pk"))
    if not shares:
        raise ServiceError(_("The asset has no beneficiary household"))
    weight = sum((s.weight for s in shares), Decimal(0))
    rows, given = [], Decimal(0)
    for i, s in enumerate(shares):
        part = total - given if i == len(shares) - 1 else engine.money(total * s.weight / weight)
        given += part
        rows.append(AssetIncome(asset=asset, household=s.household, area_code=s.area_code, year=year, amount=part))
    AssetIncome.objects.bulk_create(rows)
    audit.record(actor=actor, action="funds.asset.income", obj=asset, after={"year": year, "total": str(total),
                                                                             "households": len(rows)})
    return rows


# Micro-credit: reference data ------------------------------------------------------------------------------------


@transaction.atomic
def bank_create(*, actor, code: str, name: str, department=None) -> Bank:
    perm.require(perm.can_manage(actor), _("Only the county poverty office may record partner banks"))
    if Bank.objects.filter(code=code).exists():
        raise ServiceError(_("Duplicate bank code: %(code)s") % {"code": code})
    bank = Bank.objects.create(code=code, name=_text(name), department=department)
    audit.record(actor=actor, action="funds.bank.create", obj=bank, after=audit.snapshot(bank))
    return bank


@transaction.atomic
def credit_rule_create(*, actor, valid_from: dt.date, ceiling, max_term_months: int, rate_short, rate_long,
                       subsidy_share, note: str = "") -> CreditRule:
    """A new set of credit terms from a date (the old rows stay: loans keep the terms they were granted under)."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may change the credit policy"))
    share = Decimal(str(subsidy_share))
    if not Decimal(0) <= share <= Decimal(1):
        raise ServiceError(_("The interest subsidy rate must be between 0 and 1"))
    if not 1 <= int(max_term_months) <= 120:
        raise ServiceError(_("Invalid longest term"))
    if CreditRule.objects.filter(valid_from=valid_from).exists():
        raise ServiceError(_("A credit policy in force from %(valid_from)s already exists") % {"valid_from": valid_from})
    rule = CreditRule.objects.create(valid_from=valid_from, ceiling=_amount(ceiling, _("loan ceiling")),
                                     max_term_months=int(max_term_months), rate_short=Decimal(str(rate_short)),
                                     rate_long=Decimal(str(rate_long)), subsidy_share=share, note=_text(note))
    audit.record(actor=actor, action="funds.credit_rule.create", obj=rule, after=audit.snapshot(rule))
    return rule


def rule_on(day: dt.date) -> CreditRule:
    rule = CreditRule.objects.filter(valid_from__lte=day).order_by("-valid_from").first()
    if rule is None:
        raise ServiceError(_("No microcredit policy is in force on %(day)s: record one in the credit policies first") % {"day": day})
    return rule


@transaction.atomic
def risk_fund_create(*, actor, bank: Bank, multiple, bank_share) -> RiskFund:
    perm.require(perm.can_manage(actor), _("Only the county poverty office may set up a risk compensation fund"))
    if RiskFund.objects.filter(bank=bank).exists():
        raise ServiceError(_("%(bank_name)s already has a risk compensation fund") % {"bank_name": bank.name})
    multiple, share = Decimal(str(multiple)), Decimal(str(bank_share))
    if multiple <= 0 or not Decimal(0) <= share <= Decimal(1):
        raise ServiceError(_("The multiple must be greater than 0 and the bank's share between 0 and 1"))
    fund = RiskFund.objects.create(bank=bank, multiple=multiple, bank_share=share)
    audit.record(actor=actor, action="funds.risk_fund.create", obj=fund, after=audit.snapshot(fund))
    return fund


def _entry(fund: RiskFund, *, kind: str, amount: Decimal, on: dt.date, note: str = "", area_code: str = ""
           ) -> RiskFundEntry:
    return RiskFundEntry.objects.create(fund=fund, kind=kind, amount=amount, on=on, note=note[:200],
                                        area_code=area_code or county_code())


@transaction.atomic
def fund_deposit(*, actor, fund: RiskFund, amount, on: dt.date, note: str = "") -> RiskFundEntry:
    perm.require(perm.can_manage(actor), _("Only the county poverty office may pay into a risk compensation fund"))
    e = _entry(fund, kind=FundEntryKind.DEPOSIT, amount=_amount(amount), on=on, note=_text(note))
    audit.record(actor=actor, action="funds.risk_fund.deposit", obj=e, after=audit.snapshot(e))
    return e


def fund_balance(fund: RiskFund, *, on: dt.date | None = None) -> Decimal:
    qs = fund.entries.all() if on is None else fund.entries.filter(on__lte=on)
    return qs.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def bank_outstanding(bank: Bank) -> Decimal:
    row = Loan.objects.filter(bank=bank, state__in=OUTSTANDING_STATES).aggregate(a=Sum("amount"),
                                                                                  r=Sum("principal_repaid"))
    return (row["a"] or Decimal(0)) - (row["r"] or Decimal(0))


# Micro-credit: loans ---------------------------------------------------------------------------------------------


def _step(loan: Loan, *, actor, action: str, from_state: str = "", to_state: str = "", note: str = "") -> None:
    LoanStep.objects.create(loan=loan, area_code=loan.area_code, at=timezone.now(), from_state=from_state,
                            to_state=to_state, action=action, actor_name=_actor_name(actor), note=_text(note))


@transaction.atomic
def loan_apply(*, actor, person, bank: Bank, amount, term_months: int, purpose: str,
               applied_on: dt.date | None = None, use: str = LoanUse.HOUSEHOLD, enterprise: str = "",
               renewal_of: Loan | None = None) -> Loan:
    """A member of a registered poor household applies (申请); the terms come from the rule in force that day."""
    household = person.household
    if household is None:
        raise ServiceError(_("The applicant belongs to no household"))
    perm.require(perm.can(actor, "edit"), _("Your role cannot accept loan applications"))
    perm.require_area(actor, household.area_code)
    if not household.is_registered_poor:
        raise ServiceError(_("The household of %(head_name)s is not a registered poor household and cannot apply for poverty microcredit") % {"head_name": household.head_name})
    if getattr(household, "dissolved_on", None):
        raise ServiceError(_("The household is closed"))
    applied_on = applied_on or today()
    rule = rule_on(applied_on)
    amount = _amount(amount, _("loan amount"))
    term = int(term_months)
    if amount > rule.ceiling:
        raise ServiceError(_("The loan of %(amount)s yuan exceeds the ceiling of %(ceiling)s yuan") % {"amount": amount, "ceiling": rule.ceiling})
    if not 1 <= term <= rule.max_term_months:
        raise ServiceError(_("The term of %(term)s months exceeds the longest of %(max_term_months)s months") % {"term": term, "max_term_months": rule.max_term_months})
    if not _text(purpose):
        raise ServiceError(_("Write what the loan is for"))
    if use not in LoanUse.values:
        raise ServiceError(_("Invalid use of the loan"))
    if use == LoanUse.ENTERPRISE and not _text(enterprise):
        raise ServiceError(_("A household loan used by an enterprise needs the enterprise or cooperative named"))
    if not RiskFund.objects.filter(bank=bank).exists():
        raise ServiceError(_("%(bank_name)s has no risk compensation fund and cannot grant poverty microcredit") % {"bank_name": bank.name})
    if renewal_of is not None:
        _check_renewal(renewal_of, household)
    elif conf.get("one_loan_per_household") and Loan.objects.filter(household=household,
                                                                    state__in=OPEN_STATES).exists():
        raise ServiceError(_("The household of %(head_name)s already has an unsettled poverty microcredit loan") % {"head_name": household.head_name})
    loan = Loan.objects.create(
        number=f"tmp-{timezone.now().timestamp()}", household=household, person=person, area_code=household.area_code,
        bank=bank, rule=rule, amount=amount, term_months=term, purpose=_text(purpose)[:200], use=use,
        enterprise=_text(enterprise)[:200], rate=engine.rate_for(term, rule.rate_short, rule.rate_long),
        subsidy_share=rule.subsidy_share, applied_on=applied_on, renewal_of=renewal_of)
    loan.number = f"XD{applied_on.year}{loan.pk:06d}"
    loan.save(update_fields=["number"])
    _step(loan, actor=actor, action="apply", to_state=LoanState.APPLIED,
          note="续贷" if renewal_of is not None else "")
    audit.record(actor=actor, action="funds.loan.apply", obj=loan, after=audit.snapshot(loan))
    return loan


def _check_renewal(previous: Loan, household) -> None:
    """续贷: only the same household, only after the previous loan is repaid in full and was never overdue, and no
    more than FUPIN_FUNDS["renewal_max"] renewals in a row."""
    if previous.household_id != household.pk:
        raise ServiceError(_("A renewal must be for the same household"))
    if previous.state != LoanState.REPAID:
        raise ServiceError(_("A loan is renewed only after the old one is repaid"))
    if previous.was_overdue:
        raise ServiceError(_("The old loan was overdue: it cannot be renewed"))
    depth, cursor = 0, previous
    while cursor.renewal_of_id is not None:
        depth += 1
        cursor = cursor.renewal_of
    if depth + 1 > int(conf.get("renewal_max")):
        raise ServiceError(_("The loan has reached the limit of %(get)s renewals") % {"get": conf.get('renewal_max')})
    if previous.renewals.exclude(state=LoanState.REFUSED).exists():
        raise ServiceError(_("The old loan has already been renewed"))


NEXT_STEP = {LoanState.APPLIED: LoanState.VILLAGE_REVIEWED, LoanState.VILLAGE_REVIEWED: LoanState.TOWN_REVIEWED,
             LoanState.TOWN_REVIEWED: LoanState.BANK_APPROVED, LoanState.BANK_APPROVED: LoanState.DISBURSED}


def leverage_check(bank: Bank, extra: Decimal) -> None:
    """Refuse when lending `extra` would take the bank's outstanding loans past fund balance × multiple."""
    fund = RiskFund.objects.get(bank=bank)
    balance = engine.money(fund_balance(fund))
    limit = engine.lending_limit(balance, fund.multiple)
    outstanding = engine.money(bank_outstanding(bank))
    pending = engine.money(Loan.objects.filter(bank=bank, state=LoanState.BANK_APPROVED)
                           .aggregate(s=Sum("amount"))["s"] or 0)
    after = outstanding + pending + extra
    if after > limit:
        raise ServiceError(
            _("Beyond the risk compensation fund's multiple: %(bank_name)s's fund balance %(balance)s yuan × %(multiple)s = %(limit)s yuan; loans outstanding %(outstanding)s yuan, approved and not yet granted %(pending)s yuan; approving %(extra)s yuan more makes %(after)s yuan, %(value)s yuan over") % {"bank_name": bank.name, "balance": balance, "multiple": fund.multiple, "limit": limit, "outstanding": outstanding, "pending": pending, "extra": extra, "after": after, "value": after - limit})


@transaction.atomic
def loan_decide(*, actor, loan: Loan, approve: bool = True, note: str = "", on: dt.date | None = None) -> Loan:
    """The next step of 申请 → 村评议 → 乡镇审核 → 银行审批 → 放款, or a refusal at any of them."""
    loan = Loan.objects.select_for_update().select_related("bank", "household").get(pk=loan.pk)
    step = NEXT_STEP.get(loan.state)
    if step is None:
        raise ServiceError(_("The loan is “%(state)s”: there is no approval waiting") % {"state": loan.get_state_display()})
    perm.require(perm.may_decide_loan(actor, loan, step), _("Your role or jurisdiction cannot take this step"))
    before = audit.snapshot(loan)
    from_state = loan.state
    on = on or today()
    if not approve:
        if not _text(note):
            raise ServiceError(_("A rejection needs a reason"))
        loan.state = LoanState.REFUSED
        loan.closed_on = on
    else:
        if step == LoanState.BANK_APPROVED:
            leverage_check(loan.bank, loan.amount)
        if step == LoanState.DISBURSED:
            loan.disbursed_on = on
            loan.due_on = engine.add_months(on, loan.term_months)
        loan.state = step
    loan.version += 1
    loan.save()
    _step(loan, actor=actor, action="approve" if approve else "refuse", from_state=from_state, to_state=loan.state,
          note=note)
    audit.record(actor=actor, action=f"funds.loan.{'approve' if approve else 'refuse'}", obj=loan, before=before,
                 after=audit.snapshot(loan), note=note)
    return loan


@transaction.atomic
def loan_extend(*, actor, loan: Loan, months: int, note: str, on: dt.date | None = None) -> Loan:
    """展期: once (FUPIN_FUNDS["max_extensions"]), at most FUPIN_FUNDS["extension_max_months"] months, asked for
    before the due date, with a reason; the bank (or the county recording its decision) grants it."""
    loan = Loan.objects.select_for_update().select_related("bank").get(pk=loan.pk)
    perm.require(perm.may_decide_loan(actor, loan, "bank_approved"), _("An extension is made by the bank or the county poverty office"))
    on = on or today()
    months = int(months)
    if loan.state != LoanState.DISBURSED:
        raise ServiceError(_("Only a loan being repaid normally can be extended (not an overdue one)"))
    if loan.due_on is None or on > loan.due_on:
        raise ServiceError(_("An extension must be asked for before the loan is due"))
    if loan.extensions >= int(conf.get("max_extensions")):
        raise ServiceError(_("The loan has been extended %(extensions)s times, the limit") % {"extensions": loan.extensions})
    if not 1 <= months <= int(conf.get("extension_max_months")):
        raise ServiceError(_("An extension cannot exceed %(get)s months") % {"get": conf.get('extension_max_months')})
    if not _text(note):
        raise ServiceError(_("Give the reason for the extension"))
    before = audit.snapshot(loan)
    loan.due_on = engine.add_months(loan.due_on, months)
    loan.extensions += 1
    loan.version += 1
    loan.save()
    _step(loan, actor=actor, action="extend", note=f"展期{months}个月至{loan.due_on}:{note}")
    audit.record(actor=actor, action="funds.loan.extend", obj=loan, before=before, after=audit.snapshot(loan), note=note)
    return loan


# Reasons a subsidy stops, stored by message id (fupin/core/i18n.py) and shown in the reader's language
MISUSE_REASON = {LoanMisuse.DIVERTED: gettext_noop("Loan diverted"), LoanMisuse.ON_LENT: gettext_noop("Loan lent on")}
OVERDUE_REASON = stored(gettext_noop("Loan overdue"))


def _subsidy_stopped(reason: str) -> str:
    """A suspended subsidy's stored reason: "<reason>, subsidy stopped" (reason a stored message)."""
    return stored(gettext_noop("%(reason)s, subsidy stopped"), reason=reason)


OVERDUE_STOPPED = _subsidy_stopped(OVERDUE_REASON)
MISUSE_STOPPED = {kind: _subsidy_stopped(stored(msgid)) for kind, msgid in MISUSE_REASON.items()}


@transaction.atomic
def loan_misuse_record(*, actor, loan: Loan, kind: str, found_on: dt.date, note: str) -> Loan:
    """挪用 or 转贷 found on a post-loan check (the village team's visit, the bank's check), recorded by the bank or the
    county with its evidence: the interest subsidy is cancelled from the quarter it was found in (subsidies already
    computed for that quarter and later, and not yet on a payable list, are suspended)."""
    loan = Loan.objects.select_for_update().select_related("bank").get(pk=loan.pk)
    perm.require(perm.may_decide_loan(actor, loan, "disbursed"), _("Misuse or on-lending is established by the bank or the county poverty office"))
    if kind not in LoanMisuse.values:
        raise ServiceError(_("Choose misuse or on-lending"), field="kind")
    if loan.state not in (LoanState.DISBURSED, LoanState.OVERDUE):
        raise ServiceError(_("Only a granted, unsettled loan can be found misused or on-lent"))
    if not isinstance(found_on, dt.date) or found_on > today() or (loan.disbursed_on and found_on < loan.disbursed_on):
        raise ServiceError(_("The date found must be after the disbursement and not after today"), field="found_on")
    if not _text(note):
        raise ServiceError(_("Write what the finding rests on (a visit record, the bank's post-loan check)"), field="note")
    if loan.misuse:
        raise ServiceError(_("The loan was found %(misuse)s on %(misuse_since)s") % {"misuse_since": loan.misuse_since, "misuse": loan.get_misuse_display()})
    before = audit.snapshot(loan)
    reason = stored(MISUSE_REASON[LoanMisuse(kind)])
    loan.misuse, loan.misuse_since, loan.misuse_note = kind, found_on, _text(note)[:300]
    loan.subsidy_suspended = True
    loan.suspension_reason = reason if not loan.suspension_reason else stored(
        gettext_noop("%(earlier)s; %(later)s"), earlier=loan.suspension_reason, later=reason, max_length=200)
    loan.version += 1
    loan.save()
    start = engine.quarter_bounds(engine.period_of(found_on))[0]
    first = engine.period_of(start)
    n = Subsidy.objects.filter(loan=loan, status=SubsidyStatus.DUE, payable_list__isnull=True,
                               period__gte=first).update(status=SubsidyStatus.SUSPENDED, amount=Decimal("0.00"),
                                                         reason=MISUSE_STOPPED[LoanMisuse(kind)])
    _step(loan, actor=actor, action="misuse", note=stored(gettext_noop("%(reason)s (%(found_on)s): %(note)s"),
                                                          reason=reason, found_on=found_on, note=loan.misuse_note))
    audit.record(actor=actor, action="funds.loan.misuse", obj=loan, before=before, after=audit.snapshot(loan),
                 note=f"{shown(reason, settings.LANGUAGE_CODE)},{n}个季度贴息暂停")
    return loan


def _apply_repayment_totals(loan: Loan, *, actor, note: str = "") -> None:
    """After repayments were added: the loan's totals, and repaid / back to normal when the principal is in."""
    row = loan.repayments.aggregate(p=Sum("principal"), i=Sum("interest"))
    loan.principal_repaid = row["p"] or Decimal(0)
    loan.interest_paid = row["i"] or Decimal(0)
    from_state = loan.state
    if loan.principal_repaid >= loan.amount and loan.state in (LoanState.DISBURSED, LoanState.OVERDUE):
        loan.state = LoanState.REPAID
        loan.closed_on = loan.repayments.order_by("-paid_on").values_list("paid_on", flat=True).first()
    loan.version += 1
    loan.save()
    if loan.state != from_state:
        _step(loan, actor=actor, action="repaid", from_state=from_state, to_state=loan.state, note=note)


@transaction.atomic
def repayment_record(*, actor, loan: Loan, paid_on: dt.date, principal=0, interest=0, bank_ref: str = "") -> Repayment:
    loan = Loan.objects.select_for_update().select_related("bank").get(pk=loan.pk)
    perm.require(perm.may_decide_loan(actor, loan, "disbursed"), _("Repayments are recorded by the bank or the county poverty office"))
    if loan.state not in (LoanState.DISBURSED, LoanState.OVERDUE, LoanState.COMPENSATED):
        raise ServiceError(_("The loan is “%(state)s”: no repayment can be recorded") % {"state": loan.get_state_display()})
    principal = _amount(principal or 0, _("principal amount"), positive=False)
    interest = _amount(interest or 0, _("interest amount"), positive=False)
    if principal < 0 or interest < 0 or principal + interest <= 0:
        raise ServiceError(_("The repayment must be greater than 0"))
    if paid_on < loan.disbursed_on:
        raise ServiceError(_("The repayment date is earlier than the disbursement date"))
    if principal > loan.amount - loan.principal_repaid:
        raise ServiceError(_("Principal of %(principal)s yuan exceeds the balance of %(value)s yuan") % {"principal": principal, "value": loan.amount - loan.principal_repaid})
    r = Repayment.objects.create(loan=loan, area_code=loan.area_code, paid_on=paid_on, principal=principal,
                                 interest=interest, bank_ref=_text(bank_ref)[:60])
    _apply_repayment_totals(loan, actor=actor)
    audit.record(actor=actor, action="funds.loan.repayment", obj=loan, after=audit.snapshot(r))
    return r


# Overdue: the nightly step ---------------------------------------------------------------------------------------


def mark_overdue(*, on: dt.date | None = None, actor="system", notify: bool = True) -> dict:
    """Loans past their due date with principal outstanding become overdue: the subsidy is suspended, a work order
    goes to the credit department (FUPIN_FUNDS["credit_department"]) and the household's light is refreshed
    (yellow, then red after FUPIN_FUNDS["red_after_days"] days: see `lights_provider`). Set-based: one UPDATE for
    every newly overdue loan, whatever their number."""
    on = on or today()
    with transaction.atomic():
        newly = list(Loan.objects.filter(state=LoanState.DISBURSED, due_on__lt=on)
                     .filter(principal_repaid__lt=F("amount")).values_list("pk", "household_id", "due_on", "area_code"))
        if newly:
            ids = [pk for pk, _h, _d, _a in newly]
            # overdue_since is the day after each loan's due date
            since = ExpressionWrapper(F("due_on") + dt.timedelta(days=1), output_field=DateField())
            for chunk in range(0, len(ids), 5000):
                Loan.objects.filter(pk__in=ids[chunk:chunk + 5000]).update(
                    state=LoanState.OVERDUE, was_overdue=True, subsidy_suspended=True, suspension_reason=OVERDUE_REASON,
                    overdue_since=since, version=F("version") + 1)
            now = timezone.now()
            LoanStep.objects.bulk_create([LoanStep(loan_id=pk, area_code=area, at=now, from_state=LoanState.DISBURSED,
                                                   to_state=LoanState.OVERDUE, action="overdue", actor_name="system",
                                                   note="到期未还清,贴息暂停") for pk, _h, _d, area in newly],
                                         batch_size=2000)
            audit.record(actor=actor, action="funds.loan.overdue", object_type="funds.loan",
                         object_id=str(ids[0]), object_repr=f"{len(ids)}笔贷款逾期", area_code=county_code(),
                         after={"loans": len(ids), "on": on.isoformat(), "ids": ids[:200]})
        # Subsidies already computed for the quarters a loan was overdue in are suspended too (earlier ones stand)
        suspended = 0
        firsts = (Loan.objects.filter(state=LoanState.OVERDUE, subsidies__status=SubsidyStatus.DUE).order_by()
                  .values_list("overdue_since", flat=True).distinct())
        for period in sorted({engine.period_of(d) for d in firsts if d}):
            suspended += Subsidy.objects.filter(
                loan__state=LoanState.OVERDUE, status=SubsidyStatus.DUE, period__gte=period,
                loan__overdue_since__gte=engine.quarter_bounds(period)[0],
                loan__overdue_since__lte=engine.quarter_bounds(period)[1]).update(
                status=SubsidyStatus.SUSPENDED, reason=OVERDUE_REASON)
    orders = _overdue_work_orders(actor=actor) if notify else 0
    households = list(Loan.objects.filter(state=LoanState.OVERDUE).values_list("household_id", flat=True).distinct())
    if notify and newly:
        _refresh_lights({h for _p, h, _d, _a in newly})
    return {"newly_overdue": len(newly), "overdue": Loan.objects.filter(state=LoanState.OVERDUE).count(),
            "subsidies_suspended": suspended, "work_orders": orders, "households": len(households)}


def _refresh_lights(household_ids) -> None:
    try:
        from fupin.assistance.tracking import refresh_lights
    except ImportError:
        return
    refresh_lights(household_ids=list(household_ids))


def _overdue_work_orders(*, actor) -> int:
    """A work order for every overdue loan that has none open yet (dispatch refuses a second one itself)."""
    try:
        from fupin.dispatch import services as dispatch
        from fupin.dispatch.models import WorkOrder
    except ImportError:
        return 0
    from fupin.org.models import Department

    department = Department.objects.filter(code=conf.get("credit_department"), is_active=True).first()
    have = set(WorkOrder.objects.filter(source_type="funds.loan").exclude(state__in=["closed", "cancelled"])
               .values_list("source_id", flat=True))
    made = 0
    for loan in Loan.objects.filter(state=LoanState.OVERDUE).select_related("household", "person", "bank"):
        if str(loan.pk) in have:
            continue
        try:
            with transaction.atomic():
                dispatch.work_order_from_need(actor=actor, source=loan, department=department)
            made += 1
        except ServiceError as exc:
            log.warning("funds: no work order for overdue loan %s: %s", loan.number, exc.message)
    return made


# Interest subsidies ----------------------------------------------------------------------------------------------


def compute_subsidies(period: str, *, day_basis: int | None = None) -> list[dict]:
    """The subsidy of every loan for a quarter: rows {loan_id, area_code, interest, amount, status, reason}."""
    return compute_subsidies_for([period], day_basis=day_basis)[period]


def compute_subsidies_for(periods: list[str], *, day_basis: int | None = None) -> dict[str, list[dict]]:
    """The subsidies of several quarters from two reads (the loans alive in them, their principal repayments), with
    no query per loan or per quarter: the nightly run, a recompute and the benchmark use it for 12 quarters."""
    bounds = {p: engine.quarter_bounds(p) for p in periods}
    first, last = min(b[0] for b in bounds.values()), max(b[1] for b in bounds.values())
    basis = int(day_basis or conf.get("day_basis"))
    alive = (Loan.objects.filter(disbursed_on__lte=last).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=first))
             .exclude(state=LoanState.REFUSED))
    loans = list(alive.values_list("pk", "area_code", "amount", "rate", "subsidy_share", "disbursed_on", "closed_on",
                                   "overdue_since", "misuse", "misuse_since"))
    repayments: dict[int, list] = {}
    for loan_id, paid_on, principal in (Repayment.objects.filter(principal__gt=0, paid_on__lte=last,
                                                                 loan__in=alive.values("pk"))
                                        .values_list("loan_id", "paid_on", "principal")):
        repayments.setdefault(loan_id, []).append((paid_on, int(principal * 100)))
    # integers from here on: cents, rate in thousandths of a percent, share in thousandths
    # a subsidy stops from the quarter of the first cause: overdue, or a misuse found (挪用, 转贷)
    facts = []
    for pk, area, amount, rate, share, disbursed, closed, overdue_since, misuse, misuse_since in loans:
        stop_on, stop_reason = overdue_since, OVERDUE_STOPPED if overdue_since else ""
        if misuse and misuse_since:  # rare: a branch only for these loans
            found = engine.quarter_bounds(engine.period_of(misuse_since))[0]
            if stop_on is None or found < stop_on:
                stop_on, stop_reason = found, MISUSE_STOPPED.get(misuse, MISUSE_STOPPED[LoanMisuse.DIVERTED])
        facts.append((pk, area, int(amount * 100), int(rate * 1000), int(share * 1000), disbursed, closed, stop_on,
                      stop_reason))
    suspended, due, zero = SubsidyStatus.SUSPENDED, SubsidyStatus.DUE, Decimal("0.00")
    compute = engine.quarter_interest_cents
    no_repayments: tuple = ()
    out = {}
    for period, (start, end) in bounds.items():
        rows = out[period] = []
        for pk, area, cents, rate, share, disbursed, closed, stop_on, stop_reason in facts:
            if disbursed > end or (closed is not None and closed <= start):
                continue
            interest, subsidised = compute(cents, rate, share, disbursed, repayments.get(pk, no_repayments), start, end,
                                           day_basis=basis, closed_on=closed)
            if interest <= 0:
                continue
            # the subsidy stops from the quarter the loan fell overdue (a compensated loan was overdue first) or
            # the misuse was found in
            stop = stop_on is not None and stop_on <= end
            rows.append({"loan_id": pk, "area_code": area, "interest": Decimal(interest).scaleb(-2),
                         "amount": zero if stop else Decimal(subsidised).scaleb(-2),
                         "status": suspended if stop else due, "reason": stop_reason if stop else ""})
    return out


@transaction.atomic
def subsidies_compute(*, actor, period: str) -> dict:
    """Compute (or recompute) a quarter's subsidies; those already on a payable list stay as they were."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may compute interest subsidies"))
    try:
        engine.quarter_bounds(period)
    except (ValueError, IndexError):
        raise ServiceError(_("Invalid quarter: %(period)s (write it like 2017Q1)") % {"period": period}) from None
    listed = set(Subsidy.objects.filter(period=period, payable_list__isnull=False).values_list("loan_id", flat=True))
    Subsidy.objects.filter(period=period, payable_list__isnull=True).delete()
    rows = [r for r in compute_subsidies(period) if r["loan_id"] not in listed]
    from fupin.core.bulk import insert_rows, uuid7

    insert_rows(Subsidy, [{**r, "period": period, "uuid": uuid7(), "version": 1} for r in rows])
    due = sum((r["amount"] for r in rows), Decimal(0))
    summary = {"period": period, "loans": len(rows), "due": str(due),
               "suspended": sum(1 for r in rows if r["status"] == SubsidyStatus.SUSPENDED)}
    audit.record(actor=actor, action="funds.subsidy.compute", object_type="funds.subsidy", object_id=period,
                 object_repr=f"{period}贴息", area_code=county_code(), after=summary)
    return summary


@transaction.atomic
def payable_list_create(*, actor, period: str) -> PayableList:
    """The quarter's due subsidies handed to the finance bureau; once listed they are not recomputed."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may make interest subsidy lists"))
    if PayableList.objects.filter(period=period).exists():
        raise ServiceError(_("The interest subsidy list for %(period)s has been made") % {"period": period})
    due = Subsidy.objects.filter(period=period, status=SubsidyStatus.DUE, payable_list__isnull=True)
    agg = due.aggregate(s=Sum("amount"))
    n = due.count()
    if not n:
        raise ServiceError(_("No interest subsidy is due for %(period)s (compute the subsidies first)") % {"period": period})
    pl = PayableList.objects.create(period=period, area_code=county_code(), total=agg["s"] or 0, loans=n)
    due.update(payable_list=pl, status=SubsidyStatus.LISTED)
    audit.record(actor=actor, action="funds.subsidy.payable_list", obj=pl, after=audit.snapshot(pl))
    return pl


# Compensation ----------------------------------------------------------------------------------------------------


@transaction.atomic
def claim_create(*, actor, loan: Loan, claimed_on: dt.date | None = None) -> CompensationClaim:
    """A defaulted loan: the outstanding principal is the loss, split bank/fund by the fund's agreed ratio; the
    fund's part leaves the fund."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may handle risk compensation"))
    loan = Loan.objects.select_for_update().select_related("bank").get(pk=loan.pk)
    claimed_on = claimed_on or today()
    if loan.state != LoanState.OVERDUE:
        raise ServiceError(_("Only an overdue loan can claim risk compensation"))
    days = (claimed_on - loan.due_on).days
    wait = int(conf.get("claim_after_days"))
    if days < wait:
        raise ServiceError(_("The loan is %(days)s days overdue; compensation can be claimed after %(wait)s days") % {"days": days, "wait": wait})
    fund = RiskFund.objects.get(bank=loan.bank)
    loss = loan.amount - loan.principal_repaid
    bank_part, fund_part = engine.split_loss(loss, fund.bank_share)
    balance = fund_balance(fund)
    if fund_part > balance:
        raise ServiceError(_("The risk compensation fund's balance of %(balance)s yuan is not enough to pay %(fund_part)s yuan") % {"balance": balance, "fund_part": fund_part})
    claim = CompensationClaim.objects.create(loan=loan, area_code=loan.area_code, claimed_on=claimed_on, loss=loss,
                                             bank_part=bank_part, fund_part=fund_part)
    _entry(fund, kind=FundEntryKind.COMPENSATION, amount=-fund_part, on=claimed_on, note=f"补偿{loan.number}",
           area_code=loan.area_code)
    before = audit.snapshot(loan)
    loan.state = LoanState.COMPENSATED
    loan.closed_on = claimed_on
    loan.version += 1
    loan.save()
    _step(loan, actor=actor, action="compensate", from_state=LoanState.OVERDUE, to_state=LoanState.COMPENSATED,
          note=f"损失{loss}元:银行承担{bank_part}元,风险补偿金承担{fund_part}元")
    audit.record(actor=actor, action="funds.loan.compensate", obj=loan, before=before, after=audit.snapshot(claim))
    return claim


@transaction.atomic
def recovery_record(*, actor, claim: CompensationClaim, amount, on: dt.date | None = None) -> CompensationClaim:
    """Money recovered on a compensated loan, split in the same ratio: the fund's part returns to the fund."""
    perm.require(perm.can_manage(actor), _("Only the county poverty office may record recoveries"))
    claim = CompensationClaim.objects.select_for_update().select_related("loan__bank").get(pk=claim.pk)
    amount = _amount(amount, _("amount recovered"))
    if claim.recovered + amount > claim.loss:
        raise ServiceError(_("Recoveries of %(value)s yuan in total exceed the loss of %(loss)s yuan") % {"value": claim.recovered + amount, "loss": claim.loss})
    fund = RiskFund.objects.get(bank=claim.loan.bank)
    _bank, to_fund = engine.split_loss(amount, fund.bank_share)
    before = audit.snapshot(claim)
    claim.recovered += amount
    claim.recovered_to_fund += to_fund
    claim.version += 1
    claim.save()
    _entry(fund, kind=FundEntryKind.RECOVERY, amount=to_fund, on=on or today(), note=f"追回{claim.loan.number}",
           area_code=claim.area_code)
    audit.record(actor=actor, action="funds.loan.recovery", obj=claim, before=before, after=audit.snapshot(claim))
    return claim
