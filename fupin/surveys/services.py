"""Writes of the collection forms: forms and versions (draft → published, frozen), responses and their registry
bindings, the shipped forms."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ConflictError, ServiceError
from fupin.core.fields import EncryptedJSONField, blind_fields
from fupin.core.models import CodeItem, CodeList
from fupin.geo.models import Division
from fupin.registry.models import Household, Person, VillageProfile
from fupin.surveys import definitions as defs
from fupin.surveys.models import Form, FormVersion, Level, PeriodKind, Response

FORMS_DATA = Path(__file__).resolve().parent / "forms_data"
HOUSEHOLD_BINDABLE = {f.name for f in Household._meta.concrete_fields} - {
    "id", "uuid", "version", "area_code", "batch", "created_at", "updated_at", "size", "annual_income", "net_income",
    "per_capita_net_income", "dissolved_on", "dissolved_reason", "merged_into", "split_from", "village", "grid",
    "located_by", "located_at", "location_source", "poor_code", "is_registered_poor"}
PERSON_BINDABLE = {f.name for f in Person._meta.concrete_fields} - {
    "id", "uuid", "household", "area_code", "batch", "created_at", "updated_at", "version", "is_alive",
    "death_date", "id_valid", "relationship"} - {f.name for f in blind_fields(Person)}
VILLAGE_BINDABLE = {f.name for f in VillageProfile._meta.concrete_fields} - {
    "id", "uuid", "version", "created_at", "updated_at", "batch", "village", "year", "area_code"}


class FormInvalid(ServiceError):
    """Answers refused; `errors` maps item keys (or "table.row.column") to problems in the user's language."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("有%(n)s处填写有误,请修改后再提交:") % {"n": len(errors)}
                         + ";".join(f"{k} {v}" for k, v in list(errors.items())[:5]))
        self.errors = errors


class CodeOptions:
    """code_list key -> [(code, label)], loaded once (pass one instance through a page or an import)."""

    def __init__(self, *, shown: bool = False) -> None:
        """`shown`: labels as a page shows them (a built-in label in the user's language, `CodeTables.shown`);
        otherwise as stored (what an import matches a cell against)."""
        self._lists: dict[str, list[tuple[str, str]]] | None = None
        self.shown = shown

    def __call__(self, key: str) -> list[tuple[str, str]]:
        if self._lists is None:
            self._lists = {}
            for lk, code, label in (CodeItem.objects.filter(is_active=True)
                                    .order_by("code_list__key", "order", "code")
                                    .values_list("code_list__key", "code", "label")):
                self._lists.setdefault(lk, []).append((code, label))
            if self.shown:
                from fupin.registry.labels import CodeTables

                tables = CodeTables(self._lists)
                self._lists = {k: tables.shown_choices(k) for k in self._lists}
        return self._lists.get(key, [])


def registry_fields_for(level: str) -> tuple[set[str] | None, set[str] | None]:
    """The registry fields items (and table columns) of a form of this level may bind to."""
    if level == Level.HOUSEHOLD:
        return HOUSEHOLD_BINDABLE, PERSON_BINDABLE
    if level == Level.VILLAGE:
        return VILLAGE_BINDABLE, set()
    return set(), set()


def definition_problems(level: str, definition: dict) -> list[str]:
    fields, columns = registry_fields_for(level)
    code_lists = set(CodeList.objects.values_list("key", flat=True))
    return defs.check_definition(definition, registry_fields=fields, column_registry_fields=columns,
                                 code_lists=code_lists)


# Forms and versions ---------------------------------------------------------------------------------------------

@transaction.atomic
def form_create(*, actor, key: str, name: str, level: str, period_kind: str = PeriodKind.YEAR,
                description: str = "", definition: dict | None = None, order: int = 100) -> Form:
    """A new form with a draft first version."""
    if level not in Level.values:
        raise ServiceError(_("Unknown form level: %(level)s") % {"level": level})
    if Form.objects.filter(key=key).exists():
        raise ServiceError(_("Form code “%(key)s” is taken") % {"key": key})
    form = Form(key=key, name=name, level=level, period_kind=period_kind, description=description, order=order)
    form.full_clean()
    form.save()
    version = FormVersion.objects.create(form=form, number=1, definition=defs.copy_definition(definition),
                                         created_by=_user(actor))
    audit.record(actor=actor, action="surveys.form.create", obj=form, after=audit.snapshot(form))
    audit.record(actor=actor, action="surveys.version.create", obj=version, after={"number": 1})
    return form


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


