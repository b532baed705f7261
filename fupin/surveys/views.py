"""Pages of the collection forms: the list, a form with its versions and responses, the editor (county staff), the
filling page (phone-sized), a response under its version, xlsx export and import.

Views are thin: selectors read (responses always through `.restrict(request.user)`), services write.
"""

from __future__ import annotations

import json
import tempfile
import uuid as uuidlib
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core import exportlog, idviews
from fupin.core.errors import ImportRefused, ServiceError
from fupin.core.models import CodeList
from fupin.core.pages import capability_required, paginate, run_service
from fupin.core.uploads import discard, save_upload
from fupin.geo.areas import filter_area
from fupin.geo.models import Division
from fupin.registry.selectors import household_get
from fupin.surveys import definitions as defs
from fupin.surveys import exchange, selectors, services
from fupin.surveys.models import Form, FormVersion, Level, Response

EDIT_FORMS = "approve_county"  # county staff (the city poverty office) design the forms
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def _form(key: str) -> Form:
    return get_object_or_404(Form, key=key)


def _version(form: Form, number: int) -> FormVersion:
    return get_object_or_404(FormVersion, form=form, number=number)


def may_design(user) -> bool:
    return user.is_authenticated and user.can(EDIT_FORMS)


@capability_required("view")
def form_list(request):
    return render(request, "surveys/form_list.html", {"rows": selectors.forms_overview(request.user),
                                                      "may_design": may_design(request.user)})


@capability_required("view")
def form_detail(request, key: str):
    form = _form(key)
    period = request.GET.get("period", "")
    version = request.GET.get("version", "")
    qs = filter_area(selectors.responses(request.user, form, period=period,
                                         version=int(version) if version.isdigit() else None), request)
    return render(request, "surveys/form_detail.html", {
        "form": form, "versions": form.versions.all(), "page_obj": paginate(request, qs),
        "periods": selectors.periods(request.user, form), "period": period, "version": version,
        "current": services.current_version(form), "may_design": may_design(request.user),
        "may_fill": request.user.can("edit"), "may_import": request.user.can("import"),
        "subjects": _subject_choices(request.user, form) if request.user.can("edit") else [],
    })


def _subject_choices(user, form) -> list[tuple[str, list]]:
    """What a village or county form may be filled for, as (group, [(code, name)]) for the picker: the villages by
    town, or the divisions, in the user's jurisdiction."""
    from fupin.geo.pickers import division_choices, village_choices

    if form.level == "village":
        return list(village_choices(user)[1:])
    if form.level == "household":
        return []
    return [("", list(division_choices(user)[1:]))]


@capability_required("view")
def version_detail(request, key: str, number: int):
    form = _form(key)
    version = _version(form, number)
    codes = services.CodeOptions(shown=True)
    return render(request, "surveys/version_detail.html", {
        "form": form, "version": version, "layout": selectors.layout(version.definition, {}, codes),
        "may_design": may_design(request.user), "type_labels": defs.TYPE_LABELS,
        "definition_json": json.dumps(version.definition, ensure_ascii=False, indent=1),
    })


@capability_required(EDIT_FORMS)
@require_POST
def version_new(request, key: str):
    form = _form(key)
    draft = services.version_draft(actor=request.user, form=form)
    messages.success(request, _("Draft version %(n)s: change it, preview it, then publish it.") % {"n": draft.number})
    return redirect(f"/forms/{form.key}/v{draft.number}/edit/")


@capability_required(EDIT_FORMS)
def version_edit(request, key: str, number: int):
    form = _form(key)
    version = _version(form, number)
    if version.is_published:
        messages.error(request, _("A published version never changes: make a new version."))
        return redirect(version.get_absolute_url())
    if request.method == "POST":
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"ok": False, "problems": ["提交的表单定义不是合法的JSON"]}, status=400)
        try:
            services.version_save(actor=request.user, version=version, definition=payload.get("definition") or {},
                                  note=payload.get("note"))
        except ServiceError as exc:
            return JsonResponse({"ok": False, "problems": [exc.message]}, status=400)
        return JsonResponse({"ok": True, "saved_at": timezone.localtime().strftime("%H:%M:%S")})
    fields, columns = services.registry_fields_for(form.level)
    return render(request, "surveys/version_edit.html", {
        "form": form, "version": version, "definition": version.definition,
        "types": [(t, defs.TYPE_LABELS[t]) for t in defs.TYPES],
        "code_lists": list(CodeList.objects.values_list("key", "name")),
        "registry_fields": sorted(fields or []), "column_registry_fields": sorted(columns or []),
    })


