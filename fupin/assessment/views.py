"""Pages of assessment and screening. Thin: parse, call a service or selector, render. Every read is scoped."""

from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.assessment import selectors, services
from fupin.assessment.choices import INCOME_SURVEY, AlertStatus, GapStatus, Stratum, SubjectKind
from fupin.assessment.facts import parse_period
from fupin.assessment.models import FieldCheck, KinshipFlag, PolicyGap, RiskAlert, Score
from fupin.core import exportlog
from fupin.core.pages import paginate, run_service
from fupin.geo.areas import current_area
from fupin.geo.models import Division


def _prefix(request) -> str:
    area = current_area(request)
    prefix = area.prefix if area is not None else selectors.effective_prefix(request.user)
    if prefix is None:
        raise PermissionDenied
    return prefix


def _can_edit(user) -> bool:
    return user.can("edit")


def _year(request) -> int:
    y = request.GET.get("year", "")
    return int(y) if y.isdigit() and 2000 <= int(y) <= 2100 else timezone.localdate().year


def _period(request, default: str | None = None) -> str:
    text = request.GET.get("period") or default or (selectors.periods() or [str(timezone.localdate().year)])[0]
    try:
        return parse_period(text).code
    except ValueError:
        return str(timezone.localdate().year)


def overview(request):
    prefix = _prefix(request)
    user = request.user
    period = _period(request)
    run = selectors.current_run(period)
    tops = []
    if run is not None:
        for kind, label in SubjectKind.choices:
            qs = Score.objects.restrict(user).filter(run=run, kind=kind, area_code__startswith=prefix)
            tops.append({"kind": kind, "label": label, "n": qs.count(), "top": list(qs.order_by("rank", "code")[:3])})
    rates = selectors.field_check_rates(user, year=int(period[:4]), prefix=prefix)
    return render(request, "assessment/overview.html", {
        "period": period, "periods": selectors.periods(), "run": run, "tops": tops, "rates": rates,
        "gaps_open": selectors.gaps(user, prefix=prefix).count(),
        "alerts_open": selectors.alerts(user, prefix=prefix).count(),
        "kinship_open": selectors.kinship(user, year=int(period[:4]), prefix=prefix).filter(reviewed=False).count()})


def ranking(request, kind: str):
    if kind not in SubjectKind.values:
        raise Http404
    prefix = _prefix(request)
    period = _period(request)
    run, scores = selectors.ranking(request.user, period=period, kind=kind, prefix=prefix)
    indicators = list(run.scheme.indicators.filter(subject_kind=kind)) if run else []
    return render(request, "assessment/ranking.html", {
        "kind": kind, "kind_label": SubjectKind(kind).label, "kinds": SubjectKind.choices, "period": period,
        "periods": selectors.periods(), "run": run, "page_obj": paginate(request, scores, per_page=100),
        "indicators": indicators})


def _score(request, pk: int) -> Score:
    return get_object_or_404(Score.objects.restrict(request.user).select_related("run__scheme"), pk=pk)


def score_detail(request, pk: int):
    score = _score(request, pk)
    inds = {i.code: i for i in score.run.scheme.indicators.filter(subject_kind=score.kind)}
    rows = [{"code": code, "ind": inds.get(code), **entry} for code, entry in score.indicators.items()]
    return render(request, "assessment/score.html", {
        "score": score, "rows": rows, "history": selectors.history(request.user, kind=score.kind, code=score.code)})


def score_drill(request, pk: int, drill: str):
    score = _score(request, pk)
    period = parse_period(score.period)
    title, rows = selectors.drill_records(request.user, score, drill, period)
    if not title:
        raise Http404
    return render(request, "assessment/drill.html", {"score": score, "title": title, "rows": rows})