@transaction.atomic
def version_draft(*, actor, form: Form) -> FormVersion:
    """The form's draft; when there is none, a new one copied from the latest version."""
    draft = form.versions.filter(status=FormVersion.Status.DRAFT).first()
    if draft:
        return draft
    latest = form.versions.order_by("-number").first()
    number = (latest.number + 1) if latest else 1
    draft = FormVersion.objects.create(form=form, number=number, created_by=_user(actor),
                                       definition=defs.copy_definition(latest.definition if latest else None))
    audit.record(actor=actor, action="surveys.version.create", obj=draft,
                 after={"number": number, "copied_from": latest.number if latest else None})
    return draft


def _locked_version(version: FormVersion) -> FormVersion:
    v = FormVersion.objects.select_for_update().select_related("form").get(pk=version.pk)
    if v.is_published:
        raise ServiceError(_("Version %(number)s of %(form_name)s is released and cannot be changed: make a new version") % {"form_name": v.form.name, "number": v.number})
    return v


@transaction.atomic
def version_save(*, actor, version: FormVersion, definition: dict, note: str | None = None) -> FormVersion:
    """Replace a draft's definition (refused for a published version, and for a definition with problems)."""
    v = _locked_version(version)
    problems = definition_problems(v.form.level, definition)
    if problems:
        raise ServiceError(_("The form definition has errors: ") + ";".join(problems[:20]))
    before = {"definition": v.definition, "note": v.note}
    v.definition = definition
    if note is not None:
        v.note = note[:300]
    v.save(update_fields=["definition", "note"])
    audit.record(actor=actor, action="surveys.version.save", obj=v, before=before,
                 after={"definition": v.definition, "note": v.note})
    return v


@transaction.atomic
def version_publish(*, actor, version: FormVersion) -> FormVersion:
    """Publish a draft: from now on it is frozen, and new responses are made under it."""
    v = _locked_version(version)
    problems = definition_problems(v.form.level, v.definition)
    if not defs.item_count(v.definition):
        problems.insert(0, "表单还没有题目")
    if problems:
        raise ServiceError(_("Cannot release: ") + ";".join(problems[:20]))
    v.status = FormVersion.Status.PUBLISHED
    v.published_at = timezone.now()
    v.published_by = _user(actor)
    v.save(update_fields=["status", "published_at", "published_by"])
    audit.record(actor=actor, action="surveys.version.publish", obj=v, after={"number": v.number})
    return v


@transaction.atomic
def version_discard(*, actor, version: FormVersion) -> None:
    """Delete a draft nobody answered (a published version is never deleted)."""
    v = _locked_version(version)
    if v.responses.exists():
        raise ServiceError(_("This version has entries and cannot be deleted"))
    audit.record(actor=actor, action="surveys.version.discard", obj=v, before={"number": v.number})
    v.delete()


def current_version(form: Form) -> FormVersion | None:
    """The latest published version: what new responses are filled under."""
    return form.versions.filter(status=FormVersion.Status.PUBLISHED).order_by("-number").first()