@capability_required(EDIT_FORMS)
@require_POST
def version_preview(request, key: str, number: int):
    """The filling page's fields for a definition being edited (not saved): what the grid worker will see."""
    form = _form(key)
    try:
        definition = json.loads(request.body.decode("utf-8")).get("definition") or {}
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest("bad definition")
    problems = services.definition_problems(form.level, definition)
    codes = services.CodeOptions(shown=True)
    layout = selectors.layout(definition, {}, codes) if not problems else []
    return render(request, "surveys/_preview.html", {"layout": layout, "problems": problems, "preview": True})


@capability_required(EDIT_FORMS)
@require_POST
def version_publish(request, key: str, number: int):
    form = _form(key)
    version = _version(form, number)
    if run_service(request, lambda: services.version_publish(actor=request.user, version=version),
                   lambda _result: _("Version %(n)s is published: new responses are filled under it.")
                   % {"n": version.number}) is None:
        return redirect(f"/forms/{form.key}/v{version.number}/edit/")
    return redirect(form.get_absolute_url())


# Filling -------------------------------------------------------------------------------------------------------

def _subject(request, form: Form):
    """(household, division, label, back_url) from ?household=<key> or ?division=<code>, scoped to the user."""
    if form.level == Level.HOUSEHOLD:
        key = request.GET.get("household") or request.POST.get("household") or ""
        if not key:
            raise Http404(_("Please name the household"))
        hh = household_get(request.user, key)
        return hh, None, str(hh), hh.get_absolute_url()
    code = request.GET.get("subject") or request.POST.get("subject") or ""
    div = Division.objects.restrict(request.user).filter(code=code).first()
    if div is None:
        raise Http404(_("No such division, or it is outside your jurisdiction"))
    return None, div, div.name, div.get_absolute_url()


def _raw_answers(request, version: FormVersion, existing: dict) -> dict:
    """The page's fields as raw answers: f.<key> for items, t.<table>.<row>.<column> for table cells."""
    raw: dict = {}
    post = request.POST
    for it in defs.items(version.definition):
        key = it["key"]
        if it["type"] == "table":
            indices = sorted({int(k.split(".")[2]) for k in post if k.startswith(f"t.{key}.")
                              and k.split(".")[2].isdigit()})
            rows = []
            for i in indices:
                row = {c["key"]: (post.getlist(f"t.{key}.{i}.{c['key']}") if c["type"] == "multi"
                                  else post.get(f"t.{key}.{i}.{c['key']}", "")) for c in it.get("columns") or []}
                person = post.get(f"t.{key}.{i}._person", "")
                if not person and all(defs.evaluator.is_blank(v) for v in row.values()):
                    continue
                if person:
                    row["_person"] = person
                rows.append(row)
            raw[key] = rows
        elif it["type"] == "multi":
            raw[key] = post.getlist(f"f.{key}")
        elif it["type"] == "photo":
            upload = request.FILES.get(f"f.{key}")
            if upload is not None:
                ext = PHOTO_TYPES.get(upload.content_type)
                if ext is None or upload.size > 8 * 1024 * 1024:
                    raise ServiceError(_("Photos are accepted only as JPEG, PNG or WebP images of at most 8MB"))
                raw[key] = default_storage.save(f"surveys/photos/{uuidlib.uuid4().hex}{ext}", upload)
            else:
                raw[key] = post.get(f"f.{key}.kept") or existing.get(key)
        else:
            raw[key] = post.get(f"f.{key}", "")
    return raw


def _mask_layout(layout: list[dict], user) -> None:
    """ID numbers in tables are shown masked to users who may not see them in full."""
    if idviews.may_see_full(user):
        return
    for sec in layout:
        for entry in sec["items"]:
            for row in entry.get("rows") or []:
                for cell in row["cells"]:
                    if cell["it"].get("registry_field") == "id_number" or cell["it"]["key"] == "id_number":
                        cell["display"] = idviews.shown(cell["value"], user)


