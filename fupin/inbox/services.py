"""Posting to and closing inbox items. Other apps call `inbox_post`."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.inbox.models import InboxItem


def inbox_post(*, user, title: str, kind: str = InboxItem.Kind.NOTICE, body: str = "", url: str = "",
               obj=None, area_code: str = "", due_date: dt.date | None = None, dedupe_key: str = "") -> InboxItem:
    """Post an item; with a dedupe_key, an open item with the same key for the same user is returned instead."""
    if dedupe_key:
        existing = InboxItem.objects.filter(user=user, dedupe_key=dedupe_key, done_at__isnull=True).first()
        if existing:
            return existing
    return InboxItem.objects.create(
        user=user, kind=kind, title=title[:200], body=body, url=url, due_date=due_date, dedupe_key=dedupe_key,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        area_code=area_code or (getattr(obj, "area_code", "") if obj is not None else ""),
    )


@transaction.atomic
def inbox_done(*, actor, item: InboxItem) -> InboxItem:
    if item.user_id != actor.pk and not actor.is_superuser:
        raise ServiceError("只能处理自己的待办")
    if item.done_at:
        return item
    item.done_at = timezone.now()
    item.version += 1
    item.save(update_fields=["done_at", "version", "updated_at"])
    audit.record(actor=actor, action="inbox.done", obj=item)
    return item


def inbox_close_by_key(*, dedupe_key: str) -> int:
    """Close open items of every user with this key (the condition that caused them has cleared)."""
    return InboxItem.objects.filter(dedupe_key=dedupe_key, done_at__isnull=True).update(done_at=timezone.now())
