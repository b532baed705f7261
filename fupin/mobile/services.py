"""Writes of the phone app's sync. Each change from a phone is applied by the owning capability's service and
recorded as a `SyncChange` in the same transaction, keyed by the phone's uuid: sending it again returns the stored
answer, so it takes effect exactly once. A household change made on an old version is merged field by field: a field
someone else changed since that version, to another value, becomes a `SyncConflict` for a person to resolve; the
other fields are applied.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid as uuidlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from fupin.core import audit, filestore
from fupin.core.crypto import CryptoError
from fupin.core.errors import ConflictError, ServiceError
from fupin.mobile import selectors
from fupin.mobile.choices import ChangeKind, ChangeStatus, ConflictStatus, Resolution
from fupin.mobile.models import SliceSnapshot, SyncChange, SyncConflict, Upload

# The household form on the phone: the fields a grid worker may change (the rest goes through the village team's
# pages). type: text, code (a registry code list), decimal, bool (yes / no / unknown).
HOUSEHOLD_FORM = (
    ("phone", "联系电话", "text", None),
    ("address", "住址", "text", None),
    ("group_name", "村民小组", "text", None),
    ("housing_structure", "住房结构", "code", "housing_structure"),
    ("housing_area", "住房面积(平方米)", "decimal", None),
    ("dilapidated_grade", "危房等级", "code", "dilapidated"),
    ("water_source", "饮水来源", "code", "water_source"),
    ("drinking_safe", "饮水安全", "bool", None),
    ("drinking_difficulty", "饮水困难", "bool", None),
    ("sanitary_toilet", "卫生厕所", "bool", None),
    ("production_power", "生产用电", "bool", None),
    ("road_distance_km", "距村主干路(公里)", "decimal", None),
    ("in_cooperative", "加入合作社", "bool", None),
)
PHONE_EDITABLE = tuple(f[0] for f in HOUSEHOLD_FORM)
FORM_TYPES = {f[0]: f[2] for f in HOUSEHOLD_FORM}
MAX_UPLOAD = 10 * 1024 * 1024
MAX_CHUNK = 1024 * 1024


class Pending(Exception):
    """The change cannot be applied yet (a photo has not fully arrived); nothing is recorded, send it again."""


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# The change feed ----------------------------------------------------------------------------------------------


@transaction.atomic
def sync_pull(*, user, token=None, cursor: str | None = None) -> dict:
    """What the device lacks since `cursor` (everything when the cursor is unknown) and a new cursor; the upserts
    are each item's JSON text. When no collection's stamp moved since the cursor, the answer is empty and keeps the
    same cursor: the snapshot's digests are not even read (a sync with nothing changed writes nothing)."""
    snap = None
    if cursor:
        try:
            snap = (SliceSnapshot.objects.filter(cursor=uuidlib.UUID(str(cursor)), user=user, token=token)
                    .values("pk", "cursor", stamps=KT("digests___stamps")).first())
        except ValueError:
            snap = None
    stamps = selectors.slice_stamps(user)  # before building: a write in between shows at the next sync
    if snap is not None:
        known_stamps = snap["stamps"] if isinstance(snap["stamps"], dict) else json.loads(snap["stamps"] or "{}")
        if all(known_stamps.get(c) == stamps[c] for c in selectors.COLLECTIONS):
            return {"cursor": str(snap["cursor"]), "full": False, "upserts": {c: [] for c in selectors.COLLECTIONS},
                    "deletes": {c: [] for c in selectors.COLLECTIONS}}
        known = SliceSnapshot.objects.values_list("digests", flat=True).get(pk=snap["pk"])
        changed = [c for c in selectors.COLLECTIONS if known_stamps.get(c) != stamps[c]]
    else:
        known, changed = None, list(selectors.COLLECTIONS)
    current = selectors.worker_slice(user, changed)
    upserts, deletes, digests = selectors.diff(current, known)
    digests["_stamps"] = stamps
    new = SliceSnapshot.objects.create(user=user, token=token, digests=digests)
    old = SliceSnapshot.objects.filter(user=user, token=token).order_by("-created_at", "-id")[selectors.SNAPSHOTS_KEPT:]
    SliceSnapshot.objects.filter(pk__in=[s.pk for s in old]).delete()
    return {"cursor": str(new.cursor), "full": known is None, "upserts": upserts, "deletes": deletes}