@capability_required("edit")
def fill(request, key: str):
    form = _form(key)
    if not request.user.may_view_full_id:
        raise PermissionDenied  # the household form shows members' ID numbers in full
    household, division, label, back = _subject(request, form)
    year_now = timezone.localdate().year
    period = request.GET.get("period") or request.POST.get("period") or (
        str(year_now) if form.period_kind == "year" else timezone.localdate().isoformat())
    try:
        period_text, year = services.normalise_period(form, period)
    except ServiceError as exc:
        raise Http404(exc.message) from None
    existing = (Response.objects.restrict(request.user)
                .filter(form=form, period=period_text, household=household,
                        **({"division": division} if division else {})).select_related("form_version").first())
    version = services.current_version(form)
    if version is None:
        messages.error(request, _("This form has no published version yet."))
        return redirect(form.get_absolute_url())
    codes = services.CodeOptions(shown=True)
    errors: dict = {}
    if request.method == "POST":
        try:
            raw = _raw_answers(request, version, existing.data if existing else {})
            response = services.response_submit(
                actor=request.user, form=form, period=period_text, answers=raw, household=household,
                division=division, version=version, code_options=codes,
                expected_version=int(request.POST["expected_version"]) if request.POST.get("expected_version")
                else None)
        except services.FormInvalid as exc:
            errors = exc.errors
            values, _errs = defs.validate_answers(version.definition, raw, codes)
            messages.error(request, exc.message)
        except ServiceError as exc:
            messages.error(request, exc.message)
            values = existing.data if existing else {}
        else:
            messages.success(request, _("Saved: %(form)s, %(subject)s, %(period)s.")
                             % {"form": form.name, "subject": label, "period": period_text})
            return redirect(response.get_absolute_url())
    elif existing:
        values = {**services.registry_answers(form, version, household=household, division=division, year=year),
                  **existing.data}
    else:
        values = services.registry_answers(form, version, household=household, division=division, year=year)
    layout = selectors.layout(version.definition, values, codes, errors=errors)
    return render(request, "surveys/fill.html", {
        "form": form, "version": version, "layout": layout, "subject_label": label, "back_url": back,
        "household": household, "division": division, "period": period_text, "existing": existing,
        "older_version": existing.form_version if existing and existing.form_version_id != version.pk else None,
        "error_count": len(errors),
    })


@capability_required("edit")
@require_POST
def fill_check(request, key: str):
    """Which items are hidden and which answers are wrong, for the filling page while it is being filled (JSON)."""
    form = _form(key)
    version = services.current_version(form)
    if version is None:
        raise Http404
    codes = services.CodeOptions()
    try:
        raw = _raw_answers(request, version, {})
    except ServiceError:
        raw = {}
    values, errors = defs.validate_answers(version.definition, raw, codes)
    hidden = []
    for it in defs.items(version.definition):
        if not selectors._safe_visible(it, values, None):
            hidden.append(it["key"])
    touched = {k.split(".")[1] for k in request.POST if k.startswith(("f.", "t.")) and request.POST.get(k)}
    shown = {k: v for k, v in errors.items() if k.split(".")[0] in touched or v != "必填"}
    return JsonResponse({"hidden": hidden, "errors": shown})


@capability_required("view")
def response_detail(request, uuid):
    response = get_object_or_404(Response.objects.restrict(request.user).select_related(
        "form", "form_version", "household", "division", "submitted_by"), uuid=uuid)
    codes = services.CodeOptions(shown=True)
    layout = selectors.layout(response.form_version.definition, response.data, codes)
    _mask_layout(layout, request.user)
    current = services.current_version(response.form)
    others = (Response.objects.restrict(request.user).filter(form=response.form, household=response.household,
                                                             division=response.division)
              .select_related("form_version").order_by("-period"))
    fill_url = ""
    if request.user.can("edit") and request.user.may_view_full_id:
        subject = (f"household={response.household.url_key}" if response.household_id
                   else f"subject={response.division.code}")
        fill_url = f"/forms/{response.form.key}/fill/?{subject}&period={response.period}"
    return render(request, "surveys/response_detail.html", {
        "response": response, "layout": layout, "current": current, "others": others, "fill_url": fill_url,
    })


def response_photo(request, uuid, item: str):
    """A photo answered in a response: 404 outside the user's jurisdiction or when the item is not a stored photo."""
    response = get_object_or_404(Response.objects.restrict(request.user), uuid=uuid)
    name = response.data.get(item)
    if not isinstance(name, str) or not name.startswith("surveys/photos/") or ".." in name:
        raise Http404
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    return FileResponse(handle, filename=Path(name).name)


@capability_required("view")
@exportlog.accountable("surveys.responses", "采集表数据")
def export_xlsx(request, key: str):
    form = _form(key)
    qs = filter_area(selectors.responses(request.user, form, period=request.GET.get("period", "")), request)
    path = Path(tempfile.mkdtemp(prefix="fupin-forms-")) / f"{form.key}.xlsx"
    exchange.export_responses(form, qs, path, mask_ids=not request.user.may_view_full_id)
    name = f"{form.name}{'_' + request.GET['period'] if request.GET.get('period') else ''}.xlsx"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=name)


@capability_required("import")
def import_view(request, key: str):
    form = _form(key)
    report = None
    result = None
    if request.method == "POST" and request.FILES.get("file"):
        upload = request.FILES["file"]
        if not upload.name.lower().endswith(".xlsx"):
            messages.error(request, _("Only xlsx files are accepted (export one first to use as a template)"))
        else:
            tmp = None
            try:
                tmp = save_upload(upload, allowed=(".xlsx",))
                result = exchange.import_responses(actor=request.user, form=form, path=tmp, scope_user=request.user)
            except ImportRefused as exc:
                report = exc
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Imported %(n)s responses.") % {"n": result["responses"]})
            finally:
                discard(tmp)
    return render(request, "surveys/import.html", {"form": form, "report": report, "result": result})
