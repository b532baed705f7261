"""Writes of the procedures: start one, record its next step, record a spot-check visit, change a county setting.

Every refusal is a ServiceError with a Chinese message and leaves the database as it was (each service is one
transaction and checks everything before it writes). Each recorded step is audited on its subject (the household or
the village), so it appears in the subject's history; changes to the household go through the registry's service.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.choices import Role
from fupin.core import audit, scoping
from fupin.core.errors import ServiceError
from fupin.geo.models import Division
from fupin.lifecycle import hooks, selectors
from fupin.lifecycle.choices import AttachmentKind, CheckLevel, Decision, Kind, Status
from fupin.lifecycle.definitions import (
    COUNTY,
    GUARANTEES,
    SETTINGS,
    SPOT_CHECK_LABEL,
    SPOT_CHECK_STEP,
    TOWN,
    VILLAGE_CONDITIONS,
    ProcedureDef,
    StepDef,
    procedure_def,
)
from fupin.lifecycle.models import Procedure, ProcedureBatch, ProcedureSetting, ProcedureStep, StepAttachment
from fupin.registry.models import Household, PovertyLine

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
ALLOWED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".txt",
                      ".odt", ".ods"}
MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG",), "image/gif": (b"GIF8",),
         "image/webp": (b"RIFF",), "application/pdf": (b"%PDF",)}


@dataclass
class Upload:
    """A file to attach to a step: its kind and the file (an UploadedFile or any django File)."""

    kind: str
    file: Any
    name: str = ""


def _today() -> dt.date:
    return timezone.localdate()


def kind_name(kind: str) -> str:
    """The procedure's name: its kind's choice label."""
    return str(Kind(kind).label)


def role_name(role: str | None) -> str:
    """A role's name: its choice label."""
    return str(Role(role).label) if role in Role.values else (role or "无")


def _role_names(roles: Iterable[str]) -> str:
    return "、".join(role_name(r) for r in sorted(roles))


def _as_date(value: Any, what: str = "日期") -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(_("%(what)s is not in the right form (YYYY-MM-DD): %(value)s") % {"what": what, "value": value}, field="date") from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes", "是", "y")


def _check_actor(actor, step: StepDef, area_code: str, *, roles=None) -> None:
    """The right role for the step and the subject inside the actor's jurisdiction."""
    if not getattr(actor, "pk", None):
        raise ServiceError(_("Procedure steps are taken by a signed-in staff member"))
    roles = roles or step.roles
    if actor.role not in roles:
        raise ServiceError(_("“%(step_label)s” is taken by %(roles)s; your role (%(role)s) cannot take this step") % {"step_label": step.label, "roles": _role_names(roles), "role": role_name(actor.role)})
    scoping.require(actor, area_code, None, message=_("The object is outside your jurisdiction: you cannot act on it"))


# Settings ------------------------------------------------------------------------------------------------------

@transaction.atomic
def procedure_setting_set(*, actor, key: str, value: Any) -> ProcedureSetting:
    """Change a county setting of the procedures (city office only); bounds are checked, the change audited."""
    if key not in SETTINGS:
        raise ServiceError(_("Unknown setting: %(key)s") % {"key": key})
    if not (getattr(actor, "is_superuser", False) or getattr(actor, "role", "") == "city_office"):
        raise ServiceError(_("Only the city poverty office may change the procedure settings"))
    sdef = SETTINGS[key]
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(_("“%(sdef_label)s” must be a number: %(value)s") % {"sdef_label": sdef.label, "value": value}) from None
    if sdef.integer and number != number.to_integral_value():
        raise ServiceError(_("“%(sdef_label)s” must be a whole number: %(value)s") % {"sdef_label": sdef.label, "value": value})
    if not (sdef.minimum <= number <= sdef.maximum):
        raise ServiceError(_("“%(sdef_label)s” must be between %(minimum)s and %(maximum)s: %(value)s") % {"sdef_label": sdef.label, "minimum": sdef.minimum, "maximum": sdef.maximum, "value": value})
    before = selectors.setting_value(key)
    row, _created = ProcedureSetting.objects.update_or_create(key=key, defaults={"value": number, "updated_by": actor})
    audit.record(actor=actor, action="lifecycle.setting.set", object_type="lifecycle.proceduresetting",
                 object_id=key, object_repr=str(sdef.label), before={"value": before}, after={"value": number})
    return row


# Starting ------------------------------------------------------------------------------------------------------

