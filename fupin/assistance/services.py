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
from django.utils.translation import gettext as _

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
from fupin.core.errors import ServiceError, only_changes
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
        raise ServiceError(_("Fill in the %(label)s") % {"label": label})
    if max_length and len(value) > max_length:
        raise ServiceError(_("The %(label)s is too long (at most %(max_length)s characters)") % {"label": label, "max_length": max_length})
    return value


def _not_future(day: dt.date, label: str) -> dt.date:
    if day > _today():
        raise ServiceError(_("The %(label)s cannot be later than today") % {"label": label})
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
        raise ServiceError(_("Pairing lasts until the household exits poverty: a reassignment needs an approver"))
    if not (approver.is_superuser or approver.can("approve_town") or approver.can("approve_county")):
        raise ServiceError(_("%(approver)s may not approve reassignments (a town or city approver must)") % {"approver": approver})
    scoping.require(approver, area_code, None, message=_("Approver %(approver)s does not govern this area and cannot approve") % {"approver": approver})


# Units and cadres --------------------------------------------------------------------------------------------------


@transaction.atomic
def unit_create(*, actor, name: str, kind: str = UnitKind.DEPARTMENT, department=None, contact_user=None,
                phone: str = "") -> Unit:
    name = _text(name, _("unit name"), max_length=100)
    if kind not in UnitKind.values:
        raise ServiceError(_("Unknown unit type: %(kind)s") % {"kind": kind})
    if Unit.objects.filter(name=name).exists():
        raise ServiceError(_("Unit “%(name)s” already exists") % {"name": name}, field="name")
    unit = Unit.objects.create(name=name, kind=kind, department=department, contact_user=contact_user, phone=phone)
    audit.record(actor=actor, action="assistance.unit.create", obj=unit, after=_snap(unit))
    return unit


@transaction.atomic
def unit_update(*, actor, unit: Unit, **changes) -> Unit:
    only_changes(changes, {"name", "kind", "department", "contact_user", "phone", "is_active"})
    return _save_changes(actor=actor, obj=unit, changes=changes, action="assistance.unit.update")


def _save_changes(*, actor, obj, changes: dict, action: str):
    """Set the changed fields, bump the version, validate, save and audit before and after."""
    before = _snap(obj)
    for k, v in changes.items():
        setattr(obj, k, v)
    obj.version += 1
    obj.full_clean()
    obj.save()
    audit.record(actor=actor, action=action, obj=obj, before=before, after=_snap(obj))
    return obj


@transaction.atomic
def cadre_create(*, actor, name: str, unit: Unit, phone: str = "", post: str = "", user=None) -> Cadre:
    name = _text(name, _("responsible cadre's name"), max_length=50)
    if user is not None and Cadre.objects.filter(user=user).exists():
        raise ServiceError(_("User %(user)s is already linked to another responsible cadre") % {"user": user})
    cadre = Cadre.objects.create(name=name, unit=unit, phone=(phone or "").strip(), post=(post or "").strip(),
                                 user=user)
    audit.record(actor=actor, action="assistance.cadre.create", obj=cadre, after=_snap(cadre))
    return cadre


@transaction.atomic
def cadre_update(*, actor, cadre: Cadre, **changes) -> Cadre:
    only_changes(changes, {"name", "phone", "unit", "post", "user", "is_active"})
    if changes.get("user") is not None and Cadre.objects.filter(user=changes["user"]).exclude(pk=cadre.pk).exists():
        raise ServiceError(_("User %(changes)s is already linked to another responsible cadre") % {"changes": changes['user']})
    _save_changes(actor=actor, obj=cadre, changes=changes, action="assistance.cadre.update")
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
        raise ServiceError(_("The committed exit year must be between 2014 and 2035"))
    return {"duty": _text(duty, _("assistance duty"), required=False, max_length=200),
            "post": _text(post, _("post"), required=False, max_length=100),
            "exit_commitment": _text(exit_commitment, _("exit commitment"), required=False, max_length=200),
            "exit_target_year": exit_target_year}