# Resumable uploads --------------------------------------------------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "mobile" / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def upload_chunk(*, user, upload_uuid, offset: int, total: int, data: bytes,
                 content_type: str = "image/jpeg") -> Upload:
    """Append a chunk at `offset`. A chunk that arrived already (a retry) is ignored; one beyond what arrived is
    refused with the received size, so the phone resumes exactly where the server is."""
    if not (0 < total <= MAX_UPLOAD):
        raise ServiceError(_("The photo is too large or empty (at most 10 MB)"))
    if len(data) > MAX_CHUNK:
        raise ServiceError(_("The chunk is too large"))
    if content_type not in ("image/jpeg", "image/png", "image/webp"):
        raise ServiceError(_("Only photos can be uploaded"))
    up = Upload.objects.select_for_update().filter(uuid=upload_uuid).first()
    if up is None:
        try:
            with transaction.atomic():
                up = Upload.objects.create(uuid=upload_uuid, user=user, total=total, content_type=content_type,
                                           path=str(_upload_dir() / f"{upload_uuid}.part"))
        except IntegrityError:
            up = Upload.objects.select_for_update().get(uuid=upload_uuid)
    if up.user_id != user.pk:
        raise ServiceError(_("The upload is not yours"))
    if up.total != total:
        raise ServiceError(_("The photo's size differs from before"))
    if offset + len(data) <= up.received or up.completed_at:
        return up  # already here
    if offset != up.received:
        raise ConflictError(_("%(received)s bytes received: continue from there") % {"received": up.received})
    if offset + len(data) > up.total:
        raise ServiceError(_("The data exceed the photo's size"))
    filestore.append_part(up.path, data, first=not offset)  # sealed on disk as it arrives
    up.received = offset + len(data)
    if up.received == up.total:
        up.completed_at = timezone.now()
    up.save(update_fields=["received", "completed_at"])
    return up


def _photos(user, ids: list) -> list[File]:
    from PIL import Image, UnidentifiedImageError

    files = []
    for raw in ids or []:
        try:
            up = Upload.objects.filter(uuid=uuidlib.UUID(str(raw)), user=user).first()
        except ValueError:
            up = None
        if up is None or up.completed_at is None:
            raise Pending(str(raw))
        try:
            data = filestore.read_part(up.path)
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, CryptoError) as exc:
            raise ServiceError(_("The photo cannot be read: take it again")) from exc
        fh = File(io.BytesIO(data), name=f"{up.uuid}.jpg")
        fh.content_type = up.content_type
        files.append(fh)
    return files


# Applying one change ---------------------------------------------------------------------------------------------


def _date(value, default: dt.date | None = None) -> dt.date:
    try:
        parsed = parse_date(str(value)) if value else None
    except ValueError:  # well formed but impossible (2016-13-01): refused, not a server error
        parsed = None
    if value and parsed is None:
        raise ServiceError(_("Wrong date format: %(value)s") % {"value": value})
    return parsed or default or timezone.localdate()


def _household(user, key):
    from fupin.assistance.selectors import household_for

    hh = household_for(user, key) if key else None
    if hh is None:
        raise ServiceError(_("Household not found, or outside your jurisdiction"))
    return hh


def _apply_visit(user, change: SyncChange, data: dict) -> dict:
    from fupin.assistance import permissions
    from fupin.assistance.services import record_create

    if not permissions.can_record(user):
        raise ServiceError(_("You may not record assistance"))
    hh = _household(user, data.get("household"))
    change.household = hh
    photos = _photos(user, data.get("photos") or [])
    try:
        record, _created = record_create(
            actor=user, household=hh, occurred_on=_date(data.get("occurred_on")), content=data.get("content") or "",
            kind=data.get("kind") or "visit", needs=data.get("needs") or "", lng=data.get("lng"), lat=data.get("lat"),
            gps_accuracy=data.get("gps_accuracy"), source="app", uuid=change.uuid, attachments=photos)
    finally:
        for f in photos:
            f.close()
    return {"record": str(record.uuid), "photos": record.attachments.count()}


def _apply_errand(user, change: SyncChange, data: dict) -> dict:
    from fupin.assistance import permissions
    from fupin.assistance.services import errand_create

    if not permissions.can_record(user):
        raise ServiceError(_("You may not accept errands"))
    hh = _household(user, data.get("household"))
    change.household = hh
    errand, _created = errand_create(actor=user, household=hh, matter=data.get("matter") or "",
                                     office=data.get("office") or "", for_name=data.get("for_name") or "",
                                     opened_on=_date(data.get("opened_on")), uuid=change.uuid)
    return {"errand": str(errand.uuid)}


