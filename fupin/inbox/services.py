"""Posting to and closing inbox items. Other apps call `inbox_post`."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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
        raise ServiceError(_("You may handle only your own tasks"))
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


def inbox_post_many(items: list[dict]) -> int:
    """Post many items at once (set-based: one read of the open keys per 5,000, inserts in batches). Each item is
    a dict of inbox_post's fields with `user_id` for the user and `obj` optional; an item whose dedupe_key an open
    item of the same user already has (or an earlier item of the list) is left out, as inbox_post does. Returns the
    number posted."""
    keys = sorted({i["dedupe_key"] for i in items if i.get("dedupe_key")})
    taken: set[tuple[int, str]] = set()
    for start in range(0, len(keys), 5000):
        taken |= set(InboxItem.objects.filter(dedupe_key__in=keys[start:start + 5000], done_at__isnull=True)
                     .values_list("user_id", "dedupe_key"))
    rows = []
    for i in items:
        key = i.get("dedupe_key") or ""
        if key:
            if (i["user_id"], key) in taken:
                continue
            taken.add((i["user_id"], key))
        obj = i.get("obj")
        rows.append(InboxItem(
            user_id=i["user_id"], kind=i.get("kind", InboxItem.Kind.NOTICE), title=i["title"][:200],
            body=i.get("body", ""), url=i.get("url", ""), due_date=i.get("due_date"), dedupe_key=key,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            area_code=i.get("area_code") or (getattr(obj, "area_code", "") if obj is not None else "")))
    InboxItem.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def inbox_close_by_keys(*, dedupe_keys) -> int:
    """Close the open items of every user with any of these keys (set-based inbox_close_by_key)."""
    keys = sorted(set(dedupe_keys))
    closed, now = 0, timezone.now()
    for start in range(0, len(keys), 5000):
        closed += InboxItem.objects.filter(dedupe_key__in=keys[start:start + 5000], done_at__isnull=True).update(
            done_at=now)
    return closed
