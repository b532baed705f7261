"""Change requests: a birth, death or move reported from the field that the village team or the town approves.

A grid worker (or anyone who may edit the household, typically from the phone, offline) submits a request with the
details and an evidence photo; nothing changes in the registry yet. A village team member (`village_review`) or the
town (`approve_town`) of the household's jurisdiction approves it, which applies it through the registry's own
services in the same transaction (`member_add`, `member_death`, `member_move`, `member_leave`,
`household_relocate`: the move service moves every row declared with `fupin.core.household_rows`), or rejects it
with a reason. Nobody decides their own request. Every step is audited. Reads: `requests_for(user)`.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from fupin.core import audit, idnumber
from fupin.core.errors import ServiceError
from fupin.core.fields import blind_q
from fupin.registry import services
from fupin.registry.models import ChangeRequest, Household, Person

Kind = ChangeRequest.Kind
State = ChangeRequest.State
# what each kind carries in its payload (all strings; uuids of members; codes of places)
PAYLOAD_KEYS = {
    Kind.BIRTH: ("name", "sex", "birth_date", "relationship", "id_number"),
    Kind.DEATH: ("person", "new_head"),
    Kind.MOVE_IN: ("name", "id_number", "sex", "relationship", "from_place"),
    Kind.MOVE_OUT: ("person", "new_head", "to_household", "to_place"),
    Kind.HOUSEHOLD_MOVE: ("village", "grid"),
}


def may_request(user, household: Household) -> bool:
    return (user.is_superuser or user.can("edit")) and \
        Household.objects.restrict(user).filter(pk=household.pk).exists()


def may_decide(user, request: ChangeRequest) -> bool:
    """The village team or the town of the household's jurisdiction, never the requester."""
    if not (user.is_superuser or user.can("village_review") or user.can("approve_town")):
        return False
    if request.requested_by_id == user.pk and not user.is_superuser:
        return False
    return ChangeRequest.objects.restrict(user).filter(pk=request.pk).exists()


def requests_for(user, *, state: str | None = None):
    """Change requests of the user's jurisdiction (newest first)."""
    qs = ChangeRequest.objects.restrict(user).select_related("household", "requested_by", "decided_by")
    if state:
        qs = qs.filter(state=state)
    return qs


def _text(payload: dict, key: str, limit: int = 50) -> str:
    value = payload.get(key)
    return str(value).strip()[:limit] if value not in (None, "") else ""