@exportlog.accountable("assessment.ranking", "考评排名", full_ids=False)
def ranking_xlsx(request, kind: str):
    from openpyxl import Workbook

    if kind not in SubjectKind.values:
        raise Http404
    period = _period(request)
    run, scores = selectors.ranking(request.user, period=period, kind=kind, prefix=_prefix(request))
    if run is None:
        raise Http404
    inds = list(run.scheme.indicators.filter(subject_kind=kind))
    wb = Workbook()
    ws = wb.active
    ws.title = "排名"
    ws.append(["名次", "名称", "得分", "等次", *[i.name for i in inds]])
    for s in scores:
        values = [(s.indicators.get(i.code) or {}).get("value") for i in inds]
        ws.append([s.rank, _safe_cell(s.name), s.score, s.get_grade_display(), *values])
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="assessment-{period}-{kind}.xlsx"'
    return response


def _safe_cell(text: str) -> str:
    """A name starting with a formula character is written as text (no formula injection in Excel)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@exportlog.accountable("assessment.leader_pdf", "考评领导报告", full_ids=False)
def leader_pdf(request):
    from fupin.core.pdf import Document

    period = _period(request)
    prefix = _prefix(request)
    run = selectors.current_run(period)
    if run is None:
        raise Http404
    doc = Document(title=f"{period}年度考评结果")
    doc.heading(f"{period} 考评结果(方案 v{run.scheme.number})")
    for kind, label in SubjectKind.choices:
        scores = list(Score.objects.restrict(request.user).filter(run=run, kind=kind, area_code__startswith=prefix)
                      .order_by("rank", "code")[:20])
        if not scores:
            continue
        doc.heading(f"{label}(前{len(scores)}名)")
        doc.data_table(["名次", "名称", "得分", "等次"],
                       [[str(s.rank), s.name, f"{s.score:.2f}", s.get_grade_display()] for s in scores],
                       widths=[20, 90, 30, 30])
    rates = selectors.field_check_rates(request.user, year=int(period[:4]), prefix=prefix)
    if rates["towns"]:
        doc.heading("抽查结果(按乡镇)")
        labels = rates["labels"]
        doc.data_table(["乡镇", "抽查户数", *labels.values()],
                       [[t["name"], str(t["checks"]), *[_pct(t["rates"][k]) for k in labels]] for t in rates["towns"]])
    response = HttpResponse(doc.to_bytes(), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="assessment-{period}.pdf"'
    return response


def _pct(v) -> str:
    return "—" if v is None else f"{v:.2f}%"


# -- field checks ------------------------------------------------------------------------------------------------

def checks(request):
    prefix = _prefix(request)
    year = _year(request)
    if request.method == "POST":
        if not _can_edit(request.user):
            raise PermissionDenied
        village = Division.objects.filter(code=request.POST.get("village", ""), level__in=("village", "community"),
                                          code__startswith=prefix).first()
        share = request.POST.get("share", "").strip()
        count = request.POST.get("count", "").strip()
        seed = request.POST.get("seed", "").strip()
        if village is None:
            messages.error(request, _("Choose a village in your area."))
        else:
            try:
                sample = run_service(request, lambda: services.sample_create(
                    actor=request.user, village=village, year=year, share=float(share) / 100 if share else None,
                    count=int(count) if count else None, seed=int(seed) if seed else None), _("Sample drawn."))
            except ValueError:
                messages.error(request, _("Share, count and seed must be numbers."))
            else:
                if sample is not None:
                    return redirect(f"/assessment/checks/samples/{sample.pk}/")
    villages = Division.objects.filter(level="village", code__startswith=prefix).order_by("code")
    return render(request, "assessment/checks.html", {
        "year": year, "samples": selectors.samples(request.user, prefix).filter(year=year).order_by("area_code")[:200],
        "rates": selectors.field_check_rates(request.user, year=year, prefix=prefix), "villages": villages,
        "can_edit": _can_edit(request.user)})


def sample_detail(request, pk: int):
    from fupin.assessment.models import CheckSample

    sample = get_object_or_404(CheckSample.objects.restrict(request.user).select_related("village"), pk=pk)
    rows = FieldCheck.objects.restrict(request.user).filter(sample=sample).select_related("household")
    return render(request, "assessment/sample.html", {"sample": sample, "rows": rows})


def check_form(request, pk: int):
    check = get_object_or_404(FieldCheck.objects.restrict(request.user).select_related("household", "sample"), pk=pk)
    if request.method == "POST":
        if not _can_edit(request.user):
            raise PermissionDenied
        p = request.POST
        if run_service(request, lambda: services.check_record(
                actor=request.user, check=check, satisfied=p.get("satisfied"),
                correctly_identified=p.get("correctly_identified"), wrongly_exited=p.get("wrongly_exited"),
                missed_found=p.get("missed_found"), note=p.get("note", ""), version=p.get("version") or None),
                _("Field check saved.")) is not None:
            return redirect(f"/assessment/checks/samples/{check.sample_id}/")
    question = {Stratum.POOR: ("correctly_identified", _("Is the household correctly identified as poor?")),
                Stratum.EXITED: ("wrongly_exited", _("Was the household wrongly exited?")),
                Stratum.OTHER: ("missed_found", _("Should the household have been identified (missed)?"))}[check.stratum]
    return render(request, "assessment/check_form.html", {"check": check, "field": question[0],
                                                          "question": question[1]})


# -- policy gaps -------------------------------------------------------------------------------------------------

def gaps(request):
    prefix = _prefix(request)
    status = request.GET.get("status", GapStatus.OPEN)
    status = status if status in GapStatus.values else ""
    qs = selectors.gaps(request.user, prefix=prefix, status=status, rule=request.GET.get("rule", "")[:40])
    return render(request, "assessment/gaps.html", {"page_obj": paginate(request, qs), "status": status,
                                                    "statuses": GapStatus.choices})


def gap_detail(request, pk: int):
    gap = get_object_or_404(PolicyGap.objects.restrict(request.user).select_related(
        "household", "person", "rule", "work_order"), pk=pk)
    if request.method == "POST":
        if not _can_edit(request.user):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "dispatch":
                run_service(request, lambda: services.gap_dispatch(actor=request.user, gap=gap),
                            _("Sent to the department as a work order."))
            elif action == "receipt":
                day = dt.date.fromisoformat(request.POST.get("received_on") or timezone.localdate().isoformat())
                run_service(request, lambda: services.gap_receipt_record(actor=request.user, gap=gap, received_on=day),
                            _("Receipt recorded; the gap is closed."))
            elif action == "dismiss":
                run_service(request, lambda: services.gap_dismiss(actor=request.user, gap=gap,
                                                                  reason=request.POST.get("reason", "")),
                            _("Dismissed."))
        except ValueError:
            messages.error(request, _("The date is not valid."))
        return redirect(f"/assessment/gaps/{gap.pk}/")
    return render(request, "assessment/gap.html", {"gap": gap, "can_edit": _can_edit(request.user),
                                                   "today": timezone.localdate()})


def clearance(request, code: str):
    from fupin.core.scoping import covers

    village = Division.objects.filter(code=code, level__in=("village", "community")).first()
    if village is None or not covers(request.user, village.code):
        raise Http404
    report = selectors.clearance(request.user, village)
    return render(request, "assessment/clearance.html", report)


# -- kinship, alerts, household ----------------------------------------------------------------------------------

def kinship(request):
    prefix = _prefix(request)
    year = _year(request)
    if request.method == "POST":
        if not _can_edit(request.user):
            raise PermissionDenied
        flag = get_object_or_404(KinshipFlag.objects.restrict(request.user), pk=request.POST.get("flag", 0) or 0)
        run_service(request, lambda: services.kinship_review(actor=request.user, flag=flag,
                                                             note=request.POST.get("note", "")), None)
        return redirect(f"/assessment/kinship/?year={year}")
    return render(request, "assessment/kinship.html", {
        "year": year, "page_obj": paginate(request, selectors.kinship(request.user, year=year, prefix=prefix)),
        "can_edit": _can_edit(request.user)})


def alerts(request):
    prefix = _prefix(request)
    status = request.GET.get("status", AlertStatus.OPEN)
    status = status if status in AlertStatus.values else ""
    kind = request.GET.get("kind", "alert")
    kind = kind if kind in selectors.ALERT_KINDS else "alert"
    qs = selectors.alerts(request.user, prefix=prefix, status=status, kind=kind)
    return render(request, "assessment/alerts.html", {"page_obj": paginate(request, qs), "status": status,
                                                      "statuses": AlertStatus.choices, "kind": kind})


def alert_detail(request, pk: int):
    alert = get_object_or_404(RiskAlert.objects.restrict(request.user).select_related("household"), pk=pk)
    if request.method == "POST":
        if not _can_edit(request.user):
            raise PermissionDenied
        if "per_capita" in request.POST:
            run_service(request, lambda: services.income_survey_record(
                actor=request.user, task=alert, year=request.POST.get("year", ""),
                per_capita=request.POST.get("per_capita", ""), net_income=request.POST.get("net_income", "")), None)
        else:
            run_service(request, lambda: services.alert_close(actor=request.user, alert=alert,
                                                              note=request.POST.get("note", "")), None)
        return redirect(f"/assessment/alerts/{alert.pk}/")
    return render(request, "assessment/alert.html", {
        "alert": alert, "can_edit": _can_edit(request.user), "is_survey": alert.signal == INCOME_SURVEY,
        "survey_year": timezone.localdate().year - 1})


def household(request, key: str):
    from fupin.registry.models import Household

    hh = Household.objects.restrict(request.user).filter(uuid=key).first() if _is_uuid(key) else None
    if hh is None:
        raise Http404
    return render(request, "assessment/household.html", {
        "hh": hh, "gaps": PolicyGap.objects.restrict(request.user).filter(household=hh).select_related("rule", "person"),
        "alerts": RiskAlert.objects.restrict(request.user).filter(household=hh),
        "flags": KinshipFlag.objects.restrict(request.user).filter(household=hh).select_related("staff"),
        "can_edit": _can_edit(request.user)})


@require_POST
def self_report(request, key: str):
    from fupin.registry.models import Household

    hh = Household.objects.restrict(request.user).filter(uuid=key).first() if _is_uuid(key) else None
    if hh is None:
        raise Http404
    if not _can_edit(request.user):
        raise PermissionDenied
    run_service(request, lambda: services.risk_self_report(actor=request.user, household=hh,
                                                           detail=request.POST.get("detail", "")),
                _("Reported to the village team."))
    return redirect(f"/assessment/households/{hh.uuid}/")


def _is_uuid(key: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(key))
    except ValueError:
        return False
    return True


def schemes(request):
    """The scheme versions with their indicators; county staff make a draft, edit its indicators and release it."""
    from fupin.assessment.models import Indicator, Scheme

    _prefix(request)
    can_manage = request.user.can("approve_county")
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        p = request.POST
        try:
            if p.get("action") == "draft":
                run_service(request, lambda: services.scheme_draft(actor=request.user), None)
            elif p.get("action") == "release":
                scheme = get_object_or_404(Scheme, pk=p.get("scheme", 0))
                run_service(request, lambda: services.scheme_release(actor=request.user, scheme=scheme), None)
            elif p.get("action") == "indicator":
                scheme = get_object_or_404(Scheme, pk=p.get("scheme", 0))
                run_service(request, lambda: services.indicator_save(
                    actor=request.user, scheme=scheme,
                    code=p.get("code", ""), name=p.get("name", ""), subject_kind=p.get("subject_kind", ""),
                    formula=p.get("formula", ""), applies_when=p.get("applies_when", ""),
                    direction=p.get("direction", "higher"), target=float(p.get("target") or 0),
                    weight=float(p.get("weight") or 0), unit=p.get("unit", ""), drill=p.get("drill", "")), None)
            elif p.get("action") == "delete":
                indicator = get_object_or_404(Indicator, pk=p.get("id", 0))
                run_service(request, lambda: services.indicator_delete(actor=request.user, indicator=indicator), None)
        except ValueError:
            messages.error(request, _("Target and weight must be numbers."))
        return redirect("/assessment/schemes/")
    from fupin.assessment.models import PolicyRule

    return render(request, "assessment/schemes.html", {
        "schemes": Scheme.objects.prefetch_related("indicators").order_by("-number")[:10],
        "rules": PolicyRule.objects.select_related("policy", "department").order_by("code"),
        "can_manage": can_manage, "kinds": SubjectKind.choices})