def _check_start_household(kind: str, hh: Household) -> None:
    status = hh.poverty_status or ""
    if kind == Kind.IDENTIFICATION and hh.is_registered_poor:
        raise ServiceError(_("%(hh)s is already a registered poor household: it cannot apply for identification") % {"hh": hh})
    if kind == Kind.EXIT and not (hh.is_registered_poor and status in ("0", "3")):
        raise ServiceError(_("Only a registered household not yet out of poverty, or fallen back, can start the exit procedure (%(hh)s is now: %(status)s)") % {"hh": hh, "status": _status_name(status)})
    if kind == Kind.RETURN_TO_POVERTY and not (hh.is_registered_poor and status in ("1", "4")):
        raise ServiceError(_("Only a registered household out of poverty can start the return-to-poverty procedure (%(hh)s is now: %(status)s)") % {"hh": hh, "status": _status_name(status)})
    if kind == Kind.MONITORING_ENTRY and hh.monitoring_category:
        raise ServiceError(_("%(hh)s is already monitored") % {"hh": hh})
    if kind == Kind.MONITORING_EXIT and not hh.monitoring_category:
        raise ServiceError(_("%(hh)s is not monitored: no risk to clear") % {"hh": hh})
    if not hh.size or getattr(hh, "dissolved_on", None):
        raise ServiceError(_("%(hh)s is closed or has no members: no procedure can start") % {"hh": hh})


def _status_name(code: str) -> str:
    return selectors.code_labels("status").get(code, code or "未登记")


def _resolve_batch(*, kind: str, town: Division, year: int, batch: ProcedureBatch | None) -> ProcedureBatch:
    """The given batch (checked), else the latest open batch of the town and year, else a new one."""
    if batch is not None:
        if batch.kind != kind or batch.town_id != town.pk or batch.year != year:
            raise ServiceError(_("Batch “%(batch)s” is not a %(kind)s batch of %(town_name)s for %(year)s") % {"batch": batch, "town_name": town.name, "year": year, "kind": kind_name(kind)})
        if batch.closed:
            raise ServiceError(_("Batch “%(batch)s” is under town review and takes no new applications: choose a new batch") % {"batch": batch})
        return batch
    open_batch = (ProcedureBatch.objects.select_for_update()
                  .filter(kind=kind, town=town, year=year, closed=False).order_by("-number").first())
    if open_batch is not None:
        return open_batch
    number = (ProcedureBatch.objects.filter(kind=kind, town=town, year=year).aggregate(m=Max("number"))["m"] or 0) + 1
    return ProcedureBatch.objects.create(kind=kind, town=town, year=year, number=number,
                                         name=f"{year}年{town.name}{kind_name(kind)}第{number}批",
                                         area_code=town.prefix)


@transaction.atomic
def batch_create(*, actor, kind: str, town: Division, year: int) -> ProcedureBatch:
    """Open a new batch for a town and year (town staff or city office); earlier open batches stay open."""
    pdef = procedure_def(kind)
    if not pdef.batched:
        raise ServiceError(_("%(kind)s has no batches") % {"kind": kind_name(kind)})
    if getattr(actor, "role", "") not in TOWN | COUNTY:
        raise ServiceError(_("Only a town station or the city poverty office may create batches"))
    scoping.require(actor, town.code, None, message=_("The town is outside your jurisdiction"))
    if town.level != "town":
        raise ServiceError(_("Batches are made per town: %(town_name)s is not a town") % {"town_name": town.name})
    number = (ProcedureBatch.objects.filter(kind=kind, town=town, year=year).aggregate(m=Max("number"))["m"] or 0) + 1
    batch = ProcedureBatch.objects.create(kind=kind, town=town, year=year, number=number, area_code=town.prefix,
                                          name=f"{year}年{town.name}{kind_name(kind)}第{number}批")
    audit.record(actor=actor, action="lifecycle.batch.create", obj=batch, after=audit.snapshot(batch))
    return batch


