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
        raise ServiceError(f"{what}格式不对:{value}")
    return parsed


def _member(hh: Household, key: Any, what: str, *, required: bool = True) -> Person | None:
    if key in (None, ""):
        if required:
            raise ServiceError(f"请选择{what}")
        return None
    try:
        uid = uuidlib.UUID(str(key))
    except ValueError as exc:
        raise ServiceError(f"{what}编号无效") from exc
    p = Person.objects.filter(uuid=uid, household=hh, is_alive=True).first()
    if p is None:
        raise ServiceError(f"本户没有这名在世成员({what})")
    return p


def _clean(hh: Household, kind: str, payload: dict, date: dt.date) -> dict:
    """Check a request's details when it is submitted (a phone hears of a mistake at once) and keep only its keys."""
    payload = {k: payload.get(k) for k in PAYLOAD_KEYS[kind] if payload.get(k) not in (None, "")}
    if kind in (Kind.BIRTH, Kind.MOVE_IN):
        if not _text(payload, "name"):
            raise ServiceError("请填写姓名")
        payload["name"] = _text(payload, "name")
        payload["relationship"] = _text(payload, "relationship", 20) or "其他"
        if payload["relationship"] == services.HEAD:
            raise ServiceError("新成员不能直接作为户主;更换户主请由村工作队办理")
        if payload.get("id_number"):
            try:
                payload["id_number"] = idnumber.normalise(idnumber.clean(payload["id_number"]))
            except idnumber.IdNumberError as exc:
                raise ServiceError(exc.message) from exc
        birth = _date(payload.get("birth_date"), "出生日期")
        if birth is not None:
            if birth > date:
                raise ServiceError("出生日期晚于变动日期")
            payload["birth_date"] = birth.isoformat()
        if payload.get("sex") and payload["sex"] not in ("男", "女", "1", "2"):
            raise ServiceError(f"性别无效:{payload['sex']}")
    if kind in (Kind.DEATH, Kind.MOVE_OUT):
        person = _member(hh, payload.get("person"), "成员")
        payload["person"], payload["person_name"] = str(person.uuid), person.name
        head = _member(hh, payload.get("new_head"), "新户主", required=False)
        if head is not None:
            if head.pk == person.pk:
                raise ServiceError("新户主不能是离开的成员本人")
            payload["new_head"], payload["new_head_name"] = str(head.uuid), head.name
    if kind == Kind.HOUSEHOLD_MOVE:
        if not _text(payload, "village", 15):
            raise ServiceError("请选择迁入的村")
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
                raise ServiceError("该编号已被使用")
            return existing
    if kind not in Kind.values:
        raise ServiceError(f"未知的变动类型:{kind}")
    if not may_request(actor, household):
        raise ServiceError("您不能为该户提交变动申请")
    if household.dissolved_on:
        raise ServiceError("该户已注销")
    day = _date(date, "变动日期") or timezone.localdate()
    if day > timezone.localdate():
        raise ServiceError("变动日期不能晚于今天")
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
            member["birth_date"] = _date(data["birth_date"], "出生日期")
        p = services.member_add(actor=actor, household=hh, member=member, kind=MemberChange.Kind.BIRTH,
                                date=req.date, note=note)
        return {"person": str(p.uuid)}
    if req.kind == Kind.MOVE_IN:
        elsewhere = Person.objects.filter(blind_q(Person, "id_number", data["id_number"]), household__isnull=False,
                                          is_alive=True).exclude(household=hh).first() \
            if data.get("id_number") else None
        if elsewhere is not None:  # a transfer between two registered households: both must be the decider's
            if not Person.objects.restrict(actor).filter(pk=elsewhere.pk).exists():
                raise ServiceError("此人登记在您辖区外的户中,请由县里办理户籍迁移")
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
            raise ServiceError("该成员已不在本户(可能已由他人登记变动)")
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
                raise ServiceError(f"找不到迁入户{target_key},或不在您的管辖范围内")
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
        raise ServiceError("找不到迁入的村,或不在您的管辖范围内")
    grid = None
    if data.get("grid"):
        grid = Grid.objects.filter(code=data["grid"], village=village).first()
        if grid is None:
            raise ServiceError(f"网格{data['grid']}不属于{village.name}")
    moved = services.household_relocate(actor=actor, household=hh, village=village, grid=grid)
    return {"area_code": moved.area_code}


@transaction.atomic
def request_approve(*, actor, request: ChangeRequest, note: str = "") -> ChangeRequest:
    """Approve and apply: the registry service runs in this transaction; when it refuses (a member gone meanwhile, a
    duplicate ID number), nothing changes and the request stays submitted with the message raised."""
    req = ChangeRequest.objects.select_for_update().select_related("household").get(pk=request.pk)
    if not may_decide(actor, req):
        raise ServiceError("您不能审核该申请(须为本辖区村工作队或乡镇,且不能审核自己提交的申请)")
    if req.state != State.SUBMITTED:
        raise ServiceError(f"该申请已{req.get_state_display()}")
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
        raise ServiceError("您不能审核该申请(须为本辖区村工作队或乡镇,且不能审核自己提交的申请)")
    if req.state != State.SUBMITTED:
        raise ServiceError(f"该申请已{req.get_state_display()}")
    if not (reason or "").strip():
        raise ServiceError("退回须说明理由")
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
