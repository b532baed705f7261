"""Pages of the procedures: the pipeline, starting one, a procedure with its next step, batches and their notice
lists, attachments, the household's 明白卡 and panel, the county settings. Views are thin: services write, selectors
read, and every read is restricted to the user's jurisdiction (404 outside)."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core import exportlog
from fupin.core.errors import ServiceError
from fupin.core.pages import file_response, is_htmx, paginate, run_service
from fupin.core.scoping import covers
from fupin.geo.areas import filter_area
from fupin.geo.models import Division
from fupin.lifecycle import documents, hooks, selectors, services
from fupin.lifecycle.choices import Kind, Status
from fupin.lifecycle.definitions import GUARANTEES, PROCEDURES, SPOT_CHECK_LABEL, VILLAGE_CONDITIONS
from fupin.lifecycle.filters import PROCEDURE_FILTERS
from fupin.lifecycle.forms import SettingsForm, SpotCheckForm, StepForm
from fupin.lifecycle.models import Procedure, ProcedureBatch, StepAttachment
from fupin.registry.models import Household
from fupin.registry.selectors import household_ids_matching


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return True


def _household(request, key: str) -> Household:
    qs = Household.objects.restrict(request.user).select_related("village", "village__parent")
    hh = qs.filter(poor_code=key).first()
    if hh is None and _is_uuid(key):
        hh = qs.filter(uuid=key).first()
    if hh is None:
        raise Http404
    return hh


def _procedure(request, uuid) -> Procedure:
    try:
        return selectors.procedure_detail(user=request.user, uuid=uuid)
    except Procedure.DoesNotExist:
        raise Http404 from None


def _batch(request, uuid) -> ProcedureBatch:
    batch = selectors.batches_for(user=request.user).filter(uuid=uuid).first()
    if batch is None:
        raise Http404
    return batch


def may_record(user, step, area_code: str) -> bool:
    return bool(step and user.role in step.roles and covers(user, area_code))


# Pipeline ------------------------------------------------------------------------------------------------------

def pipeline(request):
    data = request.GET.copy()
    data.setdefault("status", "open")  # the page opens on the procedures in progress
    data.pop("division", None)  # the page's area (fupin/geo/areas.py), as on every page
    found = PROCEDURE_FILTERS.read(data, request.user)
    found.tell(request)
    values = found.values
    kind, status, step = values["kind"], values["status"] or "open", values["step"]
    qs = filter_area(selectors.procedure_list(user=request.user, **{**values, "status": status}), request)
    area = request.GET.get("division", "")
    counts = selectors.pipeline_counts(user=request.user, division=area if area.isdigit() else "")
    page_obj = paginate(request, qs)
    steps = [(s.code, s.label) for s in PROCEDURES[kind].steps] if kind else []
    return render(request, "lifecycle/pipeline.html", {
        "counts": counts, "page_obj": page_obj, "kinds": Kind.choices, "statuses": Status.choices,
        "kind": kind, "status": status, "step": step, "steps": steps, "q": values["q"],
        "can_start": request.user.can("edit"),
    })


# Starting ------------------------------------------------------------------------------------------------------

START_FILTERS = {
    Kind.IDENTIFICATION: Q(is_registered_poor=False),
    Kind.EXIT: Q(is_registered_poor=True, poverty_status__in=["0", "3"]),
    Kind.RETURN_TO_POVERTY: Q(is_registered_poor=True, poverty_status__in=["1", "4"]),
    Kind.MONITORING_ENTRY: Q(monitoring_category=""),
    Kind.MONITORING_EXIT: ~Q(monitoring_category=""),
}


def start(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or Kind.IDENTIFICATION
    if kind not in PROCEDURES:
        raise Http404
    pdef = PROCEDURES[kind]
    household = village = None
    key = request.POST.get("household") or request.GET.get("household")
    code = request.POST.get("village") or request.GET.get("village")
    if pdef.subject == "household" and key:
        household = _household(request, key)
    if pdef.subject == "village" and code:
        village = get_object_or_404(Division.objects.restrict(request.user), code=code, level="village")
    if request.method == "POST" and (household or village):
        proc = run_service(request, lambda: services.procedure_start(
            actor=request.user, kind=kind, household=household, village=village,
            date=request.POST.get("date") or None), _("Procedure started."))
        if proc is not None:
            return redirect(proc.get_absolute_url())
    candidates, incidences = [], []
    q = request.GET.get("q", "").strip()
    if pdef.subject == "household" and household is None:
        qs = filter_area(Household.objects.restrict(request.user), request).filter(START_FILTERS[kind])
        qs = qs.exclude(procedures__status=Status.OPEN).select_related("village")
        if q:
            qs = qs.filter(pk__in=household_ids_matching(request.user, q))
        candidates = list(qs.order_by("area_code", "head_name")[:50])
    if pdef.subject == "village" and village is None:
        villages = Division.objects.restrict(request.user).filter(level="village", is_poor_village=True)
        incidences = [(v, selectors.village_incidence(v)) for v in villages.order_by("code")[:200]]
    inc = selectors.village_incidence(village) if village else None
    return render(request, "lifecycle/start.html", {
        "kind": kind, "pdef": pdef, "kinds": [(k, p.label) for k, p in PROCEDURES.items()],
        "household": household, "village": village, "candidates": candidates, "incidences": incidences,
        "incidence": inc, "threshold": selectors.setting_value("village_exit_incidence_threshold"), "q": q,
        "today": timezone.localdate(),
    })


# One procedure -------------------------------------------------------------------------------------------------

def _earliest_date(proc: Procedure) -> dt.date | None:
    """The earliest date the current step may carry: the last step's date, or the day after the notice ends."""
    done = [s for s in proc.steps.all() if not s.is_spot_check]
    if not done or not proc.current_step:
        return None
    earliest = done[-1].date
    pdef = proc.definition
    idx = pdef.index(proc.current_step)
    if idx and pdef.steps[idx - 1].notice:
        notice = selectors.latest_step(proc, pdef.steps[idx - 1].code)
        if notice is not None:
            earliest = max(earliest, dt.date.fromisoformat(notice.data["notice_until"]) + dt.timedelta(days=1))
    return earliest