@transaction.atomic
def procedure_start(*, actor, kind: str, household: Household | None = None, village: Division | None = None,
                    batch: ProcedureBatch | None = None, date: dt.date | None = None) -> Procedure:
    """Open a procedure of `kind` for a household (or, for a village exit, a village); its first step comes next.

    The actor must be allowed to record the first step. One open procedure per household (and per village and kind)
    at a time. An exit moves the household to 预脱贫 ("2") at once.
    """
    pdef = procedure_def(kind)
    day = _as_date(date) if date else _today()
    if day > _today():
        raise ServiceError(_("The date cannot be later than today"))
    if pdef.subject == "household":
        if household is None:
            raise ServiceError(_("Choose a household"))
        hh = Household.objects.select_for_update(of=("self",)).select_related("village", "village__parent").get(pk=household.pk)
        _check_actor(actor, pdef.first, hh.area_code)
        _check_start_household(kind, hh)
        existing = Procedure.objects.filter(household=hh, status=Status.OPEN).first()
        if existing:
            raise ServiceError(_("%(hh)s has a %(kind)s procedure in progress: finish it first") % {"hh": hh, "kind": kind_name(existing.kind)})
        subject_village, area, subject = hh.village, hh.area_code, hh
    else:
        if village is None:
            raise ServiceError(_("Choose a village"))
        subject_village = Division.objects.select_for_update(of=("self",)).select_related("parent").get(pk=village.pk)
        if subject_village.level != "village":
            raise ServiceError(_("%(subject_village_name)s is not an administrative village") % {"subject_village_name": subject_village.name})
        if not subject_village.is_poor_village:
            raise ServiceError(_("%(subject_village_name)s is not a poor village: it has nothing to exit") % {"subject_village_name": subject_village.name})
        _check_actor(actor, pdef.first, subject_village.code)
        if Procedure.objects.filter(village=subject_village, kind=kind, household__isnull=True,
                                    status=Status.OPEN).exists():
            raise ServiceError(_("%(subject_village_name)s has an exit procedure in progress") % {"subject_village_name": subject_village.name})
        hh, area, subject = None, subject_village.code, subject_village
    if pdef.batched:
        town = subject_village.parent
        if town is None:
            raise ServiceError(_("%(subject_village_name)s has no town above it and cannot join a batch") % {"subject_village_name": subject_village.name})
        batch = _resolve_batch(kind=kind, town=town, year=day.year, batch=batch)
    else:
        batch = None
    data: dict[str, Any] = {}
    if hh is not None:
        data["status_before"] = hh.poverty_status
    proc = Procedure.objects.create(kind=kind, household=hh, village=subject_village, batch=batch, area_code=area,
                                    current_step=pdef.first.code, year=day.year, started_on=day, started_by=actor,
                                    data=data)
    audit.record(actor=actor, action=f"lifecycle.{kind}.start", obj=subject,
                 note=f"启动{kind_name(kind)}程序" + (f"({batch})" if batch else ""),
                 after={"procedure": str(proc.uuid), "kind": kind, "procedure_batch": batch.name if batch else None})
    if kind == Kind.EXIT:
        _household_update(actor, hh, poverty_status="2")
    _notify(proc, actor=actor, done_step=None)
    return proc


# Recording steps -----------------------------------------------------------------------------------------------

def _check_step_order(proc: Procedure, pdef: ProcedureDef, step: str) -> StepDef:
    codes = [s.code for s in pdef.steps]
    if step not in codes:
        raise ServiceError(_("The %(kind)s procedure has no step “%(step)s”") % {"kind": kind_name(proc.kind), "step": step})
    current = pdef.step(proc.current_step)
    if step != proc.current_step:
        if codes.index(step) < codes.index(proc.current_step):
            raise ServiceError(_("“%(label)s” is done; “%(current_label)s” is due now") % {"label": pdef.step(step).label, "current_label": current.label})
        raise ServiceError(_("Steps cannot be skipped: “%(current_label)s” is due now, not “%(label)s”") % {"current_label": current.label, "label": pdef.step(step).label})
    return current


def _check_date(proc: Procedure, pdef: ProcedureDef, sdef: StepDef | None, day: dt.date) -> None:
    """Not in the future, not before the last step, and not before the previous notice has run its days."""
    if day > _today():
        raise ServiceError(_("The date cannot be later than today (%(_today)s)") % {"_today": format(_today(), '%Y-%m-%d')}, field="date")
    last = proc.steps.exclude(step__startswith="spot_check_").order_by("-seq").first()
    if last is not None and day < last.date:
        raise ServiceError(_("The date cannot be earlier than the previous step “%(step_label)s” (%(date)s)") % {"step_label": last.step_label, "date": format(last.date, '%Y-%m-%d')}, field="date")
    if sdef is None:
        return
    idx = pdef.index(sdef.code)
    if idx == 0:
        return
    prev = pdef.steps[idx - 1]
    if prev.notice:
        record = selectors.latest_step(proc, prev.code)
        if record is not None:
            until = dt.date.fromisoformat(record.data["notice_until"])
            if day <= until:
                raise ServiceError(
                    _("The notice period is not over: “%(prev_label)s” is publicised from %(date)s until %(until)s; “%(sdef_label)s” can be done from %(value)s") % {"prev_label": prev.label, "date": format(record.date, '%Y-%m-%d'), "until": format(until, '%Y-%m-%d'), "sdef_label": sdef.label, "value": format(until + dt.timedelta(days=1), '%Y-%m-%d')}, field="date")