def _apply_minqing(user, change: SyncChange, data: dict) -> dict:
    from fupin.dispatch.services import minqing_report_create

    hh = _household(user, data.get("household")) if data.get("household") else None
    village = None
    if hh is None:
        from fupin.geo.models import Division

        village = Division.objects.restrict(user).filter(code=data.get("village") or "").first()
        if village is None and getattr(user, "division_id", None):
            village = user.division
    change.household = hh
    reported_at = parse_datetime(str(data.get("reported_at") or "")) or None
    report = minqing_report_create(
        actor=user, channel="grid_worker", category=data.get("category") or "other",
        content=data.get("content") or "", household=hh, village=village,
        grid=None if hh is not None or not user.grid_id else user.grid, urgency=data.get("urgency") or "normal",
        place=data.get("place") or "", reported_at=reported_at)
    return {"report": str(report.uuid), "number": report.number}


def _uuid_in(data: dict, key: str, refusal: str) -> uuidlib.UUID:
    """The uuid a change names under `key`; ServiceError(refusal) when it is none."""
    try:
        return uuidlib.UUID(str(data.get(key)))
    except ValueError as exc:
        raise ServiceError(refusal) from exc


def _apply_finding(user, change: SyncChange, data: dict) -> dict:
    from fupin.eligibility.models import Finding
    from fupin.eligibility.services import finding_confirm, finding_dismiss

    key = _uuid_in(data, "finding", _("Invalid finding number"))
    finding = Finding.objects.restrict(user).filter(uuid=key).select_related("household").first()
    if finding is None:
        raise ServiceError(_("Finding not found, or outside your jurisdiction"))
    change.household = finding.household
    if not user.can("collect") and not user.can("village_review"):
        raise ServiceError(_("You may not check findings"))
    decision = data.get("decision")
    if finding.status != Finding.Status.OPEN:
        raise ServiceError(_("The finding is already handled (%(status)s): no need to check it") % {"status": finding.get_status_display()})
    if decision == "confirm":
        finding = finding_confirm(actor=user, finding=finding, note=data.get("reason") or "")
    elif decision == "dismiss":
        finding = finding_dismiss(actor=user, finding=finding, reason=data.get("reason") or "")
    else:
        raise ServiceError(_("Choose confirmed or dismissed"))
    return {"finding": str(finding.uuid), "status": finding.status}


def _apply_measure(user, change: SyncChange, data: dict) -> dict:
    from fupin.assistance import permissions
    from fupin.assistance.models import Measure
    from fupin.assistance.services import measure_update

    key = _uuid_in(data, "measure", _("Invalid measure number"))
    measure = Measure.objects.filter(uuid=key, household__in=selectors.slice_households(user)).first()
    if measure is None:
        raise ServiceError(_("Measure not found, or outside your jurisdiction"))
    change.household_id = measure.household_id
    if not permissions.can_record(user):
        raise ServiceError(_("You may not update assistance measures"))
    if measure.status == "done":
        return {"measure": str(measure.uuid), "status": "done", "note": "已由他人标记完成"}
    if measure.status == "cancelled":
        raise ServiceError(_("The measure is cancelled"))
    measure = measure_update(actor=user, measure=measure, status="done", evidence=data.get("evidence") or "",
                             done_on=_date(data.get("done_on")))
    return {"measure": str(measure.uuid), "status": measure.status}


def form_value(name: str, value: Any, *, strict: bool = False):
    """A household form field's value in one comparable, JSON-ready form: text stripped, a decimal as "12.50", a
    yes/no as true/false/None. `strict` (the phone's value) refuses what the field cannot hold, in Chinese."""
    from decimal import Decimal, InvalidOperation

    from fupin.registry.labels import code_tables

    kind = FORM_TYPES[name]
    label = next(f[1] for f in HOUSEHOLD_FORM if f[0] == name)
    if kind == "bool":
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "是", "yes"):
            return True
        if text in ("false", "0", "否", "no"):
            return False
        if strict:
            raise ServiceError(_("%(label)s takes only yes or no") % {"label": label})
        return None
    if kind == "decimal":
        if value in (None, ""):
            return None
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            if strict:
                raise ServiceError(_("%(label)s is not a number: %(value)s") % {"label": label, "value": value}) from exc
            return None
        if strict and (not number.is_finite() or number < 0 or number >= 10 ** 5):
            raise ServiceError(_("%(label)s is out of range: %(value)s") % {"label": label, "value": value})
        return f"{number:.2f}" if number.is_finite() else None
    text = (str(value) if value is not None else "").strip()
    if strict and kind == "code" and text:
        spec = next(f[3] for f in HOUSEHOLD_FORM if f[0] == name)
        if text not in dict(code_tables().choices(spec)):
            raise ServiceError(_("%(label)s is invalid: %(text)s") % {"label": label, "text": text})
    if strict and len(text) > _max_length(name):
        raise ServiceError(_("The %(label)s is too long") % {"label": label})
    return text