def _detail_context(request, proc: Procedure, *, form=None, spot_form=None) -> dict:
    sdef = proc.current_step_def
    can = proc.status == Status.OPEN and may_record(request.user, sdef, proc.area_code)
    pdef = proc.definition
    earliest = _earliest_date(proc)
    if can and form is None:
        form = StepForm(step=sdef, kind=proc.kind, first=pdef.index(sdef.code) == 0,
                        initial={"date": timezone.localdate()})
    spot_level = sdef.spot_check if (sdef and sdef.spot_check and proc.status == Status.OPEN) else None
    spot_state = selectors.spot_check_state(proc.batch, spot_level, procedure=proc) if spot_level else None
    can_spot = bool(spot_level) and may_record(request.user, sdef, proc.area_code)
    if can_spot and spot_form is None:
        spot_form = SpotCheckForm(initial={"date": timezone.localdate()})
    preview = {}
    hh = proc.household
    if sdef and proc.status == Status.OPEN:
        if "assessment" in sdef.checks and hh is not None:
            preview["assessments"] = [r for r in (fn(hh) for fn in hooks.assessment_providers()) if r]
        if "findings" in sdef.checks:
            preview["findings_providers"] = len(hooks.findings_providers())
        if "income_and_guarantees" in sdef.checks and hh is not None:
            from fupin.registry.models import PovertyLine

            line = PovertyLine.objects.filter(year=hh.income_year).first() if hh.income_year else None
            preview["income"] = {"year": hh.income_year, "per_capita": hh.per_capita_net_income,
                                 "line": line.amount if line else None,
                                 "above": bool(line and hh.per_capita_net_income > line.amount)}
        if "village_conditions" in sdef.checks:
            preview["incidence"] = selectors.village_incidence(proc.village)
            preview["threshold"] = selectors.setting_value("village_exit_incidence_threshold")
    steps = list(proc.steps.all())
    done_codes = {s.step for s in steps if s.decision == "approve"}
    plan = [{"code": s.code, "label": s.label, "done": s.code in done_codes and (
        proc.status != Status.OPEN or pdef.index(s.code) < pdef.index(proc.current_step)),
        "current": s.code == proc.current_step, "notice": s.notice, "spot_check": s.spot_check}
        for s in pdef.steps]
    return {
        "proc": proc, "pdef": pdef, "step_def": sdef, "steps": steps, "plan": plan, "form": form, "can_record": can,
        "spot_level": spot_level, "spot_label": SPOT_CHECK_LABEL.get(spot_level or "", ""),
        "spot_state": spot_state, "spot_form": spot_form if can_spot else None, "preview": preview,
        "earliest": earliest, "notice_running": bool(earliest and earliest > timezone.localdate()),
        "guarantee_labels": dict(GUARANTEES), "condition_labels": dict(VILLAGE_CONDITIONS),
        "step_roles": "、".join(services.role_name(r) for r in sorted(sdef.roles)) if sdef else "",
    }


