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
        raise ServiceError(f"{what}格式不正确(应为YYYY-MM-DD):{value}", field="date") from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes", "是", "y")


def _check_actor(actor, step: StepDef, area_code: str, *, roles=None) -> None:
    """The right role for the step and the subject inside the actor's jurisdiction."""
    if not getattr(actor, "pk", None):
        raise ServiceError("程序步骤须由登录的工作人员办理")
    roles = roles or step.roles
    if actor.role not in roles:
        raise ServiceError(f"「{step.label}」须由{_role_names(roles)}办理,您的角色({role_name(actor.role)})"
                           "不能办理此步骤")
    scoping.require(actor, area_code, None, message="该对象不在您的管辖范围内,不能办理")


# Settings ------------------------------------------------------------------------------------------------------

@transaction.atomic
def procedure_setting_set(*, actor, key: str, value: Any) -> ProcedureSetting:
    """Change a county setting of the procedures (city office only); bounds are checked, the change audited."""
    if key not in SETTINGS:
        raise ServiceError(f"未知的设置项:{key}")
    if not (getattr(actor, "is_superuser", False) or getattr(actor, "role", "") == "city_office"):
        raise ServiceError("只有市扶贫办可以修改程序设置")
    sdef = SETTINGS[key]
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(f"「{sdef.label}」须为数字:{value}") from None
    if sdef.integer and number != number.to_integral_value():
        raise ServiceError(f"「{sdef.label}」须为整数:{value}")
    if not (sdef.minimum <= number <= sdef.maximum):
        raise ServiceError(f"「{sdef.label}」须在{sdef.minimum}至{sdef.maximum}之间:{value}")
    before = selectors.setting_value(key)
    row, _ = ProcedureSetting.objects.update_or_create(key=key, defaults={"value": number, "updated_by": actor})
    audit.record(actor=actor, action="lifecycle.setting.set", object_type="lifecycle.proceduresetting",
                 object_id=key, object_repr=str(sdef.label), before={"value": before}, after={"value": number})
    return row


# Starting ------------------------------------------------------------------------------------------------------

def _check_start_household(kind: str, hh: Household) -> None:
    status = hh.poverty_status or ""
    if kind == Kind.IDENTIFICATION and hh.is_registered_poor:
        raise ServiceError(f"{hh}已是建档立卡贫困户,不能再申请识别")
    if kind == Kind.EXIT and not (hh.is_registered_poor and status in ("0", "3")):
        raise ServiceError(f"只有未脱贫或返贫的建档立卡户才能启动退出程序({hh}当前状态:{_status_name(status)})")
    if kind == Kind.RETURN_TO_POVERTY and not (hh.is_registered_poor and status in ("1", "4")):
        raise ServiceError(f"只有已脱贫的建档立卡户才能启动返贫程序({hh}当前状态:{_status_name(status)})")
    if kind == Kind.MONITORING_ENTRY and hh.monitoring_category:
        raise ServiceError(f"{hh}已是监测对象")
    if kind == Kind.MONITORING_EXIT and not hh.monitoring_category:
        raise ServiceError(f"{hh}不是监测对象,无需风险消除")
    if not hh.size or getattr(hh, "dissolved_on", None):
        raise ServiceError(f"{hh}已注销或没有家庭成员,不能启动程序")


def _status_name(code: str) -> str:
    return selectors.code_labels("status").get(code, code or "未登记")