def _max_length(name: str) -> int:
    from fupin.registry.models import Household

    return Household._meta.get_field(name).max_length or 200


def household_form() -> dict:
    """The household form as the phone shows it (sent with the published forms): fields, labels, choices."""
    from fupin.registry.labels import code_tables

    t = code_tables()
    return {"key": "registry.household", "name": "农户信息", "version": 1, "definition": {"fields": [
        {"name": n, "label": label, "type": kind, "choices": t.choices(spec) if spec else None}
        for n, label, kind, spec in HOUSEHOLD_FORM]}}


def _apply_household(user, change: SyncChange, data: dict) -> dict:
    """Merge field by field: a field unchanged on the server since the phone's version is applied; a field someone
    else changed to a different value becomes a conflict."""
    from fupin.registry.models import Household
    from fupin.registry.services import household_update

    if not user.can("edit"):
        raise ServiceError(_("You may not change household information"))
    hh = _household(user, data.get("household"))
    change.household = hh
    fields = data.get("fields") or {}
    base = data.get("base") or {}
    bad = set(fields) - set(PHONE_EDITABLE)
    if bad or not fields:
        raise ServiceError(_("These fields cannot be changed on the phone: %(items)s") % {"items": '、'.join(sorted(bad))} if bad else _("Nothing to change"))
    current = Household.objects.select_for_update().get(pk=hh.pk)
    apply, conflicts = {}, []
    for name, raw in fields.items():
        ours = form_value(name, raw, strict=True)
        now_value = form_value(name, getattr(current, name))
        base_value = form_value(name, base.get(name)) if name in base else None
        if change.base_version is None or current.version == change.base_version or now_value == base_value:
            if now_value != ours:
                apply[name] = ours
        elif now_value != ours:
            conflicts.append((name, base_value, now_value, ours))
    result: dict[str, Any] = {"applied": sorted(apply), "conflicts": []}
    if apply:
        hh = household_update(actor=user, household=current, **apply)
    for name, base_value, theirs, ours in conflicts:
        c = SyncConflict.objects.create(change=change, household=hh, area_code=hh.area_code, field=name,
                                        base_value=base_value, theirs=theirs, ours=ours)
        audit.record(actor=user, action="mobile.conflict.open", obj=c, area_code=c.area_code,
                     after={"field": name, "base": base_value, "theirs": theirs, "ours": ours})
        result["conflicts"].append(str(c.uuid))
    result["version"] = Household.objects.filter(pk=hh.pk).values_list("version", flat=True).first()
    return result


def _apply_change_request(user, change: SyncChange, data: dict) -> dict:
    """A birth, death or move reported from the phone: a registry change request for the village team to approve
    (its uuid is the change's, so a retry finds it); the evidence photo arrives like a visit's."""
    from fupin.registry.change_requests import request_submit

    hh = _household(user, data.get("household"))
    change.household = hh
    photos = _photos(user, (data.get("photos") or [])[:1])
    try:
        req = request_submit(actor=user, household=hh, kind=str(data.get("kind") or ""),
                             payload=data.get("payload") if isinstance(data.get("payload"), dict) else {},
                             date=data.get("date"), note=str(data.get("note") or ""), uuid=change.uuid,
                             evidence=photos[0] if photos else None)
    finally:
        for f in photos:
            f.close()
    return {"request": str(req.uuid), "state": req.state}


APPLIERS = {
    ChangeKind.VISIT: _apply_visit,
    ChangeKind.ERRAND: _apply_errand,
    ChangeKind.MINQING: _apply_minqing,
    ChangeKind.FINDING: _apply_finding,
    ChangeKind.MEASURE_DONE: _apply_measure,
    ChangeKind.HOUSEHOLD: _apply_household,
    ChangeKind.CHANGE_REQUEST: _apply_change_request,
}


def _answer(change: SyncChange, duplicate: bool) -> dict:
    return {"uuid": str(change.uuid), "status": change.status, "message": change.message, "result": change.result,
            "duplicate": duplicate}