def _date(value: Any, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        parsed = parse_date(str(value))
    except ValueError:  # well formed but impossible (2016-13-01)
        parsed = None
    if parsed is None:
        raise ServiceError(_("%(what)s is not written correctly: %(value)s") % {"what": what, "value": value})
    return parsed


def _member(hh: Household, key: Any, what: str, *, required: bool = True) -> Person | None:
    if key in (None, ""):
        if required:
            raise ServiceError(_("Please choose the %(what)s") % {"what": what})
        return None
    try:
        uid = uuidlib.UUID(str(key))
    except ValueError as exc:
        raise ServiceError(_("The %(what)s number is not valid") % {"what": what}) from exc
    p = Person.objects.filter(uuid=uid, household=hh, is_alive=True).first()
    if p is None:
        raise ServiceError(_("This household has no such living member (%(what)s)") % {"what": what})
    return p


def _clean(hh: Household, kind: str, payload: dict, date: dt.date) -> dict:
    """Check a request's details when it is submitted (a phone hears of a mistake at once) and keep only its keys."""
    payload = {k: payload.get(k) for k in PAYLOAD_KEYS[kind] if payload.get(k) not in (None, "")}
    if kind in (Kind.BIRTH, Kind.MOVE_IN):
        if not _text(payload, "name"):
            raise ServiceError(_("Please fill in the name"))
        payload["name"] = _text(payload, "name")
        payload["relationship"] = _text(payload, "relationship", 20) or "其他"
        if payload["relationship"] == services.HEAD:
            raise ServiceError(_("A new member cannot be made head of household directly; the village team changes the head of household"))
        if payload.get("id_number"):
            try:
                payload["id_number"] = idnumber.normalise(idnumber.clean(payload["id_number"]))
            except idnumber.IdNumberError as exc:
                raise ServiceError(exc.message) from exc
        birth = _date(payload.get("birth_date"), _("birth date"))
        if birth is not None:
            if birth > date:
                raise ServiceError(_("The birth date is later than the date of the change"))
            payload["birth_date"] = birth.isoformat()
        if payload.get("sex") and payload["sex"] not in ("男", "女", "1", "2"):
            raise ServiceError(_("Invalid sex: %(sex)s") % {"sex": payload["sex"]})
    if kind in (Kind.DEATH, Kind.MOVE_OUT):
        person = _member(hh, payload.get("person"), _("member"))
        payload["person"], payload["person_name"] = str(person.uuid), person.name
        head = _member(hh, payload.get("new_head"), _("the new head of household"), required=False)
        if head is not None:
            if head.pk == person.pk:
                raise ServiceError(_("The new head of household cannot be the member who is leaving"))
            payload["new_head"], payload["new_head_name"] = str(head.uuid), head.name
    if kind == Kind.HOUSEHOLD_MOVE:
        if not _text(payload, "village", 15):
            raise ServiceError(_("Please choose the village moved to"))
        payload["village"] = _text(payload, "village", 15)
        if payload.get("grid"):
            payload["grid"] = _text(payload, "grid", 15)
    for key in ("to_household", "to_place", "from_place"):
        if payload.get(key):
            payload[key] = _text(payload, key, 100)
    return payload


@transaction.atomic
def request_submit(*, actor, household: Household, kind: str, payload: dict, date: dt.date | str | None = None,
                   note: str = "", evidence=None, uuid: uuidlib.UUID | str | None = None) -> ChangeRequest:
    """Submit a change request; the registry is not changed until it is approved. A client `uuid` makes the call
    idempotent: the request with that uuid is returned as it stands."""
    if uuid:
        existing = ChangeRequest.objects.filter(uuid=uuid).first()
        if existing is not None:
            if existing.requested_by_id != getattr(actor, "pk", None):
                raise ServiceError(_("This ID is already in use"))
            return existing
    if kind not in Kind.values:
        raise ServiceError(_("Unknown kind of change: %(kind)s") % {"kind": kind})
    if not may_request(actor, household):
        raise ServiceError(_("You cannot submit a change request for this household"))
    if household.dissolved_on:
        raise ServiceError(_("This household has been dissolved"))
    day = _date(date, _("date of the change")) or timezone.localdate()
    if day > timezone.localdate():
        raise ServiceError(_("The date of the change cannot be later than today"))
    clean = _clean(household, kind, payload if isinstance(payload, dict) else {}, day)
    req = ChangeRequest(household=household, area_code=household.area_code, kind=kind, payload=clean, date=day,
                        note=(note or "")[:300], requested_by=actor if getattr(actor, "pk", None) else None,
                        requested_by_name=getattr(actor, "display_name", "") or str(actor)[:150])
    if uuid:
        req.uuid = uuid
    if evidence is not None:
        req.evidence.save(f"{req.uuid}.jpg", evidence, save=False)
    req.save()
    audit.record(actor=actor, action="registry.change_request.submit", obj=req, area_code=req.area_code,
                 after={"kind": kind, "date": day.isoformat(), **_masked(clean)}, note=req.note)
    return req


def _masked(payload: dict) -> dict:
    out = dict(payload)
    if out.get("id_number"):
        out["id_number"] = idnumber.mask(out["id_number"])
    return out


def _person(hh: Household, key: str | None) -> Person | None:
    return Person.objects.filter(uuid=key, household=hh, is_alive=True).first() if key else None


def _apply(actor, req: ChangeRequest) -> dict:
    from fupin.geo.models import Division, Grid
    from fupin.registry.models import MemberChange

    hh, data = req.household, req.payload
    note = f"变动申请{req.uuid}" + (f";{req.note}" if req.note else "")
    if req.kind == Kind.BIRTH:
        member = {k: data[k] for k in ("name", "sex", "relationship", "id_number") if data.get(k)}
        if data.get("birth_date"):
            member["birth_date"] = _date(data["birth_date"], _("birth date"))
        p = services.member_add(actor=actor, household=hh, member=member, kind=MemberChange.Kind.BIRTH,
                                date=req.date, note=note)
        return {"person": str(p.uuid)}
    if req.kind == Kind.MOVE_IN:
        elsewhere = Person.objects.filter(blind_q(Person, "id_number", data["id_number"]), household__isnull=False,
                                          is_alive=True).exclude(household=hh).first() \
            if data.get("id_number") else None
        if elsewhere is not None:  # a transfer between two registered households: both must be the decider's
            if not Person.objects.restrict(actor).filter(pk=elsewhere.pk).exists():
                raise ServiceError(_("This person is registered in a household outside your jurisdiction: the county handles the transfer"))
            p = services.member_move(actor=actor, person=elsewhere, to_household=hh,
                                     relationship=data.get("relationship") or "其他", date=req.date, note=note)
            return {"person": str(p.uuid), "from": "registry"}
        member = {k: data[k] for k in ("name", "sex", "relationship", "id_number") if data.get(k)}
        p = services.member_add(actor=actor, household=hh, member=member, kind=MemberChange.Kind.ADD,
                                date=req.date, note=note + (f";自{data['from_place']}迁入" if data.get("from_place")
                                                            else ""))
        return {"person": str(p.uuid)}
    if req.kind in (Kind.DEATH, Kind.MOVE_OUT):
        person = _person(hh, data.get("person"))
        if person is None:
            raise ServiceError(_("The member is no longer in this household (someone else may have recorded a change)"))
        new_head = _person(hh, data.get("new_head"))
        if req.kind == Kind.DEATH:
            p = services.member_death(actor=actor, person=person, date=req.date, new_head=new_head, note=note)
            return {"person": str(p.uuid)}
        target_key = data.get("to_household")
        if target_key:
            target = Household.objects.restrict(actor).filter(poor_code=target_key).first()
            if target is None:
                try:
                    target = Household.objects.restrict(actor).filter(uuid=uuidlib.UUID(str(target_key))).first()
                except ValueError:
                    target = None
            if target is None:
                raise ServiceError(_("Household %(key)s moved to cannot be found, or is outside your jurisdiction") % {"key": target_key})
            p = services.member_move(actor=actor, person=person, to_household=target,
                                     relationship="其他", date=req.date, new_head=new_head, note=note)
            return {"person": str(p.uuid), "to_household": target.url_key}
        p = services.member_leave(actor=actor, person=person, date=req.date, kind=MemberChange.Kind.MOVE_OUT,
                                  new_head=new_head,
                                  note=note + (f";迁往{data['to_place']}" if data.get("to_place") else ""))
        return {"person": str(p.uuid)}
    # the whole household moves: the registry's move service takes every row that belongs to it along
    village = Division.objects.restrict(actor).filter(code=data.get("village") or "").first()
    if village is None:
        raise ServiceError(_("The village moved to cannot be found, or is outside your jurisdiction"))
    grid = None
    if data.get("grid"):
        grid = Grid.objects.filter(code=data["grid"], village=village).first()
        if grid is None:
            raise ServiceError(_("Grid %(grid)s does not belong to %(village)s") % {"grid": data["grid"], "village": village.name})
    moved = services.household_relocate(actor=actor, household=hh, village=village, grid=grid)
    return {"area_code": moved.area_code}


@transaction.atomic
def request_approve(*, actor, request: ChangeRequest, note: str = "") -> ChangeRequest:
    """Approve and apply: the registry service runs in this transaction; when it refuses (a member gone meanwhile, a
    duplicate ID number), nothing changes and the request stays submitted with the message raised."""
    req = ChangeRequest.objects.select_for_update().select_related("household").get(pk=request.pk)
    if not may_decide(actor, req):
        raise ServiceError(_("You cannot decide this request (it takes the village team or township of the area, and not the one who submitted it)"))
    if req.state != State.SUBMITTED:
        raise ServiceError(_("This request is already %(state)s") % {"state": req.get_state_display()})
    before_area = req.area_code
    req.result = _apply(actor, req)
    req.refresh_from_db(fields=["area_code"])  # a household move takes the request along
    req.state, req.decided_by, req.decided_at, req.reason = State.APPROVED, actor, timezone.now(), (note or "")[:300]
    req.version += 1
    req.save(update_fields=["state", "decided_by", "decided_at", "reason", "result", "version", "updated_at"])
    audit.record(actor=actor, action="registry.change_request.approve", obj=req, area_code=before_area,
                 before={"state": State.SUBMITTED}, after={"state": req.state, "result": req.result}, note=req.reason)
    return req


@transaction.atomic
def request_reject(*, actor, request: ChangeRequest, reason: str) -> ChangeRequest:
    req = ChangeRequest.objects.select_for_update().get(pk=request.pk)
    if not may_decide(actor, req):
        raise ServiceError(_("You cannot decide this request (it takes the village team or township of the area, and not the one who submitted it)"))
    if req.state != State.SUBMITTED:
        raise ServiceError(_("This request is already %(state)s") % {"state": req.get_state_display()})
    if not (reason or "").strip():
        raise ServiceError(_("Sending the request back needs a reason"))
    req.state, req.decided_by, req.decided_at, req.reason = State.REJECTED, actor, timezone.now(), reason.strip()[:300]
    req.version += 1
    req.save(update_fields=["state", "decided_by", "decided_at", "reason", "version", "updated_at"])
    audit.record(actor=actor, action="registry.change_request.reject", obj=req, area_code=req.area_code,
                 before={"state": State.SUBMITTED}, after={"state": req.state}, note=req.reason)
    return req


def request_out(req: ChangeRequest, *, user) -> dict:
    """A request as the API and the phone show it (ID numbers masked for who may not see them)."""
    payload = req.payload if user.can("view_full_id") else _masked(req.payload)
    return {"uuid": str(req.uuid), "household": req.household.url_key, "household_name": str(req.household),
            "kind": req.kind, "kind_label": str(req.get_kind_display()), "date": req.date.isoformat(),
            "payload": payload, "note": req.note, "state": req.state, "state_label": str(req.get_state_display()),
            "requested_by": req.requested_by_name, "decided_by": getattr(req.decided_by, "display_name", "") or "",
            "decided_at": req.decided_at.isoformat() if req.decided_at else None, "reason": req.reason,
            "has_evidence": bool(req.evidence), "result": req.result}
