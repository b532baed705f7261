"""Procedures API (/api/v1/lifecycle/): list and read the procedures of the caller's jurisdiction, start one,
record its next step or a spot-check. Writes go through the services; a client-generated `uuid` makes a retried
write return the first result instead of recording twice (the phone app works offline and retries).

Writes are multipart/form-data (fields plus files: `photos`, `documents`, `minutes`, `thumbprint`, `signature`);
`data` is a JSON object as text, e.g. {"food": true, ...} for the exit verification. A refusal answers 400 with the
Chinese message in `detail`; a procedure outside the caller's jurisdiction answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuidlib

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from fupin.core.apierrors import refusal_as
from fupin.geo.models import Division
from fupin.lifecycle import selectors, services
from fupin.lifecycle.choices import AttachmentKind
from fupin.lifecycle.definitions import PROCEDURES
from fupin.lifecycle.filters import PROCEDURE_FILTERS
from fupin.lifecycle.models import Procedure, ProcedureStep
from fupin.registry.models import Household

router = Router(tags=["lifecycle"])


class StepErrorOut(Schema):
    detail: str
    field: str | None = None


class AttachmentOut(Schema):
    uuid: str
    kind: str
    name: str
    content_type: str
    size: int
    url: str


class StepOut(Schema):
    uuid: str
    seq: int
    step: str
    step_label: str
    actor: str
    actor_role: str
    date: dt.date
    decision: str
    notes: str
    data: dict
    attachments: list[AttachmentOut]
    recorded_at: dt.datetime


class NextStepOut(Schema):
    code: str
    label: str
    roles: list[str]
    notice_days_setting: str | None
    spot_check: str | None


class ProcedureOut(Schema):
    uuid: str
    kind: str
    kind_label: str
    status: str
    current_step: str
    current_step_label: str
    household: str | None
    household_uuid: str | None
    head_name: str | None
    village: str
    village_name: str
    batch: str | None
    batch_name: str | None
    started_on: dt.date
    finished_on: dt.date | None
    version: int


class ProcedureDetailOut(ProcedureOut):
    next_step: NextStepOut | None
    steps: list[StepOut]


class StartIn(Schema):
    kind: str
    household: str | None = None
    village: str | None = None
    date: dt.date | None = None


class StepIn(Schema):
    step: str
    decision: str = "approve"
    date: dt.date
    notes: str = ""
    data: str = "{}"
    uuid: uuidlib.UUID | None = None


class SpotCheckIn(Schema):
    level: str
    finding: str = "approve"
    date: dt.date
    notes: str = ""
    uuid: uuidlib.UUID | None = None


def _procedure_out(p: Procedure) -> dict:
    hh = p.household
    sdef = p.current_step_def
    return {"uuid": str(p.uuid), "kind": p.kind, "kind_label": str(p.definition.label), "status": p.status,
            "current_step": p.current_step, "current_step_label": str(sdef.label) if sdef else "",
            "household": (hh.poor_code or str(hh.uuid)) if hh else None, "household_uuid": str(hh.uuid) if hh else None,
            "head_name": hh.head_name if hh else None, "village": p.village.code, "village_name": p.village.name,
            "batch": str(p.batch.uuid) if p.batch_id else None, "batch_name": p.batch.name if p.batch_id else None,
            "started_on": p.started_on, "finished_on": p.finished_on, "version": p.version}


def _step_out(s: ProcedureStep) -> dict:
    return {"uuid": str(s.uuid), "seq": s.seq, "step": s.step, "step_label": s.step_label, "actor": s.actor_name,
            "actor_role": s.actor_role, "date": s.date, "decision": s.decision, "notes": s.notes, "data": s.data,
            "attachments": [{"uuid": str(a.uuid), "kind": a.kind, "name": a.name, "content_type": a.content_type,
                             "size": a.size, "url": a.get_absolute_url()} for a in s.attachments.all()],
            "recorded_at": s.created_at}


def _detail_out(p: Procedure) -> dict:
    sdef = p.current_step_def
    return {**_procedure_out(p), "steps": [_step_out(s) for s in p.steps.all()],
            "next_step": {"code": sdef.code, "label": str(sdef.label), "roles": sorted(str(r) for r in sdef.roles),
                          "notice_days_setting": sdef.notice, "spot_check": sdef.spot_check} if sdef else None}


def _get(request, uuid) -> Procedure:
    if not _is_uuid(str(uuid)):
        raise Http404
    try:
        return selectors.procedure_detail(user=request.user, uuid=uuid)
    except Procedure.DoesNotExist:
        raise Http404 from None


def _uploads(**files) -> list[tuple[str, UploadedFile]]:
    kinds = {"photos": AttachmentKind.PHOTO, "documents": AttachmentKind.DOCUMENT, "minutes": AttachmentKind.MINUTES,
             "thumbprint": AttachmentKind.THUMBPRINT, "signature": AttachmentKind.SIGNATURE}
    return [(kinds[name], f) for name, group in files.items() for f in (group or [])]


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


ProcedureQuery = PROCEDURE_FILTERS.schema("ProcedureQuery")


@router.get("/procedures", response=list[ProcedureOut])
@paginate(LimitOffsetPagination)
@lambda fn: fn.__annotations__.update(filters=Query[ProcedureQuery]) or fn  # resolved: the paginate wrapper
def list_procedures(request, filters):                                      # cannot read the annotation's text
    """Procedures filtered as the pipeline page filters them (fupin/lifecycle/filters.py); a refused value: 422."""
    found = PROCEDURE_FILTERS.read_api(filters, request.user)
    return [_procedure_out(p) for p in selectors.procedure_list(user=request.user, **found.values)]


@router.get("/procedures/{uuid}", response=ProcedureDetailOut)
def get_procedure(request, uuid: str):
    return _detail_out(_get(request, uuid))


@router.post("/procedures", response={201: ProcedureDetailOut, 400: StepErrorOut, 404: StepErrorOut})
def start_procedure(request, payload: StartIn):
    if payload.kind not in PROCEDURES:
        return Status(400, {"detail": _("Unknown procedure type: %(kind)s") % {"kind": payload.kind}})
    household = village = None
    if payload.household:
        qs = Household.objects.restrict(request.user)
        household = qs.filter(poor_code=payload.household).first() or (
            qs.filter(uuid=payload.household).first() if _is_uuid(payload.household) else None)
        if household is None:
            return Status(404, {"detail": _("Household not found")})
    if payload.village:
        village = Division.objects.restrict(request.user).filter(code=payload.village).first()
        if village is None:
            return Status(404, {"detail": _("Village not found")})
    with refusal_as(400, field=True):
        proc = services.procedure_start(actor=request.user, kind=payload.kind, household=household, village=village,
                                        date=payload.date)
    return Status(201, _detail_out(_get(request, proc.uuid)))


@router.post("/procedures/{uuid}/steps", response={200: StepOut, 201: StepOut, 400: StepErrorOut})
def record_step(request, uuid: str, payload: Form[StepIn], photos: File[list[UploadedFile]] = None,
                documents: File[list[UploadedFile]] = None, minutes: File[list[UploadedFile]] = None,
                thumbprint: File[list[UploadedFile]] = None, signature: File[list[UploadedFile]] = None):
    proc = _get(request, uuid)
    if payload.uuid and ProcedureStep.objects.filter(uuid=payload.uuid, procedure=proc).exists():
        return Status(200, _step_out(ProcedureStep.objects.get(uuid=payload.uuid)))
    try:
        data = json.loads(payload.data or "{}")
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        return Status(400, {"detail": _("data must be a JSON object"), "field": "data"})
    with refusal_as(400, field=True):
        step = services.procedure_record_step(
            actor=request.user, procedure=proc, step=payload.step, decision=payload.decision, date=payload.date,
            notes=payload.notes, data=data, client_uuid=payload.uuid,
            attachments=_uploads(photos=photos, documents=documents, minutes=minutes, thumbprint=thumbprint,
                                 signature=signature))
    return Status(201, _step_out(step))


@router.post("/procedures/{uuid}/spot-checks", response={200: StepOut, 201: StepOut, 400: StepErrorOut})
def record_spot_check(request, uuid: str, payload: Form[SpotCheckIn], photos: File[list[UploadedFile]] = None):
    proc = _get(request, uuid)
    if payload.uuid and ProcedureStep.objects.filter(uuid=payload.uuid, procedure=proc).exists():
        return Status(200, _step_out(ProcedureStep.objects.get(uuid=payload.uuid)))
    with refusal_as(400, field=True):
        step = services.procedure_record_spot_check(
            actor=request.user, procedure=proc, level=payload.level, finding=payload.finding, date=payload.date,
            notes=payload.notes, client_uuid=payload.uuid, attachments=_uploads(photos=photos))
    return Status(201, _step_out(step))
