"""Writes of the assistance app: units and cadres, pairings (不脱贫不脱钩), plans and measures, policies received,
assistance records, errands and the light thresholds. Every function is atomic, audits, and refreshes the lights of
the households it touched before it returns.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from fupin.assistance import conf
from fupin.assistance.choices import (
    PERSON_KINDS,
    TOWN_KINDS,
    UNIT_KINDS,
    AreaPairingKind,
    AttachmentKind,
    ErrandStatus,
    MeasureKind,
    MeasureStatus,
    RecordKind,
    RecordSource,
    UnitKind,
)
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
    VillagePlan,
    WorkTeam,
)
from fupin.assistance.tracking import recompute_all, refresh_lights
from fupin.core import audit, scoping
from fupin.core.errors import ServiceError
from fupin.geo.models import Division
from fupin.registry.models import Household, Person


def _snap(obj) -> dict | None:
    """audit.snapshot with file fields as their stored names."""
    data = audit.snapshot(obj)
    if data:
        for k, v in data.items():
            if isinstance(v, FieldFile):
                data[k] = v.name or ""
    return data


def _today() -> dt.date:
    return conf.local_today()


def _text(value: str | None, label: str, *, required: bool = True, max_length: int = 0) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ServiceError(f"请填写{label}")
    if max_length and len(value) > max_length:
        raise ServiceError(f"{label}过长(最多{max_length}字)")
    return value


def _not_future(day: dt.date, label: str) -> dt.date:
    if day > _today():
        raise ServiceError(f"{label}不能晚于今天")
    return day


def household_exited(household: Household) -> bool:
    """Exited (or dissolved): 不脱贫不脱钩 no longer binds the household's pairing."""
    if getattr(household, "dissolved_on", None):
        return True
    return household.poverty_status in conf.exited_statuses()


def division_exited(division: Division) -> bool:
    """A village binds its pairings while it is a poor village; a town while any of its villages is."""
    if division.level in ("village", "community"):
        return not division.is_poor_village
    return not Division.objects.filter(parent=division, is_poor_village=True).exists()


def _check_approver(approver, area_code: str) -> None:
    if approver is None:
        raise ServiceError("不脱贫不脱钩:改派须有审批人")
    if not (approver.is_superuser or approver.can("approve_town") or approver.can("approve_county")):
        raise ServiceError(f"{approver}没有审批改派的权限(须为乡镇或市级审批人员)")
    scoping.require(approver, area_code, None, message=f"审批人{approver}不管辖该地区,不能审批")


# Units and cadres --------------------------------------------------------------------------------------------------


@transaction.atomic
def unit_create(*, actor, name: str, kind: str = UnitKind.DEPARTMENT, department=None, contact_user=None,
                phone: str = "") -> Unit:
    name = _text(name, "单位名称", max_length=100)
    if kind not in UnitKind.values:
        raise ServiceError(f"未知的单位类别:{kind}")
    if Unit.objects.filter(name=name).exists():
        raise ServiceError(f"单位「{name}」已存在", field="name")
    unit = Unit.objects.create(name=name, kind=kind, department=department, contact_user=contact_user, phone=phone)
    audit.record(actor=actor, action="assistance.unit.create", obj=unit, after=_snap(unit))
    return unit


