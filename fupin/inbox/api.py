"""The caller's own inbox."""

import datetime as dt
import uuid as uuidlib

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.inbox.models import InboxItem
from fupin.inbox.services import inbox_done

router = Router(tags=["inbox"])


class InboxItemOut(Schema):
    uuid: str
    kind: str
    title: str
    body: str
    url: str
    due_date: dt.date | None
    done: bool
    created_at: dt.datetime


def _out(i: InboxItem) -> dict:
    return {"uuid": str(i.uuid), "kind": i.kind, "title": i.title, "body": i.body, "url": i.url,
            "due_date": i.due_date, "done": i.done_at is not None, "created_at": i.created_at}


@router.get("/items", response=list[InboxItemOut])
def list_items(request, open_only: bool = True):
    qs = InboxItem.objects.filter(user=request.user)
    if open_only:
        qs = qs.filter(done_at__isnull=True)
    return [_out(i) for i in qs[:500]]


@router.post("/items/{uuid}/done", response=InboxItemOut)
def mark_done(request, uuid: uuidlib.UUID):
    item = get_object_or_404(InboxItem, uuid=uuid, user=request.user)
    return _out(inbox_done(actor=request.user, item=item))