@transaction.atomic
def forms_load_shipped(*, actor) -> list[Form]:
    """Create the forms shipped in forms_data/*.json that the database does not have yet (published as v1).

    The national code lists the forms use are loaded first when missing (only what is missing is added)."""
    from fupin.registry.codes_service import codes_load

    created = []
    if not all(Form.objects.filter(key=json.loads(p.read_text(encoding="utf-8"))["key"]).exists()
               for p in FORMS_DATA.glob("*.json")):
        codes_load(actor=actor)
    for path in sorted(FORMS_DATA.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        if Form.objects.filter(key=spec["key"]).exists():
            continue
        form = form_create(actor=actor, key=spec["key"], name=spec["name"], level=spec["level"],
                           period_kind=spec.get("period_kind", PeriodKind.YEAR),
                           description=spec.get("description", ""), definition=spec["definition"],
                           order=spec.get("order", 100))
        version = form.versions.get()
        version.note = spec.get("note", "随系统发布的表单")[:300]
        version.save(update_fields=["note"])
        version_publish(actor=actor, version=version)
        created.append(form)
    return created


# Responses ------------------------------------------------------------------------------------------------------

def normalise_period(form: Form, period: object) -> tuple[str, int]:
    """("2016", 2016) for a yearly form, ("2016-05-01", 2016) for a dated one; Chinese error otherwise."""
    text = str(period or "").strip()
    if form.period_kind == PeriodKind.YEAR:
        text = text.removesuffix("年")
        if not text.isdigit() or not 2000 <= int(text) <= 2100:
            raise ServiceError(_("Wrong year: %(period)s") % {"period": period})
        return text, int(text)
    try:
        d = dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ServiceError(_("Wrong date: %(period)s") % {"period": period}) from None
    return d.isoformat(), d.year


def subject_for(form: Form, *, household: Household | None = None, division: Division | None = None
                ) -> tuple[Household | None, Division, str]:
    """(household, division, area_code) of a response's subject, checked against the form's level."""
    if form.level == Level.HOUSEHOLD:
        if household is None:
            raise ServiceError(_("A household form needs a household"))
        if household.dissolved_on:
            raise ServiceError(_("The household is closed: no more entries"))
        return household, household.village, household.area_code
    if household is not None or division is None:
        raise ServiceError(_("Village and city forms need a division"))
    if form.level == Level.VILLAGE and division.level != "village":
        raise ServiceError(_("A village form is filled in for an administrative village only: %(division_name)s") % {"division_name": division.name})
    if form.level == Level.CITY and division.level not in ("county", "city"):
        raise ServiceError(_("A city form is filled in for the city (county) only: %(division_name)s") % {"division_name": division.name})
    return None, division, division.code


def _field_value(model, name: str, value: Any) -> Any:
    field = model._meta.get_field(name)
    if isinstance(field, models.DecimalField):
        if value is None:
            return None if field.null else Decimal(0)
        return Decimal(str(value))
    if isinstance(field, models.BooleanField):
        return None if value is None and field.null else bool(value)
    if isinstance(field, (models.IntegerField,)):
        return None if value is None else int(value)
    if isinstance(field, models.DateField):
        return None if value in (None, "") else dt.date.fromisoformat(str(value))
    if isinstance(field, (models.JSONField, EncryptedJSONField)):  # (health is sealed: fupin/core/fields.py)
        return value if isinstance(value, list) else ([] if value is None else [value])
    if isinstance(field, (models.CharField, models.TextField)):  # (a sealed phone is a TextField: core/fields.py)
        return "" if value is None else str(value)[: field.max_length or None]
    return value


def _registry_value(obj, name: str) -> Any:
    value = getattr(obj, name)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def registry_answers(form: Form, version: FormVersion, *, household: Household | None = None,
                     division: Division | None = None, year: int | None = None) -> dict:
    """Initial answers from the registry for the bound items (the household's current facts, its members)."""
    out: dict[str, Any] = {}
    if form.level == Level.HOUSEHOLD and household is not None:
        members = list(household.members.filter(is_alive=True).order_by("id"))
        for it in defs.items(version.definition):
            if it["type"] == "table":
                cols = [(c["key"], c.get("registry_field") or c.get("registry_read")) for c in it.get("columns") or []]
                cols = [(k, f) for k, f in cols if f]
                if cols:
                    out[it["key"]] = [{"_person": str(p.uuid), **{k: _registry_value(p, f) for k, f in cols}}
                                      for p in members]
            elif it.get("registry_field"):
                out[it["key"]] = _registry_value(household, it["registry_field"])
    elif form.level == Level.VILLAGE and division is not None:
        profile = VillageProfile.objects.filter(village=division, year__lte=year or 9999).order_by("-year").first()
        if profile:
            for it in defs.items(version.definition):
                if it.get("registry_field"):
                    out[it["key"]] = _registry_value(profile, it["registry_field"])
    return {k: v for k, v in out.items() if v not in (None, "")}


def _is_latest(form: Form, household, division, period: str) -> bool:
    qs = Response.objects.filter(form=form, period__gt=period)
    qs = qs.filter(household=household) if household is not None else qs.filter(division=division,
                                                                                  household__isnull=True)
    return not qs.exists()


def _apply_registry(*, actor, form: Form, version: FormVersion, values: dict, household, division, year: int
                    ) -> dict:
    """Write the bound answers into the registry through its services (audited there); returns what changed."""
    from fupin.registry import services as registry

    changed: dict[str, Any] = {}
    if form.level == Level.HOUSEHOLD:
        changes = {}
        for it in defs.items(version.definition):
            rf = it.get("registry_field")
            if rf and it["key"] in values:
                new = _field_value(Household, rf, values[it["key"]])
                if new != getattr(household, rf):
                    changes[rf] = new
        if changes:
            registry.household_update(actor=actor, household=household, **changes)
            changed["household"] = sorted(changes)
        members = {str(p.uuid): p for p in household.members.filter(is_alive=True)}
        for it in defs.tables(version.definition):
            cols = [c for c in it.get("columns") or [] if c.get("registry_field")]
            for row in values.get(it["key"]) or []:
                person = members.get(str(row.get("_person") or ""))
                if person is None or not cols:
                    continue  # a new row is an answer only: members join through the registry's services
                pchanges = {}
                for c in cols:
                    if c["key"] not in row:
                        continue
                    new = _field_value(Person, c["registry_field"], row[c["key"]])
                    if new != getattr(person, c["registry_field"]):
                        pchanges[c["registry_field"]] = new
                if pchanges:
                    registry.person_update(actor=actor, person=person, **pchanges)
                    changed.setdefault("persons", []).append(str(person.uuid))
    elif form.level == Level.VILLAGE:
        figures = {it["registry_field"]: _field_value(VillageProfile, it["registry_field"], values[it["key"]])
                   for it in defs.items(version.definition) if it.get("registry_field") and it["key"] in values}
        if figures:
            registry.village_profile_save(actor=actor, village=division, year=year, **figures)
            changed["village_profile"] = sorted(figures)
    return changed


@transaction.atomic
def response_submit(*, actor, form: Form, period: object, answers: dict, household: Household | None = None,
                    division: Division | None = None, version: FormVersion | None = None,
                    expected_version: int | None = None, apply_registry: bool = True,
                    code_options: CodeOptions | None = None, today: dt.date | None = None) -> Response:
    """Save one subject's answers for one period under a published version (default: the current one).

    Answers are cleaned and validated against the version (FormInvalid lists every problem, nothing is written);
    an existing response of the same subject and period is replaced (with expected_version, a stale client is
    refused). When this is the subject's latest period, the bound registry fields are updated through the
    registry's services.
    """
    version = version or current_version(form)
    if version is None or not version.is_published or version.form_id != form.pk:
        raise ServiceError(_("%(form_name)s has no released version: it cannot be filled in") % {"form_name": form.name})
    period_text, year = normalise_period(form, period)
    household, div, area_code = subject_for(form, household=household, division=division)
    values, errors = defs.validate_answers(version.definition, answers, code_options or CodeOptions(), today=today)
    if errors:
        raise FormInvalid(errors)
    qs = Response.objects.select_for_update().filter(form=form, period=period_text)
    existing = (qs.filter(household=household) if household else qs.filter(division=div, household__isnull=True)
                ).first()
    before = audit.snapshot(existing)
    if existing is not None:
        if expected_version is not None and existing.version != expected_version:
            raise ConflictError(_("Someone else changed this form after you opened it: reload and fill it in again"))
        existing.data, existing.form_version = values, version
        existing.version += 1
        existing.submitted_by, existing.submitted_at = _user(actor), timezone.now()
        existing.area_code = area_code
        existing.save()
        response = existing
    else:
        response = Response.objects.create(form=form, form_version=version, household=household, division=div,
                                           area_code=area_code, period=period_text, year=year, data=values,
                                           submitted_by=_user(actor), submitted_at=timezone.now())
    changed = {}
    if apply_registry and _is_latest(form, household, div, period_text):
        changed = _apply_registry(actor=actor, form=form, version=version, values=values, household=household,
                                  division=div, year=year)
    audit.record(actor=actor, action="surveys.response.submit", obj=response, before=before,
                 after={**audit.snapshot(response), "registry": changed})
    return response