def _normalise_uploads(attachments: Iterable) -> list[Upload]:
    max_bytes = int(getattr(settings, "FUPIN_ATTACHMENT_MAX_MB", 20)) * 1024 * 1024
    out = []
    for a in attachments or ():
        if isinstance(a, tuple):
            a = Upload(kind=a[0], file=a[1])
        if a.kind not in AttachmentKind.values:
            raise ServiceError(_("Unknown attachment type: %(kind)s") % {"kind": a.kind})
        name = os.path.basename(a.name or getattr(a.file, "name", "") or "附件")
        ext = os.path.splitext(name)[1].lower()
        if ext not in ALLOWED_EXTENSIONS:
            raise ServiceError(_("Attachment “%(name)s” is of a type not allowed (images, PDF, Word, Excel and text can be uploaded)") % {"name": name})
        size = getattr(a.file, "size", None)
        if size is None:
            a.file.seek(0, os.SEEK_END)
            size = a.file.tell()
        if size > max_bytes:
            raise ServiceError(_("Attachment “%(name)s” exceeds %(value)s MB") % {"name": name, "value": max_bytes // (1024 * 1024)})
        if size == 0:
            raise ServiceError(_("Attachment “%(name)s” is empty") % {"name": name})
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        a.file.seek(0)
        head = a.file.read(16)
        a.file.seek(0)
        if content_type in MAGIC and not head.startswith(MAGIC[content_type]):
            raise ServiceError(_("The content of attachment “%(name)s” does not match its extension") % {"name": name})
        if a.kind in (AttachmentKind.THUMBPRINT, AttachmentKind.SIGNATURE, AttachmentKind.PHOTO) and \
                content_type not in IMAGE_TYPES | {"application/pdf"}:
            raise ServiceError(_("“%(label)s” must be an image or PDF: %(name)s") % {"label": AttachmentKind(a.kind).label, "name": name})
        a.name = name
        out.append((a, content_type, size))
    return out


def _save_uploads(step: ProcedureStep, uploads: list) -> list[StepAttachment]:
    saved: list[StepAttachment] = []
    try:
        for upload, content_type, size in uploads:
            att = StepAttachment(step=step, kind=upload.kind, name=upload.name[:200], content_type=content_type,
                                 size=size, area_code=step.area_code)
            att.file.save(upload.name, File(upload.file, name=upload.name), save=False)
            att.save()
            saved.append(att)
    except BaseException:
        _remove_files(saved)
        raise
    return saved


def _remove_files(attachments: list[StepAttachment]) -> None:
    for att in attachments:
        try:
            att.file.storage.delete(att.file.name)
        except OSError:
            pass


def _run_checks(proc: Procedure, sdef: StepDef, day: dt.date, data: dict, notes: str, uploads: list) -> dict:
    """The step's own rules (definitions.CHECKS); returns what is kept in the step's data."""
    kept: dict[str, Any] = {}
    hh = Household.objects.get(pk=proc.household_id) if proc.household_id else None
    for check in sdef.checks:
        if check == "assessment":
            kept["assessment"] = [r for r in (fn(hh) for fn in hooks.assessment_providers()) if r] or None
            for key in ("attribute", "main_cause", "identification_standard"):
                value = str(data.get(key) or "").strip()
                if value:
                    list_key = {"main_cause": "cause", "identification_standard": "standard"}.get(key, key)
                    if value not in selectors.code_labels(list_key):
                        raise ServiceError(_("Invalid code: %(value)s") % {"value": value}, field=key)
                    kept[key] = value
        elif check == "findings":
            findings, any_data = [], False
            for fn in hooks.findings_providers():
                result = fn(hh)
                if result is None:
                    continue
                any_data = True
                findings.extend(result)
            kept["comparison"] = {
                "available": any_data, "findings": findings,
                "message": "无比对数据" if not any_data else (f"发现{len(findings)}条疑点" if findings else "比对未发现问题")}
            if findings and not notes:
                raise ServiceError(_("The department comparison found %(count)s flags: say in the note how they were checked") % {"count": len(findings)}, field="notes")
        elif check == "income_and_guarantees":
            kept.update(_check_income_and_guarantees(hh, day, data))
        elif check == "consent":
            if not any(u.kind in (AttachmentKind.THUMBPRINT, AttachmentKind.SIGNATURE) for u, _, _ in uploads):
                raise ServiceError(_("Upload a photo of the household's signature or fingerprint"), field="attachments")
        elif check == "monitoring_category":
            from fupin.registry.codes import MONITORING_CATEGORY, MONITORING_RISK

            category = str(data.get("monitoring_category") or "").strip()
            risks = data.get("monitoring_risks") or []
            if isinstance(risks, str):
                risks = [r for r in risks.replace(",", ",").split(",") if r.strip()]
            if category not in dict(MONITORING_CATEGORY):
                raise ServiceError(_("Choose the monitoring category (unstable after exit, on the edge of poverty, or in sudden severe difficulty)"), field="monitoring_category")
            bad = [r for r in risks if r not in dict(MONITORING_RISK)]
            if not risks or bad:
                raise ServiceError(_("Choose at least one risk type") + (_("(invalid: %(items)s)") % {"items": '、'.join(bad)} if bad else ""),
                                   field="monitoring_risks")
            kept["monitoring_category"], kept["monitoring_risks"] = category, [str(r) for r in risks]
        elif check == "risks_eliminated":
            if not _as_bool(data.get("risks_eliminated")):
                raise ServiceError(_("Confirm that the household's risk has been cleared"), field="risks_eliminated")
            kept["risks_eliminated"] = True
        elif check == "village_conditions":
            kept.update(_check_village_conditions(proc.village, data))
    return kept


def _check_income_and_guarantees(hh: Household, day: dt.date, data: dict) -> dict:
    year = hh.income_year
    if not year:
        raise ServiceError(_("The household's income is not recorded: it cannot be verified"), field="income")
    if year < day.year - 1:
        raise ServiceError(_("The household's income is for %(year)s and out of date; update the income of %(value)s or %(year2)s first") % {"year": year, "value": day.year - 1, "year2": day.year}, field="income")
    line = PovertyLine.objects.filter(year=year).first()
    if line is None:
        raise ServiceError(_("No poverty line is set for %(year)s: the city poverty office must enter it first") % {"year": year}, field="income")
    income = Decimal(hh.per_capita_net_income or 0)
    if income <= line.amount:
        raise ServiceError(_("Net income per person of %(income)s yuan is not above the %(year)s poverty line of %(amount)s yuan: it cannot be verified") % {"income": income, "year": year, "amount": line.amount}, field="income")
    missing = [str(label) for key, label in GUARANTEES if not _as_bool(data.get(key))]
    if missing:
        raise ServiceError(_("The two assurances and three guarantees are confirmed one by one; not confirmed: ") + "、".join(missing), field="guarantees")
    return {"income_year": year, "per_capita_net_income": str(income), "poverty_line": str(line.amount),
            "guarantees": {key: True for key, _ in GUARANTEES}}


def _check_village_conditions(village: Division, data: dict) -> dict:
    inc = selectors.village_incidence(village)
    threshold = selectors.setting_value("village_exit_incidence_threshold")
    if not inc.population:
        raise ServiceError(_("%(village_name)s has no population recorded: the poverty rate cannot be computed") % {"village_name": village.name}, field="incidence")
    if inc.ratio >= threshold:
        raise ServiceError(_("The poverty rate %(ratio)s is not below %(threshold)s (%(poor)s poor of %(population)s people): the village cannot exit") % {"ratio": format(inc.ratio, '.2%'), "threshold": format(threshold, '.0%'), "poor": inc.poor, "population": inc.population}, field="incidence")
    missing = [str(label) for key, label in VILLAGE_CONDITIONS if not _as_bool(data.get(key))]
    if missing:
        raise ServiceError(_("The exit conditions are confirmed one by one; not confirmed: ") + "、".join(missing), field="conditions")
    return {"incidence": {"poor": inc.poor, "population": inc.population, "ratio": str(round(inc.ratio, 4)),
                          "threshold": str(threshold)},
            "conditions": {key: True for key, _ in VILLAGE_CONDITIONS}}


def _check_spot_checks(proc: Procedure, sdef: StepDef) -> None:
    state = selectors.spot_check_state(proc.batch, sdef.spot_check, procedure=proc)
    if not state.met:
        who = "乡镇" if sdef.spot_check == "town" else "县"
        raise ServiceError(
            _("Before “%(sdef_label)s”, %(who)s must check at least %(ratio)s of the batch's households: the batch has %(households)s households, %(needed)s must be checked, %(checked)s have been") % {"sdef_label": sdef.label, "who": who, "ratio": format(state.ratio, '.0%'), "households": state.households, "needed": state.needed, "checked": state.checked})


def _notice_until(sdef: StepDef, day: dt.date, data: dict) -> dt.date:
    days = int(selectors.setting_value(sdef.notice))
    earliest = day + dt.timedelta(days=days - 1)
    given = data.get("notice_until")
    if given in (None, ""):
        return earliest
    until = _as_date(given, "公示截止日期")
    if until < earliest:
        raise ServiceError(_("The notice period is at least %(days)s days: from %(day)s until at least %(earliest)s") % {"days": days, "day": format(day, '%Y-%m-%d'), "earliest": format(earliest, '%Y-%m-%d')}, field="notice_until")
    return until


def _recorded_before(client_uuid, procedure: Procedure) -> ProcedureStep | None:
    """The step a phone's retry already recorded under `client_uuid` (None: not recorded yet); a number used by
    another procedure is refused."""
    if not client_uuid:
        return None
    existing = ProcedureStep.objects.filter(uuid=client_uuid).first()
    if existing is not None and existing.procedure_id != procedure.pk:
        raise ServiceError(_("The record number is used by another procedure"))
    return existing


@transaction.atomic
def procedure_record_step(*, actor, procedure: Procedure, step: str, decision: str, date: Any, notes: str = "",
                          attachments: Iterable = (), data: dict | None = None,
                          client_uuid: uuidlib.UUID | str | None = None) -> ProcedureStep:
    """Record the procedure's next step (only that one), by an actor of the right role and jurisdiction.

    `decision`: approve (the procedure moves to the following step, or completes after the last), reject (the
    procedure ends; an exit puts the household back to its earlier status), return (the previous step must be done
    again). `attachments`: Upload(kind, file) items or (kind, file) pairs. A repeated `client_uuid` returns the step
    recorded the first time, so a phone that retries does not record twice.
    """
    existing = _recorded_before(client_uuid, procedure)
    if existing is not None:
        return existing
    proc = Procedure.objects.select_for_update(of=("self",)).select_related("household", "village", "batch").get(pk=procedure.pk)
    if proc.status != Status.OPEN:
        raise ServiceError(_("The procedure is %(value)s: nothing more can be done") % {"value": Status(proc.status).label if proc.status else _("ended")})
    pdef = proc.definition
    sdef = _check_step_order(proc, pdef, step)
    if decision not in Decision.values:
        raise ServiceError(_("Unknown decision: %(decision)s") % {"decision": decision})
    _check_actor(actor, sdef, proc.area_code)
    day = _as_date(date)
    _check_date(proc, pdef, sdef, day)
    notes = (notes or "").strip()
    data = dict(data or {})
    uploads = _normalise_uploads(attachments)
    idx = pdef.index(sdef.code)
    if decision == Decision.RETURN and idx == 0:
        raise ServiceError(_("The first step cannot be returned"))
    if decision in (Decision.REJECT, Decision.RETURN) and not notes:
        raise ServiceError(_("A rejection or return needs the reason in the note"), field="notes")
    kept: dict[str, Any] = {}
    if decision == Decision.APPROVE:
        kept = _run_checks(proc, sdef, day, data, notes, uploads)
        if sdef.spot_check:
            _check_spot_checks(proc, sdef)
        if sdef.notice:
            kept["notice_until"] = _notice_until(sdef, day, data).isoformat()
            kept["notice_days"] = int(selectors.setting_value(sdef.notice))
    seq = (proc.steps.aggregate(m=Max("seq"))["m"] or 0) + 1
    record = ProcedureStep.objects.create(
        uuid=client_uuid or uuidlib.uuid4(), procedure=proc, seq=seq, step=sdef.code, actor=actor,
        actor_name=(actor.display_name or actor.get_username())[:150], actor_role=actor.role, date=day,
        decision=decision, notes=notes, data=kept, area_code=proc.area_code)
    if decision == Decision.APPROVE:
        if idx == len(pdef.steps) - 1:
            proc.status, proc.current_step, proc.finished_on = Status.COMPLETED, "", day
            _complete(actor, proc, record, day)
        else:
            proc.current_step = pdef.steps[idx + 1].code
    elif decision == Decision.REJECT:
        proc.status, proc.current_step, proc.finished_on = Status.REJECTED, "", day
        _rejected(actor, proc)
    else:
        proc.current_step = pdef.steps[idx - 1].code
    proc.version += 1
    proc.save()
    if proc.batch_id and sdef.spot_check == "town" and decision == Decision.APPROVE and not proc.batch.closed:
        # The spot-check base must not grow once the town has started approving the batch.
        ProcedureBatch.objects.filter(pk=proc.batch_id).update(closed=True)
    # Files are written last, when nothing else can refuse the step; they are removed if what follows fails.
    files = _save_uploads(record, uploads)
    try:
        _audit_step(actor, proc, record, files)
        _notify(proc, actor=actor, done_step=sdef)
    except BaseException:
        _remove_files(files)
        raise
    return record


@transaction.atomic
def procedure_record_spot_check(*, actor, procedure: Procedure, level: str, date: Any, notes: str = "",
                                finding: str = "approve", attachments: Iterable = (),
                                client_uuid: uuidlib.UUID | str | None = None) -> ProcedureStep:
    """Record a town or county spot-check visit of a household in a batch (before the town review, resp. the county
    approval). `finding`: approve (verified as declared) or reject (a problem found: notes required). The visit does
    not move the procedure; it counts toward the batch's spot-check ratio."""
    existing = _recorded_before(client_uuid, procedure)
    if existing is not None:
        return existing
    if level not in CheckLevel.values:
        raise ServiceError(_("Unknown spot-check level: %(level)s") % {"level": level})
    proc = Procedure.objects.select_for_update(of=("self",)).select_related("household", "village", "batch").get(pk=procedure.pk)
    pdef = proc.definition
    if level not in pdef.spot_check_levels:
        raise ServiceError(_("The %(kind)s procedure has no %(spot_check_label)s") % {"kind": kind_name(proc.kind), "spot_check_label": SPOT_CHECK_LABEL[level]})
    if proc.status != Status.OPEN:
        raise ServiceError(_("The procedure has ended: no more spot checks"))
    target = next(s for s in pdef.steps if s.spot_check == level)
    if proc.current_step != target.code:
        raise ServiceError(_("%(spot_check_label)s is done while the current step is “%(target_label)s”") % {"spot_check_label": SPOT_CHECK_LABEL[level], "target_label": target.label})
    _check_actor(actor, target, proc.area_code)
    if finding not in (Decision.APPROVE, Decision.REJECT):
        raise ServiceError(_("Unknown spot-check conclusion: %(finding)s") % {"finding": finding})
    notes = (notes or "").strip()
    if finding == Decision.REJECT and not notes:
        raise ServiceError(_("A spot check that found problems needs them in the note"), field="notes")
    day = _as_date(date)
    _check_date(proc, pdef, None, day)
    uploads = _normalise_uploads(attachments)
    seq = (proc.steps.aggregate(m=Max("seq"))["m"] or 0) + 1
    record = ProcedureStep.objects.create(
        uuid=client_uuid or uuidlib.uuid4(), procedure=proc, seq=seq, step=SPOT_CHECK_STEP[level], actor=actor,
        actor_name=(actor.display_name or actor.get_username())[:150], actor_role=actor.role, date=day,
        decision=finding, notes=notes, data={"level": level}, area_code=proc.area_code)
    files = _save_uploads(record, uploads)
    try:
        _audit_step(actor, proc, record, files)
    except BaseException:
        _remove_files(files)
        raise
    return record


# Effects -------------------------------------------------------------------------------------------------------

def _household_update(actor, hh: Household, **changes) -> Household:
    from fupin.registry.services import household_update

    return household_update(actor=actor, household=hh, **changes)


def _new_poor_code(village: Division) -> str:
    """户编号 for a newly registered household: the village code and a 4-digit sequence."""
    prefix = village.code
    taken = Household.objects.filter(poor_code__startswith=prefix).values_list("poor_code", flat=True)
    numbers = [int(c[len(prefix):]) for c in taken if c[len(prefix):].isdigit()]
    return f"{prefix}{(max(numbers) if numbers else 0) + 1:04d}"


def _latest_data(proc: Procedure, step: str) -> dict:
    record = selectors.latest_step(proc, step)
    return record.data if record else {}


def _complete(actor, proc: Procedure, record: ProcedureStep, day: dt.date) -> None:
    hh = proc.household
    if proc.kind == Kind.IDENTIFICATION:
        proposed = _latest_data(proc, "visit")
        changes: dict[str, Any] = {"is_registered_poor": True, "poverty_status": "0", "year_identified": day.year}
        if not hh.poor_code:
            changes["poor_code"] = _new_poor_code(proc.village)
        for key in ("attribute", "main_cause", "identification_standard"):
            if proposed.get(key) and not getattr(hh, key):
                changes[key] = proposed[key]
        _household_update(actor, hh, **changes)
    elif proc.kind == Kind.EXIT:
        _household_update(actor, hh, poverty_status="1", year_exited=day.year)
    elif proc.kind == Kind.RETURN_TO_POVERTY:
        _household_update(actor, hh, poverty_status="3")
    elif proc.kind == Kind.MONITORING_ENTRY:
        warning = _latest_data(proc, "risk_warning")
        _household_update(actor, hh, monitoring_category=warning["monitoring_category"],
                          monitoring_risks=warning["monitoring_risks"])
    elif proc.kind == Kind.MONITORING_EXIT:
        _household_update(actor, hh, monitoring_category="", monitoring_risks=[])
    elif proc.kind == Kind.VILLAGE_EXIT:
        from fupin.registry.services import village_set_poor

        village_set_poor(actor=actor, village=proc.village, is_poor=False,
                         note=f"贫困村出列({day:%Y-%m-%d},{kind_name(proc.kind)}程序{proc.uuid})")


def _rejected(actor, proc: Procedure) -> None:
    if proc.kind == Kind.EXIT:
        hh = Household.objects.get(pk=proc.household_id)
        if hh.poverty_status == "2":
            _household_update(actor, hh, poverty_status=proc.data.get("status_before") or "0")


def _audit_step(actor, proc: Procedure, record: ProcedureStep, files: list[StepAttachment]) -> None:
    subject = proc.household if proc.household_id else proc.village
    label = record.step_label
    note = f"{kind_name(proc.kind)}·{label}:{Decision(record.decision).label}({record.date:%Y-%m-%d},{record.actor_name})"
    if record.notes:
        note += f";{record.notes}"
    if files:
        note += ";附件:" + "、".join(f.name for f in files)
    # The step row keeps everything (data, files); the event says what happened in a line and points to it.
    audit.record(actor=actor, action=f"lifecycle.{proc.kind}.{record.step}", obj=subject, note=note[:2000],
                 after={"procedure": str(proc.uuid), "step": record.step, "decision": record.decision,
                        "date": record.date, "attachments": [f.name for f in files]})


# Inbox ---------------------------------------------------------------------------------------------------------

def _users_for(roles, area: str) -> list:
    from fupin.geo import responsible

    return responsible.users_covering(area, roles)


def _inbox_key(proc: Procedure, sdef: StepDef) -> str:
    if proc.batch_id and sdef.spot_check:
        return f"lifecycle:batch:{proc.batch.uuid}:{sdef.code}"
    return f"lifecycle:{proc.uuid}:{sdef.code}"


def _notify(proc: Procedure, *, actor, done_step: StepDef | None) -> None:
    """Post the next step to the users who must act on it; close the item of the step just done."""
    from fupin.inbox.models import InboxItem
    from fupin.inbox.services import inbox_close_by_key, inbox_post

    if done_step is not None:
        key = _inbox_key(proc, done_step)
        if not (proc.batch_id and done_step.spot_check) or not Procedure.objects.filter(
                batch_id=proc.batch_id, status=Status.OPEN, current_step=done_step.code).exists():
            inbox_close_by_key(dedupe_key=key)
    if proc.status != Status.OPEN:
        return
    sdef = proc.current_step_def
    key = _inbox_key(proc, sdef)
    if proc.batch_id and sdef.spot_check:
        title, url, obj = f"{proc.batch.name}:有农户待{sdef.label}", proc.batch.get_absolute_url(), proc.batch
        body = f"办理前须按比例入户抽查({SPOT_CHECK_LABEL[sdef.spot_check]})。"
    else:
        title, url, obj = f"{proc.subject}{kind_name(proc.kind)}:待{sdef.label}", proc.get_absolute_url(), proc
        body = ""
    for user in _users_for(sdef.roles, proc.area_code):
        if user.pk == getattr(actor, "pk", None):
            continue
        inbox_post(user=user, title=title, kind=InboxItem.Kind.PROCEDURE, body=body, url=url, obj=obj,
                   area_code=obj.area_code, dedupe_key=key)