def _resolve_batch(*, kind: str, town: Division, year: int, batch: ProcedureBatch | None) -> ProcedureBatch:
    """The given batch (checked), else the latest open batch of the town and year, else a new one."""
    if batch is not None:
        if batch.kind != kind or batch.town_id != town.pk or batch.year != year:
            raise ServiceError(f"批次「{batch}」不属于{town.name}{year}年的{kind_name(kind)}")
        if batch.closed:
            raise ServiceError(f"批次「{batch}」已进入乡镇审核,不再接收新的申请;请选择新的批次")
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
        raise ServiceError(f"{kind_name(kind)}不分批次")
    if getattr(actor, "role", "") not in TOWN | COUNTY:
        raise ServiceError("只有乡镇工作站或市扶贫办可以新建批次")
    scoping.require(actor, town.code, None, message="该乡镇不在您的管辖范围内")
    if town.level != "town":
        raise ServiceError(f"批次须按乡镇建立:{town.name}不是乡镇")
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
        raise ServiceError("日期不能晚于今天")
    if pdef.subject == "household":
        if household is None:
            raise ServiceError("请选择农户")
        hh = Household.objects.select_for_update(of=("self",)).select_related("village", "village__parent").get(pk=household.pk)
        _check_actor(actor, pdef.first, hh.area_code)
        _check_start_household(kind, hh)
        existing = Procedure.objects.filter(household=hh, status=Status.OPEN).first()
        if existing:
            raise ServiceError(f"{hh}已有进行中的{kind_name(existing.kind)}程序,须先办结")
        subject_village, area, subject = hh.village, hh.area_code, hh
    else:
        if village is None:
            raise ServiceError("请选择村")
        subject_village = Division.objects.select_for_update(of=("self",)).select_related("parent").get(pk=village.pk)
        if subject_village.level != "village":
            raise ServiceError(f"{subject_village.name}不是行政村")
        if not subject_village.is_poor_village:
            raise ServiceError(f"{subject_village.name}不是贫困村,无需出列")
        _check_actor(actor, pdef.first, subject_village.code)
        if Procedure.objects.filter(village=subject_village, kind=kind, household__isnull=True,
                                    status=Status.OPEN).exists():
            raise ServiceError(f"{subject_village.name}已有进行中的出列程序")
        hh, area, subject = None, subject_village.code, subject_village
    if pdef.batched:
        town = subject_village.parent
        if town is None:
            raise ServiceError(f"{subject_village.name}没有上级乡镇,无法编入批次")
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
        raise ServiceError(f"{kind_name(proc.kind)}程序没有「{step}」这一步骤")
    current = pdef.step(proc.current_step)
    if step != proc.current_step:
        if codes.index(step) < codes.index(proc.current_step):
            raise ServiceError(f"「{pdef.step(step).label}」已办理,当前应办理「{current.label}」")
        raise ServiceError(f"不能跳过步骤:当前应办理「{current.label}」,不能直接办理「{pdef.step(step).label}」")
    return current


def _check_date(proc: Procedure, pdef: ProcedureDef, sdef: StepDef | None, day: dt.date) -> None:
    """Not in the future, not before the last step, and not before the previous notice has run its days."""
    if day > _today():
        raise ServiceError(f"日期不能晚于今天({_today():%Y-%m-%d})", field="date")
    last = proc.steps.exclude(step__startswith="spot_check_").order_by("-seq").first()
    if last is not None and day < last.date:
        raise ServiceError(f"日期不得早于上一步骤「{last.step_label}」的日期({last.date:%Y-%m-%d})", field="date")
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
                    f"公示期未满:「{prev.label}」自{record.date:%Y-%m-%d}起公示至{until:%Y-%m-%d},"
                    f"「{sdef.label}」最早可于{until + dt.timedelta(days=1):%Y-%m-%d}办理", field="date")


