"""Pages of the registry: the household list with filters and search, the household page, roster import (a
background job with progress) and export, import problems, poor villages, membership changes.

Views are thin: selectors read (always through `.restrict(request.user)`), services write. ID numbers reach templates
already masked for users who may not see them in full.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fupin.core import idviews
from fupin.core.errors import ServiceError
from fupin.core.fields import sealed_names
from fupin.core.models import Batch, Job
from fupin.core.pages import capability_required, is_htmx, paginate, run_service
from fupin.core.services import job_create
from fupin.core.uploads import save_upload
from fupin.geo.areas import current_area
from fupin.geo.models import Division
from fupin.registry import exporter, panels, selectors, services
from fupin.registry.filters import household_filters, household_queryset
from fupin.registry.forms import ImportForm, MemberChangeForm
from fupin.registry.jobs import IMPORT_ROSTER
from fupin.registry.labels import code_tables
from fupin.registry.models import Household, ImportProblem, Person, PovertyLine, VillageProfile

TRUE = ("1", "true", "yes", "on")


def _masker(user):
    return idviews.formatter(user)


def list_filters(request) -> dict:
    """The household list's filters from the query string (fupin/registry/filters.py, shared with the API; also used
    by the exports, so they export what is shown); a refused value is said on the page and not applied.

    `poor=1` (default) registered poor only, `poor=0` the others, `all=1` or `poor=all` every resident;
    `status`, `attribute`, `cause` take one code or several separated by commas; `grid` a grid code
    (`has_grid=0` households in no grid); `located=0/1`; `year_exited`; `q` the search box.
    """
    return _read_filters(request)[1]


def _read_filters(request):
    found = household_filters().read(request.GET, request.user)
    found.tell(request)
    area = current_area(request)
    v = found.values
    every_resident = v["all"] or v["poor"] == "all"
    form = {**found.form, "grid": v["grid"], "q": v["q"]}
    return found, {
        **form, "area_prefix": area.prefix if area else None,
        "registered_only": not every_resident and v["poor"] != "0",
        "not_registered": v["poor"] == "0" and not every_resident, "every_resident": every_resident,
        "include_dissolved": v["dissolved"],
    }


def filtered_households(request):
    found, f = _read_filters(request)
    return household_queryset(request.user, found, area_prefix=f["area_prefix"]), f


@capability_required("view")
def household_list(request):
    qs, f = filtered_households(request)
    # the list shows no sealed value of a household (its phone stays closed); the heads' IDs are read below
    qs = panels.order_list(qs).defer(*sealed_names(Household))
    page = paginate(request, qs)
    mask = _masker(request.user)
    tables = code_tables()
    heads = {}
    for hid, number in Person.objects.filter(household__in=[h.pk for h in page.object_list], relationship="户主",
                                             is_alive=True).values_list("household_id", "id_number"):
        heads.setdefault(hid, mask(number))
    # every cell computed here, once, as plain values: the template reads each with one dict lookup (a row's
    # `hh.village.parent.name` was four lookups, each trying a dict first, for 50 rows)
    rows = [{"url": h.get_absolute_url(), "code": h.poor_code, "head": h.head_name,
             "pinned": getattr(h, "is_pinned", False), "dissolved": bool(h.dissolved_on),
             "head_id": heads.get(h.pk, ""), "town": h.village.parent.name if h.village.parent_id else "",
             "village": h.village.name, "grid": h.grid.name if h.grid_id else "", "size": h.size,
             "income": h.per_capita_net_income, "attribute": tables.shown("attribute", h.attribute),
             "cause": tables.shown("cause", h.main_cause), "status": tables.shown("status", h.poverty_status),
             "status_color": tables.color("status", h.poverty_status)} for h in page.object_list]
    persons = []
    if f["q"]:
        persons = [{"p": p, "id": mask(p.id_number)} for p in selectors.search_persons(request.user, f["q"], limit=10)]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "registry/household_list.html", {
        "page_obj": page, "rows": rows, "f": f, "tables": tables, "persons": persons,
        "extra_filters": [(x, x.choices(request.user), f.get(x.key, "")) for x in selectors.extra_filters()],
        "export_query": query.urlencode(), "may_import": request.user.can("import"),
        "statuses": tables.shown_choices("status"), "attributes": tables.shown_choices("attribute"),
        "causes": tables.shown_choices("cause"),
    })


@capability_required("view")
def household_detail(request, key):
    hh = selectors.household_get(request.user, key)
    tables = code_tables()
    mask = _masker(request.user)
    members = selectors.household_members(hh)
    changes = list(selectors.member_changes(hh)[:100])
    lines = dict(PovertyLine.objects.values_list("year", "amount"))
    member_rows = [{"p": p, "id": mask(p.id_number), "card": mask(p.disability_card),
                    "relationship": tables.shown("relationship", p.relationship), "sex": tables.shown("sex", p.sex),
                    "ethnicity": tables.shown("ethnicity", p.ethnicity),
                    "education": tables.shown("education", p.education),
                    "schooling": tables.shown("schooling", p.schooling), "health": tables.shown_many("health", p.health),
                    "labour": tables.shown("labour", p.labour_skill),
                    "political": tables.shown("political", p.political_status),
                    "disability": tables.shown("disability_category", p.disability_category)} for p in members]
    from django.db.models import Q

    from fupin.core.pages import object_history

    member_ids = [str(p.pk) for p in members] + [str(c.person_id) for c in changes]
    history = object_history(hh, limit=50, extra=Q(object_type="registry.person", object_id__in=member_ids))
    return render(request, "registry/household_detail.html", {
        "hh": hh, "members": member_rows, "tables": tables,
        "labels": {"attribute": tables.shown("attribute", hh.attribute),
                   "main_cause": tables.shown("cause", hh.main_cause),
                   "other_causes": tables.shown_many("cause", hh.other_causes),
                   "status": tables.shown("status", hh.poverty_status),
                   "status_color": tables.color("status", hh.poverty_status),
                   "standard": tables.shown("standard", hh.identification_standard),
                   "monitoring_category": tables.shown("monitoring_category", hh.monitoring_category),
                   "monitoring_risks": tables.shown_many("monitoring_risk", hh.monitoring_risks),
                   "housing_structure": tables.shown("housing_structure", hh.housing_structure),
                   "water_source": tables.shown("water_source", hh.water_source),
                   "dilapidated": tables.shown("dilapidated", hh.dilapidated_grade)},
        "income": selectors.income_check(hh, lines=lines),
        "changes": changes,
        "history": history,
        "panels": panels.render_panels(request, hh),
        "may_edit": request.user.can("edit") and not hh.dissolved_on,
        "town": hh.village.parent,
    })


@capability_required("edit")
@require_http_methods(["GET", "POST"])
def member_change(request, key):
    """Record a birth, death, marriage, move, split or merge on the household (one form, one service per kind)."""
    hh = selectors.household_get(request.user, key)
    if hh.dissolved_on:
        raise PermissionDenied
    members = selectors.household_members(hh)
    living = [p for p in members if p.is_alive]
    form = MemberChangeForm(request.POST or None, members=living, user=request.user, household=hh)
    if request.method == "POST" and form.is_valid():
        try:
            target = form.apply(actor=request.user)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The change was recorded."))
            return redirect(target.get_absolute_url() if isinstance(target, Household) else hh.get_absolute_url())
    return render(request, "registry/member_change.html", {"hh": hh, "form": form, "members": living})


# Import ---------------------------------------------------------------------------------------------------------

def _upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads" / "registry"
    path.mkdir(parents=True, exist_ok=True)
    return path


@capability_required("import")
@require_http_methods(["GET", "POST"])
def household_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        dest = run_service(request, lambda: save_upload(upload, folder=_upload_dir()), None)
        if dest is None:
            return redirect("registry:import")
        dry = form.cleaned_data["dry_run"]
        job = job_create(kind=IMPORT_ROSTER, actor=request.user,
                         title=(_("Roster check: %(name)s") if dry else _("Roster import: %(name)s")) % {
                             "name": upload.name},
                         params={"path": str(dest), "name": upload.name, "dry_run": dry, "delete_after": True})
        return redirect("registry:import_status", uuid=job.uuid)
    recent = Batch.objects.filter(kind="registry.import_roster").order_by("-started_at")
    if not request.user.is_superuser:
        recent = recent.filter(actor=request.user)
    return render(request, "registry/import.html", {"form": form, "recent": recent[:10],
                                                    "columns": _import_columns()})


def _import_columns() -> list[tuple[str, str, bool]]:
    from fupin.registry.importer import COLUMNS, REQUIRED

    return [(names[0], "、".join(names[1:]), key in REQUIRED) for key, names in COLUMNS.items()]


@capability_required("import")
def import_status(request, uuid):
    qs = Job.objects.filter(uuid=uuid, kind=IMPORT_ROSTER)
    if not request.user.is_superuser:
        qs = qs.filter(actor=request.user)
    job = qs.first()
    if job is None:
        raise Http404
    result = job.result if isinstance(job.result, dict) else {}
    problems = [dict(p) for p in (result.get("problems") or [])]
    for p, text in zip(problems, selectors.problem_texts(request.user, [p.get("problem", "") for p in problems]),
                       strict=True):
        p["problem"] = text
    ctx = {"job": job, "result": result, "problems": problems}
    if is_htmx(request):
        return render(request, "registry/_import_status.html", ctx)
    return render(request, "registry/import_status.html", ctx)


@capability_required("view")
def import_problems(request):
    batch_id = request.GET.get("batch")
    qs = selectors.import_problems(request.user, batch_id=int(batch_id) if batch_id and batch_id.isdigit() else None,
                                   kind=request.GET.get("kind", ""))
    page = paginate(request, qs, per_page=100)
    batch = page.object_list[0].batch if page.object_list else None
    mask = _masker(request.user)
    texts = selectors.problem_texts(request.user, [p.problem for p in page.object_list])
    rows = [{"p": p, "value": mask(p.value) if p.column in ("证件号码", "残疾证号") else p.value, "problem": text}
            for p, text in zip(page.object_list, texts, strict=True)]
    return render(request, "registry/problems.html", {"page_obj": page, "rows": rows, "batch": batch,
                                                      "kinds": ImportProblem.Kind.choices,
                                                      "kind": request.GET.get("kind", ""),
                                                      "may_import": request.user.can("import")})


# Export ---------------------------------------------------------------------------------------------------------

def _export_name(ext: str) -> str:
    return f"roster-{timezone.localtime():%Y%m%d-%H%M}.{ext}"


def _export_allowed(request, qs):
    """Record the export (who, filter, how many people, full IDs); None when allowed, else where to go instead."""
    from fupin.core import exportlog

    return exportlog.guard(request, kind="registry.roster", title="建档立卡花名册",
                           people=exporter.persons_for_export(qs).count(), back="/households/")


@capability_required("view")
def export_xlsx(request):
    """The current list (scope and filters) as an xlsx in the roster layout, streamed while it is written."""
    from fupin.core.exportlog import watermark

    qs, _f = filtered_households(request)
    refused = _export_allowed(request, qs)
    if refused is not None:
        return refused
    response = StreamingHttpResponse(
        exporter.xlsx_chunks(exporter.export_rows(request.user, qs),
                             title=f"{exporter.TITLE}({watermark(request.user)})"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("xlsx")}"'
    return response


@capability_required("view")
def export_csv(request):
    qs, _f = filtered_households(request)
    refused = _export_allowed(request, qs)
    if refused is not None:
        return refused
    response = StreamingHttpResponse(exporter.csv_lines(exporter.export_rows(request.user, qs)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return response


# Villages -------------------------------------------------------------------------------------------------------

@capability_required("view")
def village_list(request):
    area = current_area(request)
    rows = selectors.village_incidence_table(request.user, area_prefix=area.prefix if area else None)
    if request.GET.get("poor") in TRUE:
        rows = [r for r in rows if r["village"].is_poor_village]
    return render(request, "registry/village_list.html", {"rows": rows, "poor_only": request.GET.get("poor") in TRUE,
                                                          "may_import": request.user.can("import")})


@capability_required("view")
def village_detail(request, code):
    village = Division.objects.restrict(request.user).filter(code=code, level__in=("village", "community")).first()
    if village is None:
        raise Http404
    year = request.GET.get("year")
    figures = selectors.village_figures(village, year=int(year) if year and year.isdigit() else None)
    profiles = VillageProfile.objects.restrict(request.user).filter(village=village).order_by("-year")
    profile = next((p for p in profiles if p.year == figures.year), None)
    fields = []
    if profile is not None:
        skip = {"id", "uuid", "version", "created_at", "updated_at", "batch", "village", "year", "area_code"}
        fields = [(f.verbose_name, getattr(profile, f.name)) for f in VillageProfile._meta.concrete_fields
                  if f.name not in skip]
    households = (Household.objects.restrict(request.user).filter(village=village, is_registered_poor=True,
                                                                  dissolved_on__isnull=True).count())
    return render(request, "registry/village_detail.html", {
        "village": village, "figures": figures, "profile": profile, "profiles": profiles, "fields": fields,
        "households": households, "list_url": "/households/?" + urlencode({"division": village.code})})


@capability_required("edit")
@require_POST
def village_poor(request, code):
    village = Division.objects.restrict(request.user).filter(code=code, level="village").first()
    if village is None:
        raise Http404
    if not (request.user.is_superuser or request.user.can("approve_county")):
        raise PermissionDenied
    run_service(request, lambda: services.village_set_poor(
        actor=request.user, village=village, is_poor=request.POST.get("is_poor") == "1",
        note=request.POST.get("note", "")[:200]), None)
    return HttpResponseRedirect(f"/households/villages/{village.code}/")