def procedure_detail(request, uuid):
    proc = _procedure(request, uuid)
    return render(request, "lifecycle/procedure.html", _detail_context(request, proc))


@require_POST
def record_step(request, uuid):
    proc = _procedure(request, uuid)
    sdef = proc.current_step_def
    if sdef is None or request.POST.get("step") != sdef.code:
        messages.error(request, _("This step has already been recorded; the page shows the current state."))
        return redirect(proc.get_absolute_url())
    form = StepForm(request.POST, request.FILES, step=sdef, kind=proc.kind, first=proc.definition.index(sdef.code) == 0)
    if form.is_valid():
        try:
            services.procedure_record_step(
                actor=request.user, procedure=proc, step=sdef.code, decision=form.cleaned_data["decision"],
                date=form.cleaned_data["date"], notes=form.cleaned_data["notes"], attachments=form.uploads(),
                data=form.step_data(), client_uuid=request.POST.get("client_uuid") or None)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Step recorded."))
            return redirect(proc.get_absolute_url())
    proc = _procedure(request, uuid)
    return render(request, "lifecycle/procedure.html", _detail_context(request, proc, form=form), status=400)


@require_POST
def record_spot_check(request, uuid):
    proc = _procedure(request, uuid)
    sdef = proc.current_step_def
    if sdef is None or not sdef.spot_check:
        raise Http404
    form = SpotCheckForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.procedure_record_spot_check(
                actor=request.user, procedure=proc, level=sdef.spot_check, date=form.cleaned_data["date"],
                notes=form.cleaned_data["notes"], finding=form.cleaned_data["finding"],
                attachments=[("photo", f) for f in form.cleaned_data["photos"]])
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Spot-check recorded."))
            return redirect(proc.get_absolute_url())
    proc = _procedure(request, uuid)
    return render(request, "lifecycle/procedure.html", _detail_context(request, proc, spot_form=form), status=400)


def attachment(request, uuid):
    att = StepAttachment.objects.restrict(request.user).filter(uuid=uuid).first()
    if att is None:
        raise Http404
    inline = att.content_type in services.IMAGE_TYPES or att.content_type == "application/pdf"
    try:
        fh = att.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(fh, content_type=att.content_type, as_attachment=not inline, filename=att.name)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# Batches and notice lists --------------------------------------------------------------------------------------

def batch_list(request):
    qs = selectors.batches_for(user=request.user).order_by("-year", "town__code", "kind", "number")
    area = request.GET.get("division", "")
    if area.isdigit():
        qs = qs.filter(town__code__startswith=area[:9])
    return render(request, "lifecycle/batch_list.html", {"page_obj": paginate(request, qs)})


