"""Pages of the funds app. Thin: parse the request, call a service or selector, render. Every object is looked up
through `restrict(request.user)`, so another village's project, loan, notice or voucher is a 404."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core import exportlog, idnumber
from fupin.core.errors import ServiceError
from fupin.core.pages import paginate, run_service
from fupin.core.uploads import discard, save_upload
from fupin.funds import engine, exports, imports, selectors, services
from fupin.funds import permissions as perm
from fupin.funds.choices import (
    BenefitKind,
    LoanState,
    LoanUse,
    NoticeKind,
    NoticeLevel,
    ProjectKind,
    ProjectState,
    SourceKind,
)
from fupin.funds.models import (
    Allocation,
    Asset,
    Bank,
    CompensationClaim,
    CreditRule,
    FundSource,
    Loan,
    Notice,
    PayableList,
    Payment,
    Project,
    RiskFund,
    Subsidy,
)
from fupin.geo.areas import filter_area


def _date(value, default=None):
    if not value:
        return default
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(_("Invalid date: %(value)s") % {"value": value}) from None


def _import_upload(request, run, ok_message):
    """Run an import service on the request's file, copied through the one guarded way in (fupin.core.uploads): its
    result, or None when there is no file or the file or the service refused (the reason shown as a message)."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
        return None
    path = run_service(request, lambda: save_upload(upload), None)
    if path is None:
        return None
    try:
        return run_service(request, lambda: run(path), ok_message)
    finally:
        discard(path)


# Overview, sources ----------------------------------------------------------------------------------------------


def overview(request):
    projects = filter_area(Project.objects.restrict(request.user), request)
    by_state = dict(projects.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))
    loans = filter_area(Loan.objects.restrict(request.user), request)
    totals = selectors.loan_totals(loans)
    funds = selectors.funds_status()  # reference data: the county's funds, whoever looks
    sources = FundSource.objects.restrict(request.user)
    paid = filter_area(Payment.objects.restrict(request.user), request).aggregate(s=Sum("amount"))["s"] or 0
    return render(request, "funds/overview.html", {
        "tab": "overview", "states": [(s, by_state.get(s.value, 0)) for s in ProjectState], "totals": totals,
        "funds": funds, "sources_total": sources.aggregate(s=Sum("amount"))["s"] or 0, "paid": paid,
        "can_manage": perm.can_manage(request.user)})


def source_list(request):
    if request.method == "POST":
        perm_ok = perm.can_manage(request.user)
        if not perm_ok:
            raise PermissionDenied
        p = request.POST
        run_service(request, lambda: services.source_create(
            actor=request.user, year=int(p.get("year") or 0), kind=p.get("kind", ""), name=p.get("name", ""),
            amount=p.get("amount"), document_no=p.get("document_no", ""), received_on=_date(p.get("received_on"))),
            _("The fund source was recorded."))
        return redirect("/funds/sources/")
    return render(request, "funds/sources.html", {
        "tab": "sources", "rows": selectors.source_rows(request.user), "kinds": SourceKind.choices,
        "can_manage": perm.can_manage(request.user), "year": services.today().year})


@require_POST
def ledger_import(request):
    if not perm.can_manage(request.user):
        raise PermissionDenied
    result = _import_upload(request, lambda path: imports.import_ledger(actor=request.user, path=path),
                            _("The ledger was imported."))
    if result:
        messages.info(request, _("%(rows)d payments recorded.") % {"rows": result["rows"]})
    return redirect("/funds/sources/")


# Projects -------------------------------------------------------------------------------------------------------


