"""Pages of the assistance app. Thin: parse, call a service or selector, render. Every household is looked up with
`selectors.household_for(user, key)` (the user's jurisdiction plus the households they carry as a cadre)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.assistance import forms, imports, permissions, selectors, services
from fupin.assistance.choices import Colour, ErrandStatus
from fupin.assistance.conf import local_today
from fupin.assistance.filters import LIGHT_FILTERS
from fupin.assistance.models import (
    AreaPairing,
    AssistanceRecord,
    Cadre,
    Errand,
    HouseholdPairing,
    HouseholdPlan,
    LightRules,
    Measure,
    Policy,
    PolicyReceipt,
    RecordAttachment,
    Unit,
    WorkTeam,
)
from fupin.core.errors import ImportRefused, ServiceError
from fupin.core.pages import paginate, run_service
from fupin.core.uploads import discard, save_upload
from fupin.geo.areas import current_area
from fupin.geo.models import Division


def _prefix(request) -> str | None:
    area = current_area(request)
    if area is not None:
        return area.prefix
    return selectors.effective_prefix(request.user)


def _area_name(request, prefix: str | None) -> str:
    area = current_area(request)
    if area is not None:
        return area.name
    if not prefix:
        return _("All divisions")
    code = prefix if len(prefix) in (12, 15) else prefix.ljust(12, "0")
    return selectors._names([code]).get(code, prefix)


def _household(request, key):
    hh = selectors.household_for(request.user, key)
    if hh is None:
        raise Http404
    return hh


def _next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _hh_url(hh) -> str:
    return f"/assistance/households/{hh.uuid}/"


def _require(ok: bool) -> None:
    if not ok:
        raise PermissionDenied


def _approvers(area_code: str) -> list:
    """Users who may approve a reassignment here: town and city approvers whose jurisdiction covers the area."""
    from fupin.geo import responsible

    out = [u for u in responsible.users_covering(area_code, ("town_staff", "city_office")) if permissions.can_approve(u)]
    return sorted(out, key=lambda u: (-len(u.jurisdiction_prefix or ""), u.username))


# Overview and lists -----------------------------------------------------------------------------------------------


def overview(request):
    user = request.user
    prefix = _prefix(request)
    ctx = {"prefix": prefix, "area_name": _area_name(request, prefix)}
    if prefix is not None:
        lights = selectors.lights_within(user, prefix)
        since = local_today() - dt.timedelta(days=30)
        ctx.update(
            counts=selectors.light_counts(lights),
            unpaired=lights.filter(cadre__isnull=True).count(),
            areas=selectors.rollup(user, prefix=prefix),
            child_level=selectors.level_of(prefix),
            cadres=selectors.cadre_rollup(user, prefix=prefix, limit=15),
            units=selectors.unit_rollup(user, prefix=prefix)[:10],
            records_30=AssistanceRecord.objects.restrict(user).filter(area_code__startswith=prefix,
                                                                     occurred_on__gte=since).count(),
            open_errands=Errand.objects.restrict(user).filter(area_code__startswith=prefix,
                                                              status=ErrandStatus.OPEN).count(),
            rules=LightRules.objects.order_by("pk").first(),
        )
    return render(request, "assistance/overview.html", ctx)


def light_list(request):
    user = request.user
    prefix = _prefix(request)
    if prefix is None:
        return render(request, "assistance/light_list.html", {"page_obj": None})
    f = LIGHT_FILTERS.read(request.GET, user)
    f.tell(request)
    colour, cadre_id, unit_id = f["colour"], f["cadre"], f["unit"]
    qs = selectors.light_list(user, prefix=prefix, **f.values)
    page = paginate(request, qs)
    for lt in page:
        lt.reason_list = selectors.reasons_display(lt)
    return render(request, "assistance/light_list.html", {
        "page_obj": page, "colour": colour, "q": f.form["q"], "area_name": _area_name(request, prefix),
        "cadre": Cadre.objects.filter(pk=cadre_id).first() if cadre_id else None,
        "unit": Unit.objects.filter(pk=unit_id).first() if unit_id else None, "no_cadre": f["no_cadre"],
        "colours": Colour.choices, "can_record": permissions.can_record(user)})


def cadre_list(request):
    prefix = _prefix(request)
    rows = selectors.cadre_rollup(request.user, prefix=prefix) if prefix is not None else []
    if request.GET.get("only") == "red":
        rows = [r for r in rows if r["red"]]
    return render(request, "assistance/cadre_list.html", {"page_obj": paginate(request, rows),
                                                          "area_name": _area_name(request, prefix),
                                                          "only": request.GET.get("only", "")})


def cadre_detail(request, pk: int):
    user = request.user
    cadre = get_object_or_404(Cadre.objects.select_related("unit", "user"), pk=pk)
    prefix = _prefix(request)
    lights = selectors.light_list(user, prefix=prefix or "", cadre=cadre.pk)
    if not lights.exists() and cadre.user_id != user.pk and not permissions.can_administer(user):
        raise Http404
    page = paginate(request, lights)
    for lt in page:
        lt.reason_list = selectors.reasons_display(lt)
    return render(request, "assistance/cadre_detail.html", {
        "cadre": cadre, "page_obj": page, "summary": selectors.cadre_summary(user, cadre),
        "can_record": permissions.can_record(user), "area_name": _area_name(request, prefix)})


def cadre_search(request):
    """<option>s of active cadres matching the typed text (name, unit or phone), for the cadre pickers."""
    q = next((v for k, v in request.GET.items() if k.endswith("_q") or k == "q"), "").strip()[:50]
    qs = Cadre.objects.filter(is_active=True).select_related("unit")
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(unit__name__contains=q) | Q(phone__contains=q))
    cadres = list(qs.order_by("name")[:30])
    options = format_html_join("", '<option value="{}">{}</option>', ((c.pk, forms.cadre_label(c)) for c in cadres))
    empty = format_html('<option value="">{}</option>', "—" if cadres else _("No cadre found"))
    return HttpResponse(empty + options)


def unit_list(request):
    prefix = _prefix(request)
    rows = selectors.unit_rollup(request.user, prefix=prefix) if prefix is not None else []
    ctx = {"rows": rows, "area_name": _area_name(request, prefix), "can_admin": permissions.can_administer(request.user)}
    if permissions.can_manage(request.user):
        ctx["unit_form"] = forms.UnitForm()
        ctx["cadre_form"] = forms.CadreForm()
    return render(request, "assistance/unit_list.html", ctx)


@require_POST
def unit_new(request):
    _require(permissions.can_manage(request.user))
    form = forms.UnitForm(request.POST)
    if form.is_valid():
        run_service(request, lambda: services.unit_create(actor=request.user, **form.cleaned_data),
                    lambda unit: _("Unit %(name)s added.") % {"name": unit.name})
    else:
        messages.error(request, _("Please correct the unit form."))
    return redirect("assistance:units")


@require_POST
def cadre_new(request):
    _require(permissions.can_manage(request.user))
    form = forms.CadreForm(request.POST)
    if form.is_valid():
        cadre = run_service(request, lambda: services.cadre_create(actor=request.user, **form.cleaned_data),
                            lambda cadre: _("Cadre %(name)s added.") % {"name": cadre.name})
        if cadre is not None:
            return redirect(_next(request, cadre.get_absolute_url()))
    else:
        messages.error(request, _("Please correct the cadre form."))
    return redirect(_next(request, "/assistance/units/"))


def unit_detail(request, pk: int):
    user = request.user
    unit = get_object_or_404(Unit, pk=pk)
    prefix = _prefix(request)
    rows = selectors.cadre_rollup(user, prefix=prefix, unit_id=unit.pk) if prefix is not None else []
    counts = selectors.light_counts(selectors.lights_within(user, prefix).filter(unit=unit)) if prefix is not None \
        else {}
    pairings = AreaPairing.objects.restrict(user).filter(unit=unit, end_date__isnull=True).select_related("division")
    return render(request, "assistance/unit_detail.html", {"unit": unit, "rows": rows, "counts": counts,
                                                           "area_pairings": pairings,
                                                           "area_name": _area_name(request, prefix)})


# One household ---------------------------------------------------------------------------------------------------


def household(request, key: str):
    user = request.user
    hh = _household(request, key)
    ctx = selectors.household_assistance(hh)
    ctx.update(hh=hh, can_record=permissions.can_record(user), can_manage=permissions.can_manage(user),
               receipt_form=forms.ReceiptForm(initial={"received_on": local_today()}))
    return render(request, "assistance/household.html", ctx)


def panel(request, key: str):
    """The household-page panel (light, cadre, plan, policies) as a fragment."""
    hh = _household(request, key)
    return render(request, "assistance/_panel.html", {"hh": hh, **selectors.household_summary(hh),
                                                      "can_record": permissions.can_record(request.user)})


def record_visit(request, key: str):
    user = request.user
    hh = _household(request, key)
    _require(permissions.can_record(user))
    pairing = services.current_pairing(hh)
    cadres = [c for c in (pairing.cadre if pairing else None, selectors.user_cadre(user)) if c]
    cadres = list({c.pk: c for c in cadres}.values())
    form = forms.RecordForm(request.POST or None, cadres=cadres,
                            initial={"cadre": str(cadres[0].pk) if cadres else ""})
    upload_problems: list[str] = []
    if request.method == "POST":
        files = request.FILES.getlist("attachments")
        upload_problems = forms.check_uploads(files)
        if form.is_valid() and not upload_problems:
            d = form.cleaned_data
            try:
                services.record_create(
                    actor=user, household=hh, occurred_on=d["occurred_on"], content=d["content"], kind=d["kind"],
                    needs=d["needs"], cadre=form.cleaned_cadre(), lng=d["lng"], lat=d["lat"],
                    gps_accuracy=d["gps_accuracy"], uuid=request.POST.get("client_uuid") or None, attachments=files)
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                light = selectors.household_light(hh)
                colour = light.get_colour_display() if light else "—"
                messages.success(request, _("Assistance record saved; the light is now %(colour)s.")
                                 % {"colour": colour})
                return redirect(_next(request, _hh_url(hh)))
    return render(request, "assistance/record_form.html", {
        "hh": hh, "form": form, "upload_problems": upload_problems, "light": selectors.household_light(hh),
        "client_uuid": request.POST.get("client_uuid") or uuid.uuid4(), "next": _next(request, "")})


def errand_new(request, key: str):
    user = request.user
    hh = _household(request, key)
    _require(permissions.can_record(user))
    members = list(hh.members.filter(is_alive=True).order_by("id"))
    form = forms.ErrandForm(request.POST or None, members=members)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.errand_create(actor=user, household=hh, matter=d["matter"], office=d["office"],
                                   person=form.members.get(d["person"] or ""), opened_on=d["opened_on"],
                                   uuid=request.POST.get("client_uuid") or None)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Errand recorded."))
            return redirect(_hh_url(hh))
    return render(request, "assistance/errand_form.html", {"hh": hh, "form": form,
                                                           "client_uuid": request.POST.get("client_uuid")
                                                           or uuid.uuid4()})


def errand_list(request):
    user = request.user
    prefix = _prefix(request)
    qs = Errand.objects.restrict(user).select_related("household", "household__village", "handled_by")
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    status = request.GET.get("status", ErrandStatus.OPEN)
    if status in ErrandStatus.values:
        qs = qs.filter(status=status)
    return render(request, "assistance/errand_list.html", {
        "page_obj": paginate(request, qs.order_by("-opened_on", "-id")), "status": status,
        "statuses": ErrandStatus.choices, "area_name": _area_name(request, prefix),
        "close_form": forms.ErrandCloseForm(), "can_record": permissions.can_record(user)})


@require_POST
def errand_close(request, pk: int):
    user = request.user
    _require(permissions.can_record(user))
    errand = get_object_or_404(Errand.objects.filter(household__in=selectors.visible_households(user)), pk=pk)
    form = forms.ErrandCloseForm(request.POST)
    if form.is_valid():
        run_service(request, lambda: services.errand_close(actor=user, errand=errand, **form.cleaned_data),
                    _("Errand closed."))
    else:
        messages.error(request, _("Please give the result of the errand."))
    return redirect(_next(request, "/assistance/errands/"))


def pairing_edit(request, key: str):
    user = request.user
    hh = _household(request, key)
    _require(permissions.can_manage(user))
    current = services.current_pairing(hh)
    approvers = _approvers(hh.area_code)
    action = request.POST.get("action") if request.method == "POST" else None
    assign = forms.PairingAssignForm(request.POST if action == "assign" else None,
                                     initial={"start": local_today(), "post": "结对帮扶干部"})
    reassign = forms.PairingReassignForm(request.POST if action == "reassign" else None, approvers=approvers,
                                         initial={"approver": str(user.pk)})
    end = forms.PairingEndForm(request.POST if action == "end" else None)
    terms = forms.TermsForm(request.POST if action == "terms" else None, initial={
        "duty": current.duty, "post": current.post, "exit_commitment": current.exit_commitment,
        "exit_target_year": current.exit_target_year} if current else None)
    done = None
    if action == "assign" and assign.is_valid():
        d = assign.cleaned_data

        def assign_cadre():
            cadre = d["cadre"] or services.cadre_create(actor=user, name=d["new_name"], unit=d["new_unit"],
                                                        phone=d["new_phone"], post=d["new_post"])
            services.pairing_assign(actor=user, household=hh, cadre=cadre, start=d["start"], duty=d["duty"],
                                    post=d["post"], exit_commitment=d["exit_commitment"],
                                    exit_target_year=d["exit_target_year"])
            return cadre

        done = run_service(request, assign_cadre, lambda cadre: _(
            "%(cadre)s is now responsible for this household.") % {"cadre": cadre})
    elif action == "reassign" and reassign.is_valid():
        d = reassign.cleaned_data
        done = run_service(request, lambda: services.pairing_reassign(
            actor=user, household=hh, cadre=d["cadre"], reason=d["reason"], approver=reassign.cleaned_approver(),
            start=d["start"]), _("Reassigned to %(cadre)s.") % {"cadre": d["cadre"]})
    elif action == "end" and end.is_valid():
        done = run_service(request, lambda: services.pairing_end(actor=user, household=hh,
                                                                 reason=end.cleaned_data["reason"]),
                           _("Pairing ended."))
    elif action == "terms" and terms.is_valid() and current:
        done = run_service(request, lambda: services.pairing_update_terms(actor=user, pairing=current,
                                                                          **terms.cleaned_data),
                           _("Terms saved."))
    if done is not None:
        return redirect(_hh_url(hh))
    history = HouseholdPairing.objects.filter(household=hh).select_related("cadre", "unit", "approved_by",
                                                                           "ended_by").order_by("-start_date", "-id")
    return render(request, "assistance/pairing_form.html", {
        "hh": hh, "current": current, "assign": assign, "reassign": reassign, "end": end, "terms": terms,
        "history": history, "exited": services.household_exited(hh), "approvers": approvers})


def plan(request, key: str):
    user = request.user
    hh = _household(request, key)
    can_manage = permissions.can_manage(user) or selectors.user_cadre(user) is not None
    suggestions = selectors.measure_suggestions(hh)
    action = request.POST.get("action") if request.method == "POST" else None
    if action:
        _require(can_manage)
    current_plan = HouseholdPlan.objects.filter(household=hh).order_by("-year").first()
    goal = forms.PlanGoalForm(request.POST if action == "goal" else None, initial={
        "goal": current_plan.goal if current_plan else "",
        "exit_target_year": current_plan.exit_target_year if current_plan else None})
    suggest_form = forms.SuggestionsForm(request.POST if action == "suggest" else None, suggestions=suggestions,
                                         initial={"target_date": local_today() + dt.timedelta(days=90)})
    measure = forms.MeasureForm(request.POST if action == "add" else None,
                                initial={"target_date": local_today() + dt.timedelta(days=90)})
    pairing = services.current_pairing(hh)
    done = None
    if action == "goal" and goal.is_valid():
        done = run_service(request, lambda: services.household_plan_ensure(
            actor=user, household=hh, goal=goal.cleaned_data["goal"],
            exit_target_year=goal.cleaned_data["exit_target_year"]), _("Plan saved."))
    elif action == "suggest" and suggest_form.is_valid():
        done = run_service(request, lambda: services.measures_confirm(
            actor=user, household=hh, titles=suggest_form.cleaned_data["titles"],
            target_date=suggest_form.cleaned_data["target_date"], responsible=pairing.cadre if pairing else None),
            lambda made: _("%(n)d measures added to the plan.") % {"n": len(made)})
    elif action == "add" and measure.is_valid():
        done = run_service(request, lambda: services.measure_add(actor=user, household=hh, **measure.cleaned_data),
                           _("Measure added."))
    if done is not None:
        return redirect(request.path)
    data = selectors.household_assistance(hh)
    return render(request, "assistance/plan.html", {
        "hh": hh, **data, "goal_form": goal, "suggest_form": suggest_form, "measure_form": measure,
        "suggestions": suggestions, "can_manage": can_manage,
        "update_form": forms.MeasureUpdateForm()})


@require_POST
def measure_update(request, pk: int):
    user = request.user
    m = get_object_or_404(Measure.objects.filter(household__in=selectors.visible_households(user))
                          .select_related("household"), pk=pk)
    hh = m.household
    _require(permissions.can_manage(user) or selectors.user_cadre(user) is not None)
    form = forms.MeasureUpdateForm(request.POST, request.FILES)
    if form.is_valid():
        d = form.cleaned_data
        run_service(request, lambda: services.measure_update(
            actor=user, measure=m, status=d["status"], target_date=d["target_date"], evidence=d["evidence"] or None,
            evidence_file=d["evidence_file"] or None), _("Measure updated."))
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect(_next(request, f"{_hh_url(hh)}plan/"))


@require_POST
def receipt_add(request, key: str):
    user = request.user
    hh = _household(request, key)
    _require(permissions.can_manage(user))
    form = forms.ReceiptForm(request.POST)
    if form.is_valid():
        run_service(request, lambda: services.policy_receipt_add(actor=user, household=hh, **form.cleaned_data),
                    _("Policy received recorded."))
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect(f"{_hh_url(hh)}#policies")


# Pairing management -------------------------------------------------------------------------------------------------


def _run_import(request, fn) -> dict | None:
    """Save the upload to a temporary file, run the import, and report refusals row by row on the page."""
    form = forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to import."))
        return None
    upload = form.cleaned_data["file"]
    tmp = None
    try:
        tmp = save_upload(upload)  # a random name: the uploaded name never becomes a path
        return fn(actor=request.user, path=str(tmp))
    except ImportRefused as exc:
        request.import_problems = exc
        return None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None
    finally:
        discard(tmp)


def pairing_home(request):
    user = request.user
    _require(permissions.can_manage(user) or permissions.can_import(user))
    prefix = _prefix(request)
    result = None
    if request.method == "POST":
        _require(permissions.can_import(user))
        result = _run_import(request, imports.import_pairings)
        if result:
            messages.success(request, _("%(paired)d households paired (%(cadres)d new cadres, %(units)d new units).")
                             % {"paired": result["paired"], "cadres": result["cadres_created"],
                                "units": result["units_created"]})
            return redirect(request.path)
    lights = selectors.lights_within(user, prefix) if prefix is not None else None
    unpaired = selectors.light_list(user, prefix=prefix or "", no_cadre=True) if prefix is not None else []
    changes = HouseholdPairing.objects.restrict(user).filter(end_date__isnull=False).select_related(
        "household", "cadre", "successor__cadre", "approved_by").order_by("-end_date", "-id")
    if prefix:
        changes = changes.filter(area_code__startswith=prefix)
    return render(request, "assistance/pairing_home.html", {
        "area_name": _area_name(request, prefix), "page_obj": paginate(request, unpaired),
        "paired": lights.filter(cadre__isnull=False).count() if lights is not None else 0,
        "unpaired_count": lights.filter(cadre__isnull=True).count() if lights is not None else 0,
        "changes": changes[:20], "import_form": forms.ImportForm(),
        "import_problems": getattr(request, "import_problems", None),
        "can_import": permissions.can_import(user)})


def _divisions_in(user, prefix: str | None, levels: tuple[str, ...]) -> list[Division]:
    qs = Division.objects.restrict(user).filter(level__in=levels)
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    return list(qs.order_by("code"))


def area_pairings(request):
    user = request.user
    prefix = _prefix(request)
    can_manage = permissions.can_manage(user)
    villages = _divisions_in(user, prefix, ("village", "community"))
    towns = _divisions_in(user, prefix, ("town",))
    action = request.POST.get("action") if request.method == "POST" else None
    if action:
        _require(can_manage)
    form = forms.AreaPairingForm(request.POST if action == "pair" else None, divisions=towns + villages,
                                 initial={"start": local_today()})
    team_form = forms.WorkTeamForm(request.POST if action == "team" else None, villages=villages,
                                   initial={"formed_on": local_today()})
    done = None
    if action == "pair" and form.is_valid():
        d = form.cleaned_data
        done = run_service(request, lambda: services.area_pairing_create(
            actor=user, kind=d["kind"], division=form.divisions[d["division"]], cadre=d["cadre"], unit=d["unit"],
            start=d["start"], duty=d["duty"], post=d["post"], exit_commitment=d["exit_commitment"],
            exit_target_year=d["exit_target_year"]), _("Pairing saved."))
    elif action == "team" and team_form.is_valid():
        d = team_form.cleaned_data
        done = run_service(request, lambda: services.work_team_create(
            actor=user, village=team_form.villages[d["village"]], unit=d["unit"], leader=d["leader"],
            members=_members_by_name(user, d["members"], d["unit"]), name=d["name"], formed_on=d["formed_on"]),
            _("Work team formed."))
    if done is not None:
        return redirect(request.get_full_path())
    qs = AreaPairing.objects.restrict(user).filter(end_date__isnull=True).select_related(
        "division", "cadre", "unit", "team", "team__leader")
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    return render(request, "assistance/area_pairings.html", {
        "page_obj": paginate(request, qs.order_by("area_code", "kind"), per_page=100), "form": form,
        "team_form": team_form, "can_manage": can_manage, "area_name": _area_name(request, prefix),
        "kind": kind, "kinds": AreaPairing._meta.get_field("kind").choices,
        "teams": WorkTeam.objects.restrict(user).filter(dissolved_on__isnull=True).select_related(
            "unit", "leader", "village").prefetch_related("members").filter(
            area_code__startswith=prefix or "")[:200]})


def _members_by_name(user, text: str, unit: Unit) -> list[Cadre]:
    names = [n.strip() for n in text.replace(",", ",").replace("、", ",").split(",") if n.strip()]
    out = []
    for name in names:
        cadre = Cadre.objects.filter(name=name, unit=unit).first() or services.cadre_create(actor=user, name=name,
                                                                                           unit=unit)
        out.append(cadre)
    return out


def area_pairing_edit(request, pk: int):
    user = request.user
    pairing = get_object_or_404(AreaPairing.objects.restrict(user).select_related("division", "cadre", "unit",
                                                                                   "team"), pk=pk)
    _require(permissions.can_manage(user))
    approvers = _approvers(pairing.area_code)
    action = request.POST.get("action") if request.method == "POST" else None
    reassign = forms.AreaReassignForm(request.POST if action == "reassign" else None, approvers=approvers,
                                      initial={"approver": str(user.pk)})
    end = forms.PairingEndForm(request.POST if action == "end" else None)
    done = None
    if action == "reassign" and reassign.is_valid():
        d = reassign.cleaned_data
        done = run_service(request, lambda: services.area_pairing_reassign(
            actor=user, pairing=pairing, reason=d["reason"], approver=reassign.approvers.get(d["approver"]),
            cadre=d["cadre"] or pairing.cadre if pairing.kind != "work_team" else None,
            unit=d["unit"] or pairing.unit, team=pairing.team if pairing.kind == "work_team" else None),
            _("Reassigned."))
    elif action == "end" and end.is_valid():
        done = run_service(request, lambda: services.area_pairing_end(actor=user, pairing=pairing,
                                                                      reason=end.cleaned_data["reason"]),
                           _("Pairing ended."))
    if done is not None:
        return redirect("assistance:area_pairings")
    history = AreaPairing.objects.filter(kind=pairing.kind, division=pairing.division).select_related(
        "cadre", "unit", "team", "approved_by").order_by("-start_date", "-id")
    return render(request, "assistance/area_pairing_form.html", {
        "pairing": pairing, "reassign": reassign, "end": end, "history": history,
        "exited": services.division_exited(pairing.division)})


def village_plan(request, code: str):
    user = request.user
    village = get_object_or_404(Division.objects.restrict(user), code=code, level__in=("village", "community"))
    year = int(request.GET.get("year") or local_today().year)
    existing = selectors.village_plan(village, year)
    can_manage = permissions.can_manage(user)
    form = forms.VillagePlanForm(request.POST or None, initial={
        "year": year, **({k: getattr(existing, k) for k in ("projects", "leading_industries", "infrastructure",
                                                             "targets", "exit_target_year")} if existing else {})})
    if request.method == "POST":
        _require(can_manage)
        if form.is_valid():
            if run_service(request, lambda: services.village_plan_save(actor=user, village=village,
                                                                       **form.cleaned_data),
                           _("Village plan saved.")) is not None:
                return redirect(f"{request.path}?year={form.cleaned_data['year']}")
    lights = selectors.visible_lights(user).filter(village_code=village.code)
    return render(request, "assistance/village_plan.html", {
        "village": village, "plan": existing, "form": form, "can_manage": can_manage, "year": year,
        "plans": village.assistance_plans.order_by("-year"), "pairings": selectors.village_pairings(village),
        "counts": selectors.light_counts(lights),
        "measure_counts": Measure.objects.restrict(user).filter(area_code__startswith=village.code)
        .values("kind").order_by("kind").annotate(n=Count("pk"))})


# Policies and settings ----------------------------------------------------------------------------------------------


def policies(request):
    user = request.user
    can_admin = permissions.can_administer(user)
    form = forms.PolicyForm(request.POST if request.method == "POST" and request.POST.get("action") == "policy"
                            else None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "policy":
            _require(can_admin)
            if form.is_valid():
                if run_service(request, lambda: services.policy_create(actor=user, **form.cleaned_data),
                               _("Policy added to the catalogue.")) is not None:
                    return redirect(request.path)
        elif action == "import":
            _require(permissions.can_import(user))
            result = _run_import(request, imports.import_policy_receipts)
            if result:
                messages.success(request, _("%(n)d policies received recorded.") % {"n": result["receipts"]})
                return redirect(request.path)
    prefix = _prefix(request)
    receipts = PolicyReceipt.objects.restrict(user).select_related("household", "policy")
    if prefix:
        receipts = receipts.filter(area_code__startswith=prefix)
    catalogue = Policy.objects.select_related("department").annotate(
        n=Count("receipts")).order_by("kind", "name")
    return render(request, "assistance/policies.html", {
        "catalogue": catalogue, "form": form, "can_admin": can_admin, "import_form": forms.ImportForm(),
        "can_import": permissions.can_import(user), "import_problems": getattr(request, "import_problems", None),
        "recent": receipts.order_by("-received_on", "-id")[:30], "area_name": _area_name(request, prefix)})


def rules(request):
    user = request.user
    current = selectors.light_rules()
    form = forms.LightRulesForm(request.POST or None, initial=current)
    if request.method == "POST":
        _require(permissions.can_administer(user))
        if form.is_valid():
            if run_service(request, lambda: services.light_rules_update(actor=user, **form.cleaned_data),
                           _("Thresholds saved; every light was recomputed.")) is not None:
                return redirect(request.path)
    return render(request, "assistance/rules.html", {"form": form, "can_admin": permissions.can_administer(user)})


# Uploaded files: served only through the owning object, inside the user's jurisdiction --------------------------

def _file_response(field, name: str = ""):
    from django.http import FileResponse

    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, filename=name or Path(field.name).name)


def attachment_download(request, uuid):
    """A visit record's photo or file (佐证资料): 404 outside the user's jurisdiction."""
    att = get_object_or_404(RecordAttachment.objects.restrict(request.user), uuid=uuid)
    return _file_response(att.file)


def measure_evidence(request, pk: int):
    """A measure's evidence file: 404 outside the user's jurisdiction."""
    measure = get_object_or_404(Measure.objects.restrict(request.user), pk=pk)
    return _file_response(measure.evidence_file)