def batch_detail(request, uuid):
    batch = _batch(request, uuid)
    procs = list(selectors.batch_procedures(user=request.user, batch=batch))
    pdef = PROCEDURES[batch.kind]
    checks = [selectors.spot_check_state(batch, level) for level in pdef.spot_check_levels]
    notices = [(s.code, s.label) for s in pdef.steps if s.notice]
    return render(request, "lifecycle/batch.html", {"batch": batch, "procs": procs, "pdef": pdef,
                                                    "checks": checks, "notices": notices})


def _notice_step(batch: ProcedureBatch, step: str) -> str:
    if step not in {s.code for s in PROCEDURES[batch.kind].steps if s.notice}:
        raise Http404
    return step


@exportlog.accountable("lifecycle.notice", "识别退出公示", full_ids=False)
def notice_pdf(request, uuid, step):
    batch = _batch(request, uuid)
    step = _notice_step(batch, step)
    try:
        data = documents.notice_pdf(user=request.user, batch=batch, step_code=step)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")
    return file_response(data, f"{documents.notice_title(batch, step)}.pdf", inline=True)


@exportlog.accountable("lifecycle.notice", "识别退出公示", full_ids=False)
def notice_xlsx(request, uuid, step):
    batch = _batch(request, uuid)
    step = _notice_step(batch, step)
    data = documents.notice_xlsx(user=request.user, batch=batch, step_code=step)
    return file_response(data, f"{documents.notice_title(batch, step)}.xlsx")


# The household -------------------------------------------------------------------------------------------------

def household_card(request, key):
    hh = _household(request, key)
    try:
        data = documents.household_card_pdf(user=request.user, household=hh)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")
    return file_response(data, f"{hh.head_name}户明白卡.pdf", inline=True)


def panel_context(request, household: Household) -> dict:
    """What `lifecycle/_household_panel.html` needs: the household's procedures and what may be started."""
    procs = list(selectors.household_procedures(user=request.user, household=household))
    open_proc = next((p for p in procs if p.status == Status.OPEN), None)
    startable = []
    if open_proc is None and request.user.can("edit"):
        # every start condition in one query (one COUNT per condition) rather than one query each
        kinds = list(START_FILTERS)
        met = Household.objects.filter(pk=household.pk).aggregate(
            **{f"k{i}": Count("pk", filter=START_FILTERS[kind]) for i, kind in enumerate(kinds)})
        for i, kind in enumerate(kinds):
            if met[f"k{i}"] and may_record(request.user, PROCEDURES[kind].first, household.area_code):
                startable.append((kind, PROCEDURES[kind].label))
    return {"panel_title": _("Procedures"), "household": household, "procedures": procs, "open_procedure": open_proc,
            "startable": startable,
            "card_url": f"/procedures/households/{household.poor_code or household.uuid}/card.pdf",
            "household_key": household.poor_code or str(household.uuid)}


def household_panel(request, key):
    """The panel alone for htmx (the household page loads it), else a page around it."""
    hh = _household(request, key)
    template = "lifecycle/_household_panel.html" if is_htmx(request) else "lifecycle/household.html"
    return render(request, template, panel_context(request, hh))


# Villages and settings -----------------------------------------------------------------------------------------

def settings_view(request):
    rows = selectors.settings_table()
    may_change = request.user.is_superuser or request.user.role == "city_office"
    form = SettingsForm(request.POST or None, rows=rows)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            def save():
                for row in rows:
                    value = form.cleaned_data[row["key"]]
                    if value != row["value"]:
                        services.procedure_setting_set(actor=request.user, key=row["key"], value=value)

            if run_service(request, save, _("Settings saved.")) is not None:
                return redirect("lifecycle:settings")
    return render(request, "lifecycle/settings.html", {"rows": rows, "form": form, "may_change": may_change})