@transaction.atomic
def pairing_assign(*, actor, household: Household, cadre: Cadre, start: dt.date | None = None, duty: str = "",
                   post: str = "", exit_commitment: str = "", exit_target_year: int | None = None,
                   batch=None, refresh: bool = True) -> HouseholdPairing:
    """Make `cadre` the household's responsible cadre (三定一包). A household that already has one is reassigned
    with `pairing_reassign`, never here."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    if not household.is_registered_poor:
        raise ServiceError(_("%(household)s is not a registered poor household and needs no pairing") % {"household": household})
    if not cadre.is_active:
        raise ServiceError(_("Responsible cadre %(cadre)s is inactive") % {"cadre": cadre})
    current = current_pairing(household)
    if current is not None:
        if current.cadre_id == cadre.pk:
            return current
        raise ServiceError(_("%(household)s is assisted by %(cadre)s; pairing lasts until the household exits poverty: changing the responsible cadre needs a reassignment with approval") % {"household": household, "cadre": current.cadre})
    start = _not_future(start or _today(), _("pairing date"))
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
    start = _not_future(start or _today(), _("reassignment date"))
    if start < pairing.start_date:
        raise ServiceError(_("The reassignment date cannot be earlier than %(holder)s") % {"holder": holder})
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
    reason = _text(reason, _("reason for reassignment"), max_length=300)
    current = current_pairing(household)
    if current is None:
        raise ServiceError(_("%(household)s has no responsible cadre yet: pair it directly") % {"household": household})
    if current.cadre_id == cadre.pk:
        raise ServiceError(_("%(cadre)s is already the household's responsible cadre") % {"cadre": cadre})
    if not cadre.is_active:
        raise ServiceError(_("Responsible cadre %(cadre)s is inactive") % {"cadre": cadre})
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
    reason = _text(reason, _("reason for ending"), max_length=300)
    current = current_pairing(household)
    if current is None:
        raise ServiceError(_("%(household)s has no responsible cadre") % {"household": household})
    if not household_exited(household):
        raise ServiceError(_("Pairing lasts until the household exits poverty: %(household)s has not exited, so the pairing cannot end; to change the responsible cadre, reassign with approval") % {"household": household})
    end = _not_future(end or _today(), _("end date"))
    if end < current.start_date:
        raise ServiceError(_("The end date cannot be earlier than the pairing date"))
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
        raise ServiceError(_("An ended pairing cannot be changed"))
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
        raise ServiceError(_("Unknown area pairing type: %(kind)s") % {"kind": kind})
    if kind in TOWN_KINDS:
        if division.level != "town":
            raise ServiceError(_("A member of the municipal standing committee is linked to a town; %(division)s is not a town") % {"division": division})
    elif division.level not in ("village", "community"):
        raise ServiceError(_("%(division)s is not a village and cannot take an area pairing") % {"division": division})
    if kind == AreaPairingKind.WORK_TEAM:
        if team is None:
            raise ServiceError(_("Choose the village work team"))
        if team.village_id != division.pk:
            raise ServiceError(_("Work team %(team)s does not belong to %(division)s") % {"team": team, "division": division})
    elif kind in PERSON_KINDS and cadre is None:
        raise ServiceError(_("Choose the contact (a responsible cadre)"))
    elif kind in UNIT_KINDS and unit is None:
        raise ServiceError(_("Choose the assisting unit or enterprise"))
    if kind == AreaPairingKind.ENTERPRISE_VILLAGE and unit is not None and unit.kind != UnitKind.ENTERPRISE:
        raise ServiceError(_("%(unit)s is not an enterprise") % {"unit": unit})


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
        raise ServiceError(_("%(division)s already has %(kind)s (%(team)s); pairing lasts until the village exits poverty: a change needs a reassignment with approval") % {"division": division, "kind": current.get_kind_display(), "team": current.team or current.cadre or current.unit})
    start = _not_future(start or _today(), _("start date"))
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
        raise ServiceError(_("This area pairing has ended"))
    reason = _text(reason, _("reason for reassignment"), max_length=300)
    _check_area_party(pairing.kind, pairing.division, cadre, unit, team)
    if team is not None:
        unit, cadre = team.unit, team.leader
    if (cadre and cadre.pk) == pairing.cadre_id and (unit and unit.pk) == pairing.unit_id and \
            (team and team.pk) == pairing.team_id:
        raise ServiceError(_("The new party is the same as the current one"))
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
        raise ServiceError(_("This area pairing has ended"))
    reason = _text(reason, _("reason for ending"), max_length=300)
    if not division_exited(pairing.division):
        raise ServiceError(_("Pairing lasts until the village exits poverty: %(division)s has not exited, so the area pairing cannot end; to change it, reassign with approval") % {"division": pairing.division})
    end = _not_future(end or _today(), _("end date"))
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
        raise ServiceError(_("%(village)s is not a village") % {"village": village})
    formed_on = _not_future(formed_on or _today(), _("date formed"))
    team = WorkTeam.objects.create(name=_text(name, _("work team name"), required=False) or f"{unit}驻{village}工作队",
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
        raise ServiceError(_("%(village)s is not a village") % {"village": village})
    if not 2014 <= int(year) <= 2035:
        raise ServiceError(_("The year must be between 2014 and 2035"))
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
        raise ServiceError(_("Unknown measure type: %(kind)s") % {"kind": kind})
    title = _text(title, _("content of the measure"), max_length=200)
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
            raise ServiceError(_("Unknown measure status: %(status)s") % {"status": status})
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
            raise ServiceError(_("Marking it done needs evidence (a written note or an uploaded file)"), field="evidence")
        measure.done_on = _not_future(done_on or measure.done_on or _today(), _("completion date"))
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
        raise ServiceError(_("Tick at least one suggested measure"))
    if target_date < _today():
        raise ServiceError(_("The deadline cannot be earlier than today"))
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
    name = _text(name, _("policy name"), max_length=100)
    if kind not in MeasureKind.values:
        raise ServiceError(_("Unknown policy type: %(kind)s") % {"kind": kind})
    if Policy.objects.filter(name=name).exists():
        raise ServiceError(_("Policy “%(name)s” is already in the catalogue") % {"name": name}, field="name")
    if amount is not None and amount < 0:
        raise ServiceError(_("The standard amount cannot be negative"))
    policy = Policy.objects.create(name=name, kind=kind, department=department, form=form, amount=amount,
                                   amount_unit=amount_unit.strip(), benefit=benefit.strip())
    audit.record(actor=actor, action="assistance.policy.create", obj=policy, after=_snap(policy))
    return policy


@transaction.atomic
def policy_receipt_add(*, actor, household: Household, policy: Policy, received_on: dt.date,
                       amount: Decimal | None = None, note: str = "") -> PolicyReceipt:
    if not policy.is_active:
        raise ServiceError(_("Policy “%(policy)s” is inactive") % {"policy": policy})
    _not_future(received_on, _("benefit date"))
    if amount is not None and amount < 0:
        raise ServiceError(_("The amount cannot be negative"))
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
        raise ServiceError(_("A location needs both longitude and latitude"))
    if lng is not None and not (73 <= lng <= 136 and 3 <= lat <= 54):
        raise ServiceError(_("The location is outside China: check the longitude and latitude"))


def _existing_by_uuid(model, uid, household: Household):
    found = model.objects.filter(uuid=uid).first()
    if found is not None and found.household_id != household.pk:
        raise ServiceError(_("The number is used by another household's record"))
    return found


def _save_new(obj, uid, household):
    """Save a new record or errand under the phone's `uid`; (obj, True), or (the row a retry saved first, False)
    when the uuid is taken by the time of the insert."""
    if uid is not None:
        obj.uuid = uid
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        found = _existing_by_uuid(type(obj), uid, household) if uid else None
        if found is None:
            raise
        return found, False
    return obj, True


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
        raise ServiceError(_("Unknown kind of assistance: %(kind)s") % {"kind": kind})
    content = _text(content, _("assistance given"), max_length=4000)
    _not_future(occurred_on, _("assistance date"))
    if occurred_on < _today() - dt.timedelta(days=366):
        raise ServiceError(_("The assistance date cannot be more than a year ago"))
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
    record, created = _save_new(record, uid, household)
    if not created:
        return record, False
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
    matter = _text(matter, _("errand"), max_length=200)
    if person is not None and person.household_id != household.pk:
        raise ServiceError(_("%(person)s is not a member of the household") % {"person": person})
    opened_on = _not_future(opened_on or _today(), _("date accepted"))
    handler = handled_by or (actor if getattr(actor, "pk", None) else None)
    errand = Errand(household=household, area_code=household.area_code, person=person,
                    for_name=(for_name or (person.name if person else household.head_name)).strip()[:50],
                    matter=matter, office=(office or "").strip()[:100], opened_on=opened_on, handled_by=handler)
    errand, created = _save_new(errand, uid, household)
    if not created:
        return errand, False
    audit.record(actor=actor, action="assistance.errand.create", obj=errand, after=_snap(errand))
    return errand, True


@transaction.atomic
def errand_close(*, actor, errand: Errand, status: str, result: str, closed_on: dt.date | None = None) -> Errand:
    errand = Errand.objects.select_for_update().get(pk=errand.pk)
    if status not in (ErrandStatus.DONE, ErrandStatus.FAILED):
        raise ServiceError(_("The closing status must be “done” or “cannot be done”"))
    if errand.status != ErrandStatus.OPEN:
        raise ServiceError(_("This errand is already completed"))
    before = _snap(errand)
    errand.status = status
    errand.result = _text(result, _("result"), max_length=2000)
    errand.closed_on = _not_future(closed_on or _today(), _("date completed"))
    if errand.closed_on < errand.opened_on:
        raise ServiceError(_("The completion date cannot be earlier than the acceptance date"))
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
        raise ServiceError(_("The yellow-light days must be fewer than the red-light days and between 1 and 365"))
    if not 1 <= finding_days <= 365:
        raise ServiceError(_("The time to check a flag must be between 1 and 365 days"))
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