def _normalise_uploads(attachments: Iterable) -> list[Upload]:
    max_bytes = int(getattr(settings, "FUPIN_ATTACHMENT_MAX_MB", 20)) * 1024 * 1024
    out = []
    for a in attachments or ():
        if isinstance(a, tuple):
            a = Upload(kind=a[0], file=a[1])
        if a.kind not in AttachmentKind.values:
            raise ServiceError(f"未知的附件类别:{a.kind}")
        name = os.path.basename(a.name or getattr(a.file, "name", "") or "附件")
        ext = os.path.splitext(name)[1].lower()
        if ext not in ALLOWED_EXTENSIONS:
            raise ServiceError(f"附件「{name}」的类型不允许(可上传图片、PDF、Word、Excel、文本)")
        size = getattr(a.file, "size", None)
        if size is None:
            a.file.seek(0, os.SEEK_END)
            size = a.file.tell()
        if size > max_bytes:
            raise ServiceError(f"附件「{name}」超过{max_bytes // (1024 * 1024)}MB")
        if size == 0:
            raise ServiceError(f"附件「{name}」是空文件")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        a.file.seek(0)
        head = a.file.read(16)
        a.file.seek(0)
        if content_type in MAGIC and not head.startswith(MAGIC[content_type]):
            raise ServiceError(f"附件「{name}」的内容与扩展名不符")
        if a.kind in (AttachmentKind.THUMBPRINT, AttachmentKind.SIGNATURE, AttachmentKind.PHOTO) and \
                content_type not in IMAGE_TYPES | {"application/pdf"}:
            raise ServiceError(f"「{AttachmentKind(a.kind).label}」须为图片或PDF:{name}")
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
                        raise ServiceError(f"代码无效:{value}", field=key)
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
                raise ServiceError(f"部门比对发现{len(findings)}条疑点,须在备注中说明核实情况", field="notes")
        elif check == "income_and_guarantees":
            kept.update(_check_income_and_guarantees(hh, day, data))
        elif check == "consent":
            if not any(u.kind in (AttachmentKind.THUMBPRINT, AttachmentKind.SIGNATURE) for u, _, _ in uploads):
                raise ServiceError("须上传农户签字或手印照片", field="attachments")
        elif check == "monitoring_category":
            from fupin.registry.codes import MONITORING_CATEGORY, MONITORING_RISK

            category = str(data.get("monitoring_category") or "").strip()
            risks = data.get("monitoring_risks") or []
            if isinstance(risks, str):
                risks = [r for r in risks.replace(",", ",").split(",") if r.strip()]
            if category not in dict(MONITORING_CATEGORY):
                raise ServiceError("请选择监测对象类别(脱贫不稳定户、边缘易致贫户或突发严重困难户)", field="monitoring_category")
            bad = [r for r in risks if r not in dict(MONITORING_RISK)]
            if not risks or bad:
                raise ServiceError("请选择至少一项风险类型" + (f"(无效:{'、'.join(bad)})" if bad else ""),
                                   field="monitoring_risks")
            kept["monitoring_category"], kept["monitoring_risks"] = category, [str(r) for r in risks]
        elif check == "risks_eliminated":
            if not _as_bool(data.get("risks_eliminated")):
                raise ServiceError("须确认该户风险已经消除", field="risks_eliminated")
            kept["risks_eliminated"] = True
        elif check == "village_conditions":
            kept.update(_check_village_conditions(proc.village, data))
    return kept


def _check_income_and_guarantees(hh: Household, day: dt.date, data: dict) -> dict:
    year = hh.income_year
    if not year:
        raise ServiceError("该户尚未登记收入,不能核实", field="income")
    if year < day.year - 1:
        raise ServiceError(f"该户的收入数据是{year}年的,已过时;请先更新{day.year - 1}年或{day.year}年的收入", field="income")
    line = PovertyLine.objects.filter(year=year).first()
    if line is None:
        raise ServiceError(f"未设置{year}年的贫困线,请先由市扶贫办录入", field="income")
    income = Decimal(hh.per_capita_net_income or 0)
    if income <= line.amount:
        raise ServiceError(f"人均纯收入{income}元未超过{year}年贫困线{line.amount}元,不能核实通过", field="income")
    missing = [str(label) for key, label in GUARANTEES if not _as_bool(data.get(key))]
    if missing:
        raise ServiceError("两不愁三保障须逐项确认,未确认:" + "、".join(missing), field="guarantees")
    return {"income_year": year, "per_capita_net_income": str(income), "poverty_line": str(line.amount),
            "guarantees": {key: True for key, _ in GUARANTEES}}


def _check_village_conditions(village: Division, data: dict) -> dict:
    inc = selectors.village_incidence(village)
    threshold = selectors.setting_value("village_exit_incidence_threshold")
    if not inc.population:
        raise ServiceError(f"{village.name}没有登记人口,无法计算贫困发生率", field="incidence")
    if inc.ratio >= threshold:
        raise ServiceError(f"贫困发生率{inc.ratio:.2%}未低于{threshold:.0%}(未脱贫人口{inc.poor}人/总人口{inc.population}人),"
                           "不能出列", field="incidence")
    missing = [str(label) for key, label in VILLAGE_CONDITIONS if not _as_bool(data.get(key))]
    if missing:
        raise ServiceError("出列条件须逐项确认,未确认:" + "、".join(missing), field="conditions")
    return {"incidence": {"poor": inc.poor, "population": inc.population, "ratio": str(round(inc.ratio, 4)),
                          "threshold": str(threshold)},
            "conditions": {key: True for key, _ in VILLAGE_CONDITIONS}}