@transaction.atomic
def unit_update(*, actor, unit: Unit, **changes) -> Unit:
    allowed = {"name", "kind", "department", "contact_user", "phone", "is_active"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(f"不能修改:{', '.join(sorted(bad))}")
    before = _snap(unit)
    for k, v in changes.items():
        setattr(unit, k, v)
    unit.version += 1
    unit.full_clean()
    unit.save()
    audit.record(actor=actor, action="assistance.unit.update", obj=unit, before=before, after=_snap(unit))
    return unit


@transaction.atomic
def cadre_create(*, actor, name: str, unit: Unit, phone: str = "", post: str = "", user=None) -> Cadre:
    name = _text(name, "帮扶责任人姓名", max_length=50)
    if user is not None and Cadre.objects.filter(user=user).exists():
        raise ServiceError(f"用户{user}已关联了另一名帮扶责任人")
    cadre = Cadre.objects.create(name=name, unit=unit, phone=(phone or "").strip(), post=(post or "").strip(),
                                 user=user)
    audit.record(actor=actor, action="assistance.cadre.create", obj=cadre, after=_snap(cadre))
    return cadre


@transaction.atomic
def cadre_update(*, actor, cadre: Cadre, **changes) -> Cadre:
    allowed = {"name", "phone", "unit", "post", "user", "is_active"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(f"不能修改:{', '.join(sorted(bad))}")
    if changes.get("user") is not None and Cadre.objects.filter(user=changes["user"]).exclude(pk=cadre.pk).exists():
        raise ServiceError(f"用户{changes['user']}已关联了另一名帮扶责任人")
    before = _snap(cadre)
    for k, v in changes.items():
        setattr(cadre, k, v)
    cadre.version += 1
    cadre.full_clean()
    cadre.save()
    audit.record(actor=actor, action="assistance.cadre.update", obj=cadre, before=before, after=_snap(cadre))
    ids = list(HouseholdPairing.objects.filter(cadre=cadre, end_date__isnull=True).values_list("household_id",
                                                                                              flat=True))
    refresh_lights(household_ids=ids)
    return cadre


# Household pairing (结对帮扶, 三定一包, 不脱贫不脱钩) ------------------------------------------------------------


def current_pairing(household: Household) -> HouseholdPairing | None:
    return (HouseholdPairing.objects.filter(household=household, end_date__isnull=True)
            .select_related("cadre", "unit").order_by().first())


def _terms(duty: str, post: str, exit_commitment: str, exit_target_year: int | None) -> dict:
    if exit_target_year is not None and not 2014 <= int(exit_target_year) <= 2035:
        raise ServiceError("承诺脱贫年份应在2014-2035之间")
    return {"duty": _text(duty, "帮扶责任", required=False, max_length=200),
            "post": _text(post, "岗位", required=False, max_length=100),
            "exit_commitment": _text(exit_commitment, "脱贫承诺", required=False, max_length=200),
            "exit_target_year": exit_target_year}


@transaction.atomic
def pairing_assign(*, actor, household: Household, cadre: Cadre, start: dt.date | None = None, duty: str = "",
                   post: str = "", exit_commitment: str = "", exit_target_year: int | None = None,
                   batch=None, refresh: bool = True) -> HouseholdPairing:
    """Make `cadre` the household's responsible cadre (三定一包). A household that already has one is reassigned
    with `pairing_reassign`, never here."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    if not household.is_registered_poor:
        raise ServiceError(f"{household}不是建档立卡贫困户,不需结对帮扶")
    if not cadre.is_active:
        raise ServiceError(f"帮扶责任人{cadre}已停用")
    current = current_pairing(household)
    if current is not None:
        if current.cadre_id == cadre.pk:
            return current
        raise ServiceError(f"{household}已由{current.cadre}帮扶;不脱贫不脱钩,更换帮扶责任人须改派并经审批")
    start = _not_future(start or _today(), "结对日期")
    pairing = HouseholdPairing.objects.create(household=household, cadre=cadre, unit=cadre.unit,
                                              area_code=household.area_code, start_date=start, batch=batch,
                                              **_terms(duty, post, exit_commitment, exit_target_year))
    if batch is None:
        audit.record(actor=actor, action="assistance.pairing.assign", obj=pairing, after=_snap(pairing))
    if refresh:
        refresh_lights(household_ids=[household.pk])
    return pairing


def _end_for_reassignment(pairing, *, actor, approver, reason: str, start: dt.date | None, area_code: str,
                          holder: str) -> tuple[dt.date, dict]:
    """Close an open pairing because it is handed to someone else (不脱贫不脱钩: the only way to end it early):
    the approver must hold the area, the date may not be in the future nor before the pairing began. Returns the
    reassignment date and the pairing's state before, for the audit event."""
    _check_approver(approver, area_code)
    start = _not_future(start or _today(), "改派日期")
    if start < pairing.start_date:
        raise ServiceError(f"改派日期不能早于{holder}")
    before = _snap(pairing)
    pairing.end_date = start
    pairing.end_reason = reason
    pairing.ended_by = actor if getattr(actor, "pk", None) else None
    pairing.approved_by = approver
    pairing.version += 1
    pairing.save()
    return start, before


@transaction.atomic
def pairing_reassign(*, actor, household: Household, cadre: Cadre, reason: str, approver,
                     start: dt.date | None = None, duty: str | None = None, post: str | None = None,
                     exit_commitment: str | None = None, exit_target_year: int | None = None) -> HouseholdPairing:
    """Hand the household to another cadre: the current pairing ends with the reason and the approver, a new one
    begins the same day (不脱贫不脱钩: the household is never left without a cadre)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    reason = _text(reason, "改派原因", max_length=300)
    current = current_pairing(household)
    if current is None:
        raise ServiceError(f"{household}目前没有帮扶责任人,请直接结对")
    if current.cadre_id == cadre.pk:
        raise ServiceError(f"{cadre}已是该户的帮扶责任人")
    if not cadre.is_active:
        raise ServiceError(f"帮扶责任人{cadre}已停用")
    start, before = _end_for_reassignment(current, actor=actor, approver=approver, reason=reason, start=start,
                                          area_code=household.area_code, holder="现任帮扶责任人的结对日期")
    terms = _terms(current.duty if duty is None else duty, current.post if post is None else post,
                   current.exit_commitment if exit_commitment is None else exit_commitment,
                   exit_target_year if exit_target_year is not None else current.exit_target_year)
    new = HouseholdPairing.objects.create(household=household, cadre=cadre, unit=cadre.unit,
                                          area_code=household.area_code, start_date=start, **terms)
    current.successor = new
    current.save(update_fields=["successor", "updated_at"])
    audit.record(actor=actor, action="assistance.pairing.reassign", obj=new, before=before,
                 after={"ended": _snap(current), "new": _snap(new)}, note=reason)
    refresh_lights(household_ids=[household.pk])
    return new


@transaction.atomic
def pairing_end(*, actor, household: Household, reason: str, end: dt.date | None = None) -> HouseholdPairing:
    """End the household's pairing: only once it has exited (不脱贫不脱钩); before that, reassign instead."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    reason = _text(reason, "结束原因", max_length=300)
    current = current_pairing(household)
    if current is None:
        raise ServiceError(f"{household}目前没有帮扶责任人")
    if not household_exited(household):
        raise ServiceError(f"不脱贫不脱钩:{household}尚未脱贫,不能解除结对;如需更换帮扶责任人,请改派并经审批")
    end = _not_future(end or _today(), "结束日期")
    if end < current.start_date:
        raise ServiceError("结束日期不能早于结对日期")
    before = _snap(current)
    current.end_date = end
    current.end_reason = reason
    current.ended_by = actor if getattr(actor, "pk", None) else None
    current.version += 1
    current.save()
    audit.record(actor=actor, action="assistance.pairing.end", obj=current, before=before,
                 after=_snap(current), note=reason)
    refresh_lights(household_ids=[household.pk])
    return current


@transaction.atomic
def pairing_update_terms(*, actor, pairing: HouseholdPairing, duty: str, post: str, exit_commitment: str,
                         exit_target_year: int | None) -> HouseholdPairing:
    """Change the 三定一包 terms of the current pairing."""
    if not pairing.is_open:
        raise ServiceError("已结束的结对不能修改")
    before = _snap(pairing)
    for k, v in _terms(duty, post, exit_commitment, exit_target_year).items():
        setattr(pairing, k, v)
    pairing.version += 1
    pairing.save()
    audit.record(actor=actor, action="assistance.pairing.terms", obj=pairing, before=before,
                 after=_snap(pairing))
    return pairing


# Village and town pairings (对口帮扶) -----------------------------------------------------------------------------


def _check_area_party(kind: str, division: Division, cadre: Cadre | None, unit: Unit | None,
                      team: WorkTeam | None) -> None:
    if kind not in AreaPairingKind.values:
        raise ServiceError(f"未知的对口帮扶类别:{kind}")
    if kind in TOWN_KINDS:
        if division.level != "town":
            raise ServiceError(f"市委常委联系的是乡镇,{division}不是乡镇")
    elif division.level not in ("village", "community"):
        raise ServiceError(f"{division}不是村,不能对口帮扶")
    if kind == AreaPairingKind.WORK_TEAM:
        if team is None:
            raise ServiceError("请选择驻村工作队")
        if team.village_id != division.pk:
            raise ServiceError(f"工作队{team}不属于{division}")
    elif kind in PERSON_KINDS and cadre is None:
        raise ServiceError("请选择联系人(帮扶责任人)")
    elif kind in UNIT_KINDS and unit is None:
        raise ServiceError("请选择帮扶单位或企业")
    if kind == AreaPairingKind.ENTERPRISE_VILLAGE and unit is not None and unit.kind != UnitKind.ENTERPRISE:
        raise ServiceError(f"{unit}不是企业")


@transaction.atomic
def area_pairing_create(*, actor, kind: str, division: Division, cadre: Cadre | None = None,
                        unit: Unit | None = None, team: WorkTeam | None = None, start: dt.date | None = None,
                        duty: str = "", post: str = "", exit_commitment: str = "",
                        exit_target_year: int | None = None, batch=None) -> AreaPairing:
    """Link a unit, leader, enterprise, work team or first secretary to a village (a committee member to a town)."""
    _check_area_party(kind, division, cadre, unit, team)
    if team is not None:
        unit, cadre = team.unit, team.leader
    current = AreaPairing.objects.filter(kind=kind, division=division, end_date__isnull=True).first()
    if current is not None:
        raise ServiceError(f"{division}已有{current.get_kind_display()}({current.team or current.cadre or current.unit});"
                           "不脱贫不脱钩,更换须改派并经审批")
    start = _not_future(start or _today(), "开始日期")
    pairing = AreaPairing.objects.create(kind=kind, division=division, area_code=division.code, cadre=cadre,
                                         unit=unit, team=team, start_date=start, batch=batch,
                                         **_terms(duty, post, exit_commitment, exit_target_year))
    if batch is None:
        audit.record(actor=actor, action="assistance.area_pairing.create", obj=pairing,
                     after=_snap(pairing))
    return pairing


@transaction.atomic
def area_pairing_reassign(*, actor, pairing: AreaPairing, reason: str, approver, cadre: Cadre | None = None,
                          unit: Unit | None = None, team: WorkTeam | None = None,
                          start: dt.date | None = None) -> AreaPairing:
    pairing = AreaPairing.objects.select_for_update().get(pk=pairing.pk)
    if not pairing.is_open:
        raise ServiceError("该对口帮扶已结束")
    reason = _text(reason, "改派原因", max_length=300)
    _check_area_party(pairing.kind, pairing.division, cadre, unit, team)
    if team is not None:
        unit, cadre = team.unit, team.leader
    if (cadre and cadre.pk) == pairing.cadre_id and (unit and unit.pk) == pairing.unit_id and \
            (team and team.pk) == pairing.team_id:
        raise ServiceError("改派对象与现任相同")
    start, before = _end_for_reassignment(pairing, actor=actor, approver=approver, reason=reason, start=start,
                                          area_code=pairing.area_code, holder="现任的开始日期")
    new = AreaPairing.objects.create(kind=pairing.kind, division=pairing.division, area_code=pairing.area_code,
                                     cadre=cadre, unit=unit, team=team, start_date=start, duty=pairing.duty,
                                     post=pairing.post, exit_commitment=pairing.exit_commitment,
                                     exit_target_year=pairing.exit_target_year)
    pairing.successor = new
    pairing.save(update_fields=["successor", "updated_at"])
    audit.record(actor=actor, action="assistance.area_pairing.reassign", obj=new, before=before,
                 after={"ended": _snap(pairing), "new": _snap(new)}, note=reason)
    return new


@transaction.atomic
def area_pairing_end(*, actor, pairing: AreaPairing, reason: str, end: dt.date | None = None) -> AreaPairing:
    """End a village or town pairing: only once the village (or every poor village of the town) has exited."""
    pairing = AreaPairing.objects.select_for_update().select_related("division").get(pk=pairing.pk)
    if not pairing.is_open:
        raise ServiceError("该对口帮扶已结束")
    reason = _text(reason, "结束原因", max_length=300)
    if not division_exited(pairing.division):
        raise ServiceError(f"不脱贫不脱钩:{pairing.division}尚未出列,不能解除对口帮扶;如需更换,请改派并经审批")
    end = _not_future(end or _today(), "结束日期")
    before = _snap(pairing)
    pairing.end_date = max(end, pairing.start_date)
    pairing.end_reason = reason
    pairing.ended_by = actor if getattr(actor, "pk", None) else None
    pairing.version += 1
    pairing.save()
    audit.record(actor=actor, action="assistance.area_pairing.end", obj=pairing, before=before,
                 after=_snap(pairing), note=reason)
    return pairing


@transaction.atomic
def work_team_create(*, actor, village: Division, unit: Unit, leader: Cadre | None = None,
                     members: Iterable[Cadre] = (), name: str = "", formed_on: dt.date | None = None,
                     batch=None) -> WorkTeam:
    """Form a village work team and link it to the village (the pairing carries 不脱贫不脱钩)."""
    if village.level not in ("village", "community"):
        raise ServiceError(f"{village}不是村")
    formed_on = _not_future(formed_on or _today(), "组建日期")
    team = WorkTeam.objects.create(name=_text(name, "工作队名称", required=False) or f"{unit}驻{village}工作队",
                                   village=village, area_code=village.code, unit=unit, leader=leader,
                                   formed_on=formed_on, batch=batch)
    team.members.set([m for m in members])
    if batch is None:
        audit.record(actor=actor, action="assistance.work_team.create", obj=team,
                     after={**_snap(team), "members": [m.pk for m in members]})
    area_pairing_create(actor=actor, kind=AreaPairingKind.WORK_TEAM, division=village, team=team, start=formed_on,
                        batch=batch, duty="驻村帮扶、精准识别、落实帮扶措施", post="驻村工作队")
    return team


@transaction.atomic
def work_team_set_members(*, actor, team: WorkTeam, members: Iterable[Cadre], leader: Cadre | None = None) -> WorkTeam:
    before = {"leader": team.leader_id, "members": sorted(team.members.values_list("pk", flat=True))}
    members = list(members)
    if leader is not None:
        team.leader = leader
        team.version += 1
        team.save()
        AreaPairing.objects.filter(team=team, end_date__isnull=True).update(cadre=leader)
    team.members.set(members)
    audit.record(actor=actor, action="assistance.work_team.members", obj=team, before=before,
                 after={"leader": team.leader_id, "members": sorted(m.pk for m in members)})
    return team


# Plans (一村一策、一户一法) and measures ---------------------------------------------------------------------------


@transaction.atomic
def village_plan_save(*, actor, village: Division, year: int, projects: str = "", leading_industries: str = "",
                      infrastructure: str = "", targets: str = "", exit_target_year: int | None = None) -> VillagePlan:
    if village.level not in ("village", "community"):
        raise ServiceError(f"{village}不是村")
    if not 2014 <= int(year) <= 2035:
        raise ServiceError("年度应在2014-2035之间")
    plan = VillagePlan.objects.filter(village=village, year=year).first()
    before = _snap(plan)
    values = {"projects": projects.strip(), "leading_industries": leading_industries.strip(),
              "infrastructure": infrastructure.strip(), "targets": targets.strip(),
              "exit_target_year": exit_target_year}
    if plan is None:
        plan = VillagePlan.objects.create(village=village, area_code=village.code, year=year, **values)
    else:
        for k, v in values.items():
            setattr(plan, k, v)
        plan.version += 1
        plan.save()
    audit.record(actor=actor, action="assistance.village_plan.save", obj=plan, before=before,
                 after=_snap(plan))
    return plan


@transaction.atomic
def household_plan_ensure(*, actor, household: Household, year: int | None = None, goal: str | None = None,
                          exit_target_year: int | None = None) -> HouseholdPlan:
    """The household's plan of the year, created if missing; goal and target year are updated when given."""
    year = year or _today().year
    plan = HouseholdPlan.objects.filter(household=household, year=year).first()
    if plan is None:
        plan = HouseholdPlan.objects.create(household=household, area_code=household.area_code, year=year,
                                            goal=(goal or "").strip(), exit_target_year=exit_target_year)
        audit.record(actor=actor, action="assistance.household_plan.create", obj=plan, after=_snap(plan))
    elif goal is not None or exit_target_year is not None:
        before = _snap(plan)
        if goal is not None:
            plan.goal = goal.strip()
        if exit_target_year is not None:
            plan.exit_target_year = exit_target_year
        plan.version += 1
        plan.save()
        audit.record(actor=actor, action="assistance.household_plan.update", obj=plan, before=before,
                     after=_snap(plan))
    return plan


@transaction.atomic
def measure_add(*, actor, household: Household, kind: str, title: str, detail: str = "",
                responsible: Cadre | None = None, responsible_name: str = "", target_date: dt.date | None = None,
                suggested: bool = False, reason: str = "", year: int | None = None) -> Measure:
    """Add a measure to the household's plan (of the target date's year, else this year)."""
    if kind not in MeasureKind.values:
        raise ServiceError(f"未知的措施类别:{kind}")
    title = _text(title, "措施内容", max_length=200)
    if responsible is None and not responsible_name.strip():
        pairing = current_pairing(household)
        responsible = pairing.cadre if pairing else None
    plan = household_plan_ensure(actor=actor, household=household,
                                 year=year or (target_date.year if target_date else None))
    m = Measure.objects.create(plan=plan, household=household, area_code=household.area_code, kind=kind,
                               title=title, detail=detail.strip(), responsible=responsible,
                               responsible_name=responsible_name.strip() or (responsible.name if responsible else ""),
                               target_date=target_date, suggested=suggested, reason=reason[:200])
    audit.record(actor=actor, action="assistance.measure.add", obj=m, after=_snap(m))
    refresh_lights(household_ids=[household.pk])
    return m


@transaction.atomic
def measure_update(*, actor, measure: Measure, status: str | None = None, target_date: dt.date | None = None,
                   evidence: str | None = None, evidence_file=None, done_on: dt.date | None = None,
                   responsible: Cadre | None = None) -> Measure:
    """Move a measure on; marking it done needs evidence (text or a file)."""
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    before = _snap(measure)
    if status is not None:
        if status not in MeasureStatus.values:
            raise ServiceError(f"未知的措施状态:{status}")
        measure.status = status
    if target_date is not None:
        measure.target_date = target_date
    if evidence is not None:
        measure.evidence = evidence.strip()
    if evidence_file is not None:
        measure.evidence_file = evidence_file
    if responsible is not None:
        measure.responsible = responsible
        measure.responsible_name = responsible.name
    if measure.status == MeasureStatus.DONE:
        if not measure.evidence and not measure.evidence_file:
            raise ServiceError("标记完成须填写佐证材料(文字说明或上传文件)", field="evidence")
        measure.done_on = _not_future(done_on or measure.done_on or _today(), "完成日期")
    else:
        measure.done_on = None
    measure.version += 1
    measure.save()
    audit.record(actor=actor, action="assistance.measure.update", obj=measure, before=before,
                 after=_snap(measure))
    refresh_lights(household_ids=[measure.household_id])
    return measure


@transaction.atomic
def measures_confirm(*, actor, household: Household, titles: Iterable[str], target_date: dt.date,
                     responsible: Cadre | None = None) -> list[Measure]:
    """Keep the suggested measures the cadre ticked (by title) as measures of the household's plan."""
    from fupin.assistance.selectors import measure_suggestions

    wanted = set(titles)
    chosen = [s for s in measure_suggestions(household) if s.title in wanted]
    if not chosen:
        raise ServiceError("请至少勾选一项建议措施")
    if target_date < _today():
        raise ServiceError("完成期限不能早于今天")
    created = [measure_add(actor=actor, household=household, kind=s.kind, title=s.title, responsible=responsible,
                           target_date=target_date, suggested=True, reason=s.reason) for s in chosen]
    plan = created[0].plan
    plan.confirmed_by = actor if getattr(actor, "pk", None) else None
    plan.confirmed_at = timezone.now()
    plan.save(update_fields=["confirmed_by", "confirmed_at", "updated_at"])
    return created


# Policies received (享受政策) -------------------------------------------------------------------------------------


@transaction.atomic
def policy_create(*, actor, name: str, kind: str, department=None, form: str = "cash",
                  amount: Decimal | None = None, amount_unit: str = "", benefit: str = "") -> Policy:
    name = _text(name, "政策名称", max_length=100)
    if kind not in MeasureKind.values:
        raise ServiceError(f"未知的政策类别:{kind}")
    if Policy.objects.filter(name=name).exists():
        raise ServiceError(f"政策「{name}」已在目录中", field="name")
    if amount is not None and amount < 0:
        raise ServiceError("标准金额不能为负数")
    policy = Policy.objects.create(name=name, kind=kind, department=department, form=form, amount=amount,
                                   amount_unit=amount_unit.strip(), benefit=benefit.strip())
    audit.record(actor=actor, action="assistance.policy.create", obj=policy, after=_snap(policy))
    return policy


@transaction.atomic
def policy_receipt_add(*, actor, household: Household, policy: Policy, received_on: dt.date,
                       amount: Decimal | None = None, note: str = "") -> PolicyReceipt:
    if not policy.is_active:
        raise ServiceError(f"政策「{policy}」已停用")
    _not_future(received_on, "享受日期")
    if amount is not None and amount < 0:
        raise ServiceError("金额不能为负数")
    receipt = PolicyReceipt.objects.create(household=household, policy=policy, area_code=household.area_code,
                                           received_on=received_on,
                                           amount=amount if amount is not None else policy.amount,
                                           note=note.strip()[:200],
                                           recorded_by=actor if getattr(actor, "pk", None) else None)
    audit.record(actor=actor, action="assistance.policy_receipt.add", obj=receipt, after=_snap(receipt))
    return receipt


# Assistance records (帮扶日志) and errands (代办) --------------------------------------------------------------------


def _check_point(lng: float | None, lat: float | None) -> None:
    if (lng is None) != (lat is None):
        raise ServiceError("定位须同时有经度和纬度")
    if lng is not None and not (73 <= lng <= 136 and 3 <= lat <= 54):
        raise ServiceError("定位不在中国境内,请检查经纬度")


def _existing_by_uuid(model, uid, household: Household):
    found = model.objects.filter(uuid=uid).first()
    if found is not None and found.household_id != household.pk:
        raise ServiceError("该编号已被另一户的记录使用")
    return found


@transaction.atomic
def record_create(*, actor, household: Household, occurred_on: dt.date, content: str,
                  kind: str = RecordKind.VISIT, needs: str = "", cadre: Cadre | None = None,
                  lng: float | None = None, lat: float | None = None, gps_accuracy: float | None = None,
                  source: str = RecordSource.WEB, uuid: uuidlib.UUID | str | None = None,
                  attachments: Iterable = ()) -> tuple[AssistanceRecord, bool]:
    """Record a visit or call (帮扶日志) and refresh the household's light.

    Idempotent on `uuid` (the phone app generates it): submitting the same uuid again returns the stored record and
    False, and writes nothing.
    """
    uid = uuidlib.UUID(str(uuid)) if uuid else None
    if uid is not None:
        found = _existing_by_uuid(AssistanceRecord, uid, household)
        if found is not None:
            return found, False
    if kind not in RecordKind.values:
        raise ServiceError(f"未知的帮扶方式:{kind}")
    content = _text(content, "帮扶内容", max_length=4000)
    _not_future(occurred_on, "帮扶日期")
    if occurred_on < _today() - dt.timedelta(days=366):
        raise ServiceError("帮扶日期不能早于一年前")
    _check_point(lng, lat)
    if cadre is None:
        cadre = getattr(actor, "cadre", None) if getattr(actor, "pk", None) else None
        if cadre is None:
            pairing = current_pairing(household)
            cadre = pairing.cadre if pairing else None
    record = AssistanceRecord(household=household, area_code=household.area_code, cadre=cadre,
                              recorded_by=actor if getattr(actor, "pk", None) else None, kind=kind,
                              occurred_on=occurred_on, content=content, needs=(needs or "").strip(),
                              lng=lng, lat=lat, gps_accuracy=gps_accuracy, source=source)
    if uid is not None:
        record.uuid = uid
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        found = _existing_by_uuid(AssistanceRecord, uid, household) if uid else None
        if found is None:
            raise
        return found, False
    for f in attachments:
        kind_ = AttachmentKind.PHOTO if (getattr(f, "content_type", "") or "").startswith("image/") \
            else AttachmentKind.FILE
        RecordAttachment.objects.create(record=record, area_code=record.area_code, kind=kind_, file=f,
                                        caption=getattr(f, "name", "")[:200])
    audit.record(actor=actor, action="assistance.record.create", obj=record, after=_snap(record))
    refresh_lights(household_ids=[household.pk])
    return record, True


@transaction.atomic
def errand_create(*, actor, household: Household, matter: str, office: str = "", person: Person | None = None,
                  for_name: str = "", opened_on: dt.date | None = None, uuid: uuidlib.UUID | str | None = None,
                  handled_by=None) -> tuple[Errand, bool]:
    """Take on an errand for a household (代办); idempotent on `uuid` like records."""
    uid = uuidlib.UUID(str(uuid)) if uuid else None
    if uid is not None:
        found = _existing_by_uuid(Errand, uid, household)
        if found is not None:
            return found, False
    matter = _text(matter, "代办事项", max_length=200)
    if person is not None and person.household_id != household.pk:
        raise ServiceError(f"{person}不是该户成员")
    opened_on = _not_future(opened_on or _today(), "受理日期")
    handler = handled_by or (actor if getattr(actor, "pk", None) else None)
    errand = Errand(household=household, area_code=household.area_code, person=person,
                    for_name=(for_name or (person.name if person else household.head_name)).strip()[:50],
                    matter=matter, office=(office or "").strip()[:100], opened_on=opened_on, handled_by=handler)
    if uid is not None:
        errand.uuid = uid
    try:
        with transaction.atomic():
            errand.save()
    except IntegrityError:
        found = _existing_by_uuid(Errand, uid, household) if uid else None
        if found is None:
            raise
        return found, False
    audit.record(actor=actor, action="assistance.errand.create", obj=errand, after=_snap(errand))
    return errand, True


@transaction.atomic
def errand_close(*, actor, errand: Errand, status: str, result: str, closed_on: dt.date | None = None) -> Errand:
    errand = Errand.objects.select_for_update().get(pk=errand.pk)
    if status not in (ErrandStatus.DONE, ErrandStatus.FAILED):
        raise ServiceError("办结状态应为「已办结」或「无法办理」")
    if errand.status != ErrandStatus.OPEN:
        raise ServiceError("该代办事项已办结")
    before = _snap(errand)
    errand.status = status
    errand.result = _text(result, "办理结果", max_length=2000)
    errand.closed_on = _not_future(closed_on or _today(), "办结日期")
    if errand.closed_on < errand.opened_on:
        raise ServiceError("办结日期不能早于受理日期")
    errand.version += 1
    errand.save()
    audit.record(actor=actor, action="assistance.errand.close", obj=errand, before=before,
                 after=_snap(errand))
    return errand


# Light thresholds ------------------------------------------------------------------------------------------------


@transaction.atomic
def light_rules_update(*, actor, yellow_from_days: int, red_from_days: int, finding_days: int,
                       no_cadre_colour: str = "red", overdue_measure_colour: str = "yellow",
                       finding_colour: str = "yellow") -> LightRules:
    """Change the thresholds and recompute every light at once."""
    if not 1 <= yellow_from_days < red_from_days <= 365:
        raise ServiceError("黄灯天数须小于红灯天数,且在1-365天之间")
    if not 1 <= finding_days <= 365:
        raise ServiceError("疑点核实期限应在1-365天之间")
    rules = LightRules.objects.select_for_update().order_by("pk").first() or LightRules()
    before = {"yellow": rules.yellow_from_days, "red": rules.red_from_days, "finding": rules.finding_days}
    rules.yellow_from_days, rules.red_from_days, rules.finding_days = yellow_from_days, red_from_days, finding_days
    rules.no_cadre_colour, rules.overdue_measure_colour = no_cadre_colour, overdue_measure_colour
    rules.finding_colour = finding_colour
    rules.updated_by = actor if getattr(actor, "pk", None) else None
    rules.full_clean()
    rules.save()
    audit.record(actor=actor, action="assistance.light_rules.update", object_type="assistance.lightrules",
                 object_id=str(rules.pk), object_repr="跟踪警示阈值", before=before,
                 after={"yellow": yellow_from_days, "red": red_from_days, "finding": finding_days})
    recompute_all()
    return rules