def project_list(request):
    qs = filter_area(Project.objects.restrict(request.user), request).select_related("division")
    state = request.GET.get("state", "")
    if state in ProjectState.values:
        qs = qs.filter(state=state)
    qs = qs.annotate(households=Count("beneficiaries", distinct=True))
    if request.method == "POST":
        from fupin.geo.models import Division

        p = request.POST
        division = Division.objects.restrict(request.user).filter(code=p.get("division", "")).first()
        if division is None:
            messages.error(request, _("Choose a place inside your jurisdiction."))
            return redirect("/funds/projects/")
        project = run_service(request, lambda: services.project_create(
            actor=request.user, name=p.get("name", ""), kind=p.get("kind", ""), year=int(p.get("year") or 0),
            division=division, responsible_unit=p.get("responsible_unit", ""), mechanism=p.get("mechanism", ""),
            start_date=_date(p.get("start_date")), end_date=_date(p.get("end_date")),
            budget={k: p.get(f"budget_{k}") for k in SourceKind.values},
            targets=[{"indicator": p.get(f"indicator_{i}", ""), "value": p.get(f"target_{i}", "")} for i in range(3)]),
            _("The project was proposed."))
        return redirect(project.get_absolute_url() if project else "/funds/projects/")
    return render(request, "funds/projects.html", {
        "tab": "projects", "page": paginate(request, qs.order_by("-year", "code")), "states": ProjectState.choices,
        "state": state, "kinds": ProjectKind.choices, "sources": SourceKind.choices, "year": services.today().year,
        "can_propose": perm.can(request.user, "edit"), "target_rows": range(3)})


def _project(request, pk) -> Project:
    return get_object_or_404(Project.objects.restrict(request.user).select_related("division"), pk=pk)


def project_detail(request, pk):
    project = _project(request, pk)
    state_index = [s.value for s in ProjectState].index(project.state)
    next_state = list(ProjectState)[state_index + 1] if state_index + 1 < len(ProjectState) else None
    payments = list(Payment.objects.filter(allocation__project=project).select_related("allocation__source"))
    return render(request, "funds/project.html", {
        "tab": "projects", "project": project, "next_state": next_state,
        "beneficiaries": project.beneficiaries.select_related("household").order_by("household__poor_code"),
        "events": [(e, ProjectState(e.to_state).label if e.to_state else "") for e in project.events.all()],
        "flow": [(st.label, "done" if i < state_index else "here" if i == state_index else "")
                 for i, st in enumerate(ProjectState)],
        "notices": project.notices.all(),
        "allocations": project.allocations.select_related("source"), "payments": payments,
        "sources": project_sources_or_empty(project), "entry_problems": services.entry_problems(project)
        if project.state == ProjectState.NOTICE else [],
        "fund_sources": FundSource.objects.restrict(request.user) if perm.can_manage(request.user) else [],
        "benefit_kinds": BenefitKind.choices, "notice_kinds": NoticeKind.choices, "levels": NoticeLevel.choices,
        "can_edit": perm.can(request.user, "edit"), "can_manage": perm.can_manage(request.user),
        "today": services.today(), "min_days": services.conf.get("notice_min_days"),
        "asset": getattr(project, "asset", None) if hasattr(project, "asset") else None})


def project_sources_or_empty(project):
    return selectors.project_sources(project)


@require_POST
def project_action(request, pk):
    """Every form on the project page posts here with `action`."""
    project = _project(request, pk)
    p, user = request.POST, request.user
    action = p.get("action", "")
    if action == "advance":
        run_service(request, lambda: services.project_advance(actor=user, project=project, to_state=p.get("to_state", ""),
                                                       note=p.get("note", "")), _("The project moved on."))
    elif action == "beneficiary":
        from fupin.registry.models import Household

        hh = Household.objects.restrict(user).filter(poor_code=p.get("poor_code", "").strip()).first()
        if hh is None:
            messages.error(request, _("No household with that number in your jurisdiction."))
        else:
            run_service(request, lambda: services.beneficiary_add(actor=user, project=project, household=hh,
                                                           how=p.get("how", ""), expected_yuan=p.get("expected") or None,
                                                           note=p.get("note", "")),
                 _("The household was linked."))
    elif action == "notice":
        payment = None
        if p.get("payment"):
            payment = Payment.objects.restrict(user).filter(pk=p.get("payment"), allocation__project=project).first()
        run_service(request, lambda: services.notice_create(
            actor=user, project=project, kind=p.get("kind", ""), level=p.get("level", NoticeLevel.VILLAGE),
            start_date=_date(p.get("start_date")), end_date=_date(p.get("end_date")), payment=payment),
            _("The notice was drawn up."))
    elif action == "allocate":
        source = FundSource.objects.restrict(user).filter(pk=p.get("source") or 0).first()
        if source is None:
            messages.error(request, _("Choose a fund source."))
        else:
            run_service(request, lambda: services.allocation_create(actor=user, source=source, project=project,
                                                             amount=p.get("amount"),
                                                             allocated_on=_date(p.get("on"), services.today()),
                                                             document_no=p.get("document_no", "")),
                 _("The money was allocated."))
    elif action == "pay":
        allocation = Allocation.objects.restrict(user).filter(pk=p.get("allocation") or 0, project=project).first()
        if allocation is None:
            messages.error(request, _("Choose an allocation."))
        else:
            run_service(request, lambda: services.payment_create(
                actor=user, allocation=allocation, amount=p.get("amount"), paid_on=_date(p.get("on"), services.today()),
                payee=p.get("payee", ""), purpose=p.get("purpose", ""), voucher_no=p.get("voucher_no", ""),
                voucher=request.FILES.get("voucher")), _("The payment was recorded."))
    elif action == "asset":
        run_service(request, lambda: services.asset_create(
            actor=user, project=project, name=p.get("name", ""), owner=p.get("owner", ""),
            manager=p.get("manager", ""), value=p.get("value"), handed_over_on=_date(p.get("on"), services.today())),
            _("The project was handed over as an asset."))
    elif action == "review":
        run_service(request, lambda: services.project_review(actor=user, project=project, year=int(p.get("year") or 0),
                                                      note=p.get("note", "")), _("The review was recorded."))
    else:
        raise Http404
    return redirect(project.get_absolute_url())


