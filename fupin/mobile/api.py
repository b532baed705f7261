"""The phone app's sync API (/api/v1/mobile/), used with a device token (`Authorization: Bearer`):

- `GET /sync?cursor=` — the worker's slice, or only what changed since the cursor, with tombstones and a new cursor;
- `POST /changes` — the outbox, in order; each change applied exactly once by its uuid;
- `GET|PUT /uploads/{uuid}` — a photo in resumable chunks (`offset`, `total`; the body is the bytes);
- `GET /conflicts`, `POST /conflicts/{uuid}/resolve` — conflicts of the worker's changes and jurisdiction.
"""

from __future__ import annotations

import datetime
import gzip
import json
import uuid as uuidlib
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from fupin.core.apierrors import refusal_as
from fupin.core.errors import ConflictError
from fupin.mobile import selectors, services
from fupin.mobile.models import SyncConflict, Upload

router = Router(tags=["mobile"])
MAX_CHANGES = 100


class SyncOut(Schema):
    cursor: str
    full: bool
    server_time: datetime.datetime
    upserts: dict[str, list[dict[str, Any]]]
    deletes: dict[str, list[str]]
    conflicts: list[dict[str, Any]]


class SyncChangeIn(Schema):
    uuid: str
    kind: str
    base_version: int | None = None
    made_at: str | None = None
    data: dict[str, Any] = {}


class ChangesIn(Schema):
    changes: list[SyncChangeIn]


class ChangeResult(Schema):
    uuid: str
    status: str
    message: str
    result: dict[str, Any]
    duplicate: bool


class ChangesOut(Schema):
    results: list[ChangeResult]


class UploadOut(Schema):
    uuid: str
    received: int
    total: int
    complete: bool


class ResolveIn(Schema):
    choice: str


class SyncErrorOut(Schema):
    detail: str


def _token(request):
    return getattr(request, "access_token", None)


@router.get("/sync", response=SyncOut)
def sync(request, cursor: str | None = None):
    """First sync (no cursor): the whole slice. Later syncs: only items whose content changed, and tombstones.

    The answer is gzip-compressed when the phone accepts it (a grid's first sync is mostly repeated keys: about a
    tenth of the bytes over a slow link)."""
    out = services.sync_pull(user=request.user, token=_token(request), cursor=cursor)
    conflicts = [selectors.conflict_out(c) for c in selectors.open_conflicts_for(request.user)
                 .filter(change__user=request.user)[:200]]

    def enc(value) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))

    # the items arrive as JSON text (encoded once for their digests): the answer is put together around them
    upserts = ",".join(f"{enc(c)}:[{','.join(items)}]" for c, items in out["upserts"].items())
    body = (f'{{"cursor":{enc(out["cursor"])},"full":{enc(out["full"])},"server_time":{enc(timezone.now())},'
            f'"upserts":{{{upserts}}},"deletes":{enc(out["deletes"])},"conflicts":{enc(conflicts)}}}').encode()
    response = HttpResponse(content_type="application/json; charset=utf-8")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 1024:
        body = gzip.compress(body, compresslevel=6)
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response.content = body
    return response


@router.post("/changes", response={200: ChangesOut, 400: SyncErrorOut})
def push_changes(request, payload: ChangesIn):
    """Apply the phone's outbox in order. Answers per change: applied, merged, conflict, refused (with the reason)
    or pending (a photo still arriving). Sending the same change again returns the same answer."""
    if len(payload.changes) > MAX_CHANGES:
        return Status(400, {"detail": _("At most %(max_changes)s changes at a time") % {"max_changes": MAX_CHANGES}})
    results = []
    for ch in payload.changes:
        answer = services.change_apply(actor=request.user, token=_token(request), change=ch.dict())
        results.append(answer)
        if answer["status"] == "pending":
            break  # keep the order: later changes wait for this one
    return {"results": results}


def _upload_out(up: Upload) -> dict:
    return {"uuid": str(up.uuid), "received": up.received, "total": up.total, "complete": up.completed_at is not None}


@router.get("/uploads/{upload_id}", response=UploadOut)
def upload_status(request, upload_id: uuidlib.UUID):
    """How much of a photo has arrived (0 when nothing yet)."""
    up = Upload.objects.filter(uuid=upload_id, user=request.user).first()
    if up is None:
        return {"uuid": str(upload_id), "received": 0, "total": 0, "complete": False}
    return _upload_out(up)


@router.put("/uploads/{upload_id}", response={200: UploadOut, 400: SyncErrorOut, 409: UploadOut})
def upload_put(request, upload_id: uuidlib.UUID, offset: int, total: int):
    """Append the request body at `offset`; 409 with the received size when the phone must resume elsewhere."""
    with refusal_as(400):
        try:
            up = services.upload_chunk(user=request.user, upload_uuid=upload_id, offset=offset, total=total,
                                       data=request.body, content_type=request.content_type or "image/jpeg")
        except ConflictError as exc:
            up = Upload.objects.filter(uuid=upload_id).first()
            if up is None:  # a first chunk that does not start at 0: nothing was kept, the phone starts again from 0
                return Status(400, {"detail": exc.message})
            return Status(409, _upload_out(up))
    return _upload_out(up)


@router.get("/conflicts", response=list[dict[str, Any]])
def list_conflicts(request):
    """Open conflicts of the caller's changes and of their jurisdiction."""
    return [selectors.conflict_out(c) for c in selectors.open_conflicts_for(request.user)[:500]]


@router.post("/conflicts/{conflict_id}/resolve", response={200: dict[str, Any], 400: SyncErrorOut, 404: SyncErrorOut})
def resolve_conflict(request, conflict_id: uuidlib.UUID, payload: ResolveIn):
    c = selectors.open_conflicts_for(request.user).filter(uuid=conflict_id).first() or \
        SyncConflict.objects.restrict(request.user).filter(uuid=conflict_id).first()
    if c is None:
        raise HttpError(404, _("Conflict not found, or outside your jurisdiction"))
    with refusal_as(400):
        c = services.conflict_resolve(actor=request.user, conflict=c, choice=payload.choice)
    return selectors.conflict_out(c)