def _check_spot_checks(proc: Procedure, sdef: StepDef) -> None:
    state = selectors.spot_check_state(proc.batch, sdef.spot_check, procedure=proc)
    if not state.met:
        who = "乡镇" if sdef.spot_check == "town" else "县"
        raise ServiceError(
            f"「{sdef.label}」前{who}须抽查本批次至少{state.ratio:.0%}的农户:本批次{state.households}户,"
            f"需抽查{state.needed}户,已抽查{state.checked}户")


def _notice_until(sdef: StepDef, day: dt.date, data: dict) -> dt.date:
    days = int(selectors.setting_value(sdef.notice))
    earliest = day + dt.timedelta(days=days - 1)
    given = data.get("notice_until")
    if given in (None, ""):
        return earliest
    until = _as_date(given, "公示截止日期")
    if until < earliest:
        raise ServiceError(f"公示期不得少于{days}天:自{day:%Y-%m-%d}起至少公示到{earliest:%Y-%m-%d}", field="notice_until")
    return until


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
    if client_uuid:
        existing = ProcedureStep.objects.filter(uuid=client_uuid).first()
        if existing is not None:
            if existing.procedure_id != procedure.pk:
                raise ServiceError("该记录编号已用于其他程序")
            return existing
    proc = Procedure.objects.select_for_update(of=("self",)).select_related("household", "village", "batch").get(pk=procedure.pk)
    if proc.status != Status.OPEN:
        raise ServiceError(f"该程序已{Status(proc.status).label if proc.status else '结束'},不能再办理")
    pdef = proc.definition
    sdef = _check_step_order(proc, pdef, step)
    if decision not in Decision.values:
        raise ServiceError(f"未知的办理结果:{decision}")
    _check_actor(actor, sdef, proc.area_code)
    day = _as_date(date)
    _check_date(proc, pdef, sdef, day)
    notes = (notes or "").strip()
    data = dict(data or {})
    uploads = _normalise_uploads(attachments)
    idx = pdef.index(sdef.code)
    if decision == Decision.RETURN and idx == 0:
        raise ServiceError("第一步不能退回")
    if decision in (Decision.REJECT, Decision.RETURN) and not notes:
        raise ServiceError("不通过或退回时须在备注中写明理由", field="notes")
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
    if client_uuid:
        existing = ProcedureStep.objects.filter(uuid=client_uuid).first()
        if existing is not None:
            if existing.procedure_id != procedure.pk:
                raise ServiceError("该记录编号已用于其他程序")
            return existing
    if level not in CheckLevel.values:
        raise ServiceError(f"未知的抽查层级:{level}")
    proc = Procedure.objects.select_for_update(of=("self",)).select_related("household", "village", "batch").get(pk=procedure.pk)
    pdef = proc.definition
    if level not in pdef.spot_check_levels:
        raise ServiceError(f"{kind_name(proc.kind)}程序不设{SPOT_CHECK_LABEL[level]}")
    if proc.status != Status.OPEN:
        raise ServiceError("该程序已结束,不能再抽查")
    target = next(s for s in pdef.steps if s.spot_check == level)
    if proc.current_step != target.code:
        raise ServiceError(f"{SPOT_CHECK_LABEL[level]}须在当前步骤为「{target.label}」时进行")
    _check_actor(actor, target, proc.area_code)
    if finding not in (Decision.APPROVE, Decision.REJECT):
        raise ServiceError(f"未知的抽查结论:{finding}")
    notes = (notes or "").strip()
    if finding == Decision.REJECT and not notes:
        raise ServiceError("抽查发现问题时须在备注中写明", field="notes")
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