# Notices --------------------------------------------------------------------------------------------------------


def _notice(request, pk) -> Notice:
    return get_object_or_404(Notice.objects.restrict(request.user).select_related("project"), pk=pk)


def notice_detail(request, pk):
    notice = _notice(request, pk)
    if request.method == "POST":
        p = request.POST
        run_service(request, lambda: services.notice_post(actor=request.user, notice=notice,
                                                   posted_on=_date(p.get("posted_on"), services.today()),
                                                   place=p.get("place", ""), photo=request.FILES.get("photo")),
             _("The posting was recorded."))
        return redirect(f"/funds/notices/{notice.pk}/")
    days = (notice.end_date - notice.start_date).days + 1
    return render(request, "funds/notice.html", {"tab": "projects", "notice": notice, "days": days,
                                                 "can_edit": perm.can(request.user, "edit")})


@exportlog.accountable("funds.notice", "公示(项目与资金)", full_ids=False)
def notice_pdf(request, pk):
    notice = _notice(request, pk)
    return HttpResponse(exports.notice_pdf(notice), content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="notice-{notice.pk}.pdf"'})


@exportlog.accountable("funds.notice", "公示(项目与资金)", full_ids=False)
def notice_xlsx(request, pk):
    notice = _notice(request, pk)
    return HttpResponse(exports.notice_xlsx(notice),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="notice-{notice.pk}.xlsx"'})


def file_view(request, kind, pk):
    """Vouchers and board photos, only to users who may see the payment or notice."""
    if kind == "voucher":
        obj = get_object_or_404(Payment.objects.restrict(request.user), pk=pk)
        field = obj.voucher
    elif kind == "photo":
        obj = get_object_or_404(Notice.objects.restrict(request.user), pk=pk)
        field = obj.photo
    else:
        raise Http404
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, filename=Path(field.name).name)


# Assets ---------------------------------------------------------------------------------------------------------


def asset_list(request):
    qs = filter_area(Asset.objects.restrict(request.user), request).select_related("project").annotate(
        households=Count("shares", distinct=True))
    return render(request, "funds/assets.html", {"tab": "assets", "page": paginate(request, qs.order_by("-pk"))})


def asset_detail(request, pk):
    asset = get_object_or_404(Asset.objects.restrict(request.user).select_related("project"), pk=pk)
    if request.method == "POST":
        p = request.POST
        run_service(request, lambda: services.asset_income_distribute(actor=request.user, asset=asset,
                                                               year=int(p.get("year") or 0), total=p.get("total")),
             _("The income was distributed."))
        return redirect(f"/funds/assets/{asset.pk}/")
    incomes = asset.incomes.select_related("household").order_by("-year", "household__poor_code")
    return render(request, "funds/asset.html", {
        "tab": "assets", "asset": asset, "shares": asset.shares.select_related("household"), "incomes": incomes,
        "can_manage": perm.can_manage(request.user), "year": services.today().year})


# Loans ----------------------------------------------------------------------------------------------------------


def loan_list(request):
    qs = filter_area(Loan.objects.restrict(request.user), request).select_related("household", "person", "bank")
    state = request.GET.get("state", "")
    if state in LoanState.values:
        qs = qs.filter(state=state)
    use = request.GET.get("use", "")
    if use in LoanUse.values:
        qs = qs.filter(use=use)
    return render(request, "funds/loans.html", {
        "tab": "loans", "page": paginate(request, qs.order_by("-applied_on", "-pk")), "states": LoanState.choices,
        "state": state, "totals": selectors.loan_totals(qs)})


def household_loan(request, key):
    """Apply for a loan for a member of one household (the form starts from the household)."""
    from fupin.assistance.selectors import household_for

    hh = household_for(request.user, key)
    if hh is None:
        raise Http404
    members = hh.members.order_by("pk")
    if request.method == "POST":
        p = request.POST
        person = members.filter(pk=p.get("person") or 0).first()
        bank = Bank.objects.filter(pk=p.get("bank") or 0).first()
        if person is None or bank is None:
            messages.error(request, _("Choose the borrower and the bank."))
        else:
            loan = run_service(request, lambda: services.loan_apply(
                actor=request.user, person=person, bank=bank, amount=p.get("amount"),
                term_months=int(p.get("term") or 0), purpose=p.get("purpose", ""), use=p.get("use", LoanUse.HOUSEHOLD),
                enterprise=p.get("enterprise", "")), _("The application was recorded."))
            if loan:
                return redirect(loan.get_absolute_url())
    rule = CreditRule.objects.filter(valid_from__lte=services.today()).order_by("-valid_from").first()
    return render(request, "funds/loan_apply.html", {
        "tab": "loans", "hh": hh, "members": [(m, idnumber.mask(m.id_number) if not request.user.may_view_full_id
                                               else m.id_number) for m in members],
        "banks": Bank.objects.filter(risk_fund__isnull=False), "uses": LoanUse.choices, "rule": rule})


def _loan(request, pk) -> Loan:
    return get_object_or_404(Loan.objects.restrict(request.user).select_related("household", "person", "bank",
                                                                                 "rule"), pk=pk)


def loan_detail(request, pk):
    loan = _loan(request, pk)
    plan = engine.schedule(loan.amount, loan.rate, loan.disbursed_on, loan.term_months) if loan.disbursed_on else []
    step = services.NEXT_STEP.get(loan.state)
    return render(request, "funds/loan.html", {
        "tab": "loans", "loan": loan, "steps": loan.steps.all(), "plan": plan,
        "repayments": loan.repayments.all(), "subsidies": loan.subsidies.order_by("period"),
        "next_step": LoanState(step) if step else None,
        "may_decide": bool(step) and perm.may_decide_loan(request.user, loan, step),
        "may_bank": perm.may_decide_loan(request.user, loan, "disbursed"),
        "can_manage": perm.can_manage(request.user), "claim": CompensationClaim.objects.filter(loan=loan).first(),
        "id_shown": loan.person.id_number if request.user.may_view_full_id else idnumber.mask(loan.person.id_number),
        "today": services.today()})


@require_POST
def loan_action(request, pk):
    loan = _loan(request, pk)
    p, user = request.POST, request.user
    action = p.get("action", "")
    if action in ("approve", "refuse"):
        run_service(request, lambda: services.loan_decide(actor=user, loan=loan, approve=action == "approve",
                                                   note=p.get("note", ""), on=_date(p.get("on"))),
             _("The decision was recorded."))
    elif action == "repay":
        run_service(request, lambda: services.repayment_record(actor=user, loan=loan, paid_on=_date(p.get("on"), services.today()),
                                                        principal=p.get("principal") or 0,
                                                        interest=p.get("interest") or 0, bank_ref=p.get("ref", "")),
             _("The repayment was recorded."))
    elif action == "extend":
        run_service(request, lambda: services.loan_extend(actor=user, loan=loan, months=int(p.get("months") or 0),
                                                   note=p.get("note", "")), _("The loan was extended."))
    elif action == "misuse":
        run_service(request, lambda: services.loan_misuse_record(actor=user, loan=loan, kind=p.get("kind", ""),
                                                          found_on=_date(p.get("on")), note=p.get("note", "")),
             _("The misuse was recorded and the interest subsidy stopped."))
    elif action == "claim":
        run_service(request, lambda: services.claim_create(actor=user, loan=loan, claimed_on=_date(p.get("on"))),
             _("The compensation was settled."))
    elif action == "recover":
        claim = CompensationClaim.objects.restrict(user).filter(loan=loan).first()
        if claim is None:
            raise Http404
        run_service(request, lambda: services.recovery_record(actor=user, claim=claim, amount=p.get("amount"),
                                                       on=_date(p.get("on"))), _("The recovery was recorded."))
    else:
        raise Http404
    return redirect(loan.get_absolute_url())


# Risk funds, rules, statements, subsidies -----------------------------------------------------------------------


def risk_funds(request):
    user = request.user
    if request.method == "POST":
        if not perm.can_manage(user):
            raise PermissionDenied
        p = request.POST
        if p.get("action") == "deposit":
            fund = get_object_or_404(RiskFund, pk=p.get("fund") or 0)
            run_service(request, lambda: services.fund_deposit(actor=user, fund=fund, amount=p.get("amount"),
                                                        on=_date(p.get("on"), services.today()), note=p.get("note", "")),
                 _("The deposit was recorded."))
        elif p.get("action") == "rule":
            run_service(request, lambda: services.credit_rule_create(
                actor=user, valid_from=_date(p.get("valid_from")), ceiling=p.get("ceiling"),
                max_term_months=int(p.get("max_term_months") or 0), rate_short=p.get("rate_short") or "0",
                rate_long=p.get("rate_long") or "0", subsidy_share=p.get("subsidy_share") or "0",
                note=p.get("note", "")), _("The credit terms were recorded."))
        return redirect("/funds/risk/")
    funds = [{**selectors.fund_status(f), "history": selectors.fund_history(f)[-12:]}
             for f in RiskFund.objects.restrict(user).select_related("bank")]
    return render(request, "funds/risk.html", {
        "tab": "risk", "funds": funds, "rules": CreditRule.objects.restrict(user),
        "can_manage": perm.can_manage(user), "can_import": perm.can(user, "import"),
        "banks": Bank.objects.restrict(user), "today": services.today()})


@require_POST
def statement_import(request):
    bank = get_object_or_404(Bank, pk=request.POST.get("bank") or 0)
    if not (perm.can(request.user, "import") or perm.is_bank_staff(request.user, bank)):
        raise PermissionDenied
    result = _import_upload(request, lambda path: imports.import_statement(actor=request.user, bank=bank, path=path),
                            _("The bank statement was imported."))
    if result:
        messages.info(request, _("%(rows)d repayments on %(loans)d loans; %(repaid)d loans repaid in full.") % result)
    return redirect("/funds/risk/")


def subsidies(request):
    user = request.user
    if request.method == "POST":
        if not perm.can_manage(user):
            raise PermissionDenied
        period = request.POST.get("period", "").strip().upper()
        if request.POST.get("action") == "list":
            run_service(request, lambda: services.payable_list_create(actor=user, period=period),
                 _("The payable list was drawn up."))
        else:
            run_service(request, lambda: services.subsidies_compute(actor=user, period=period),
                 _("The subsidies were computed."))
        return redirect("/funds/subsidies/")
    rows = (Subsidy.objects.restrict(user).order_by().values("period")
            .annotate(loans=Count("pk"), due=Sum("amount", filter=Q(status__in=["due", "listed"])),
                      suspended=Count("pk", filter=Q(status="suspended")), interest=Sum("interest"))
            .order_by("-period"))
    return render(request, "funds/subsidies.html", {
        "tab": "subsidies", "rows": rows, "lists": PayableList.objects.restrict(user).order_by("-period"),
        "can_manage": perm.can_manage(user), "period": engine.period_of(services.today())})


@exportlog.accountable("funds.payable_list", "贴息资金拨付清单")
def payable_xlsx(request, period):
    pl = get_object_or_404(PayableList.objects.restrict(request.user), period=period)
    data = exports.payable_xlsx(pl, request.user)
    return HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="subsidy-{pl.period}.xlsx"'})