def change_apply(*, actor, token=None, change: dict) -> dict:
    """Apply one change from a phone exactly once; returns {uuid, status, message, result, duplicate}.

    Statuses: applied; merged (some fields applied, others conflicts); conflict; refused (with the reason, kept so
    a retry gets the same answer); pending (a photo is still arriving: nothing recorded, send again)."""
    try:
        uid = uuidlib.UUID(str(change.get("uuid")))
    except ValueError:
        return {"uuid": str(change.get("uuid")), "status": ChangeStatus.REFUSED, "message": "变更编号无效",
                "result": {}, "duplicate": False}
    stored = SyncChange.objects.filter(uuid=uid).first()
    if stored is not None:
        if stored.user_id != actor.pk:
            return {"uuid": str(uid), "status": ChangeStatus.REFUSED, "message": "该编号已被使用", "result": {},
                    "duplicate": False}
        return _answer(stored, True)
    kind = change.get("kind")
    data = change.get("data") if isinstance(change.get("data"), dict) else {}
    base_version = change.get("base_version")
    made_at = parse_datetime(str(change.get("made_at") or "")) if change.get("made_at") else None
    row = SyncChange(uuid=uid, user=actor, token=token, kind=kind if kind in ChangeKind.values else "",
                     base_version=base_version if isinstance(base_version, int) and base_version > 0 else None,
                     payload=data, made_at=made_at, area_code=getattr(actor, "area_code", "") or "")
    try:
        with transaction.atomic():
            if kind not in APPLIERS:
                raise ServiceError(_("The phone app does not support this change"))
            row.status = ChangeStatus.APPLIED
            row.save()  # claims the uuid first: a concurrent copy of this change fails here and reads our answer
            row.result = APPLIERS[kind](actor, row, data)
            if row.household is not None:
                row.area_code = row.household.area_code
            n_conf = len(row.result.get("conflicts") or [])
            row.status = (ChangeStatus.APPLIED if not n_conf else
                          ChangeStatus.MERGED if row.result.get("applied") else ChangeStatus.CONFLICT)
            if n_conf:
                row.message = "与他人的修改冲突,请核对后处理"
            row.save()
            audit.record(actor=actor, action="mobile.change.apply", obj=row, area_code=row.area_code,
                         after={"kind": row.kind, "status": row.status, "made_at": row.made_at},
                         note=f"手机离线记录,{_lag(row)}")
    except Pending as exc:
        return {"uuid": str(uid), "status": "pending", "message": f"照片{exc}尚未传完", "result": {},
                "duplicate": False}
    except IntegrityError:
        stored = SyncChange.objects.filter(uuid=uid).first()
        if stored is None:
            raise
        return _answer(stored, True)
    except ServiceError as exc:
        row.pk = None  # the attempt was rolled back: record the refusal instead, so a retry gets the same answer
        row.status, row.message, row.result = ChangeStatus.REFUSED, exc.message[:300], {}
        with transaction.atomic():
            row.save()
            audit.record(actor=actor, action="mobile.change.refuse", obj=row, area_code=row.area_code,
                         after={"kind": row.kind, "status": row.status}, note=row.message)
    return _answer(row, False)


def _lag(row: SyncChange) -> str:
    if row.made_at is None:
        return "未带记录时间"
    minutes = int((timezone.now() - row.made_at).total_seconds() // 60)
    return f"记录于{timezone.localtime(row.made_at):%Y-%m-%d %H:%M},{max(minutes, 0)}分钟后送达"


# Conflicts --------------------------------------------------------------------------------------------------------


def may_resolve(user, conflict: SyncConflict) -> bool:
    if user.is_superuser or conflict.change.user_id == user.pk:
        return True
    return (user.can("village_review") or user.can("edit")) and \
        SyncConflict.objects.restrict(user).filter(pk=conflict.pk).exists()


@transaction.atomic
def conflict_resolve(*, actor, conflict: SyncConflict, choice: str) -> SyncConflict:
    """Keep the server's value (theirs) or apply the phone's (ours) through the registry's service."""
    from fupin.registry.services import household_update

    c = SyncConflict.objects.select_for_update().select_related("change", "household").get(pk=conflict.pk)
    if not may_resolve(actor, c):
        raise ServiceError(_("You cannot resolve this conflict"))
    if c.status != ConflictStatus.OPEN:
        raise ServiceError(_("The conflict is resolved"))
    if choice not in Resolution.values:
        raise ServiceError(_("Choose which value to keep"))
    if choice == Resolution.OURS:
        value = c.ours  # False and None are values of a yes/no field; a text field takes "" for nothing
        if value is None and FORM_TYPES.get(c.field, "text") in ("text", "code"):
            value = ""
        household_update(actor=actor, household=c.household, **{c.field: value})
    c.status, c.resolution, c.resolved_by, c.resolved_at = ConflictStatus.RESOLVED, choice, _user(actor), \
        timezone.now()
    c.save()
    audit.record(actor=actor, action="mobile.conflict.resolve", obj=c, area_code=c.area_code,
                 before={"status": "open"}, after={"status": c.status, "resolution": choice,
                                                   "value": c.ours if choice == Resolution.OURS else c.theirs})
    return c
