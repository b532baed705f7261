"""Writes of the interop app: webhook subscriptions and deliveries, test messages, the national system's feedback
and dynamic-adjustment submissions. Keyword-only, taking `actor`, atomic, audited."""

from __future__ import annotations

import uuid as uuidlib

from django.db import transaction
from django.utils import timezone

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.scoping import scope_prefix
from fupin.interop import delivery, events, signing
from fupin.interop.choices import DeliveryStatus
from fupin.interop.models import Delivery, Event, Subscription


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def may_manage(user) -> bool:
    """County staff manage connections: the county-approval capability over the whole county (or a superuser)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    prefix = scope_prefix(user)
    return user.can("approve_county") and prefix is not None and len(prefix) <= 6


def _check(actor) -> None:
    user = _user(actor)
    if user is not None and not may_manage(user):
        raise ServiceError("只有县级扶贫办工作人员可以管理对外连接")


def _clean(name: str, url: str, types: list[str], area_prefix: str) -> tuple[str, str, list[str]]:
    name, url = (name or "").strip(), (url or "").strip()
    if not name:
        raise ServiceError("请填写订阅名称", field="name")
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise ServiceError("接收地址必须以 http:// 或 https:// 开头", field="url")
    known = {t.code for t in events.event_types()}
    unknown = [t for t in types if t not in known]
    if unknown:
        raise ServiceError(f"未知的事件类型:{'、'.join(unknown)}", field="event_types")
    if not types:
        raise ServiceError("请至少选择一种事件", field="event_types")
    if not area_prefix.isdigit():
        raise ServiceError("管辖范围必须是区划代码", field="area_prefix")
    return name, url, sorted(set(types))


@transaction.atomic
def subscription_create(*, actor, name: str, url: str, event_types: list[str], area_prefix: str,
                        secret: str = "") -> Subscription:
    """A new subscription; its secret is generated unless given (the receiver needs it to verify signatures)."""
    _check(actor)
    user = _user(actor)
    if user is not None and not user.is_superuser and not area_prefix.startswith(scope_prefix(user) or "-"):
        raise ServiceError("管辖范围超出您的权限", field="area_prefix")
    name, url, types = _clean(name, url, event_types, area_prefix)
    sub = Subscription.objects.create(name=name[:100], url=url, secret=secret or signing.new_secret(),
                                      event_types=types, area_prefix=area_prefix, created_by=user)
    audit.record(actor=actor, action="interop.subscription.create", obj=sub, area_code=area_prefix,
                 after={"name": sub.name, "url": url, "event_types": types, "area_prefix": area_prefix})
    return sub


@transaction.atomic
def subscription_update(*, actor, subscription: Subscription, name: str, url: str, event_types: list[str],
                        is_active: bool) -> Subscription:
    _check(actor)
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    name, url, types = _clean(name, url, event_types, sub.area_prefix)
    before = {"name": sub.name, "url": sub.url, "event_types": sub.event_types, "is_active": sub.is_active}
    sub.name, sub.url, sub.event_types, sub.is_active = name[:100], url, types, is_active
    sub.version += 1
    sub.save()
    audit.record(actor=actor, action="interop.subscription.update", obj=sub, area_code=sub.area_prefix,
                 before=before, after={"name": sub.name, "url": url, "event_types": types, "is_active": is_active})
    return sub


@transaction.atomic
def subscription_rotate_secret(*, actor, subscription: Subscription) -> Subscription:
    _check(actor)
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    sub.secret = signing.new_secret()
    sub.version += 1
    sub.save(update_fields=["secret", "version", "updated_at"])
    audit.record(actor=actor, action="interop.subscription.secret", obj=sub, area_code=sub.area_prefix,
                 note="签名密钥已更换")
    return sub


@transaction.atomic
def delivery_resend(*, actor, delivery_obj: Delivery) -> Delivery:
    """Send a delivery again by hand (a parked one, or a delivered one the receiver lost): same event id, a new
    day of retries."""
    _check(actor)
    d = Delivery.objects.select_for_update().get(pk=delivery_obj.pk)
    if d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise ServiceError("该推送正在等待发送,无需重发")
    before = {"status": d.status, "attempts": d.attempts}
    d.status, d.next_attempt_at, d.first_attempt_at = DeliveryStatus.PENDING, timezone.now(), None
    d.claim, d.leased_until = "", None
    d.save(update_fields=["status", "next_attempt_at", "first_attempt_at", "claim", "leased_until"])
    audit.record(actor=actor, action="interop.delivery.resend", object_type="interop.delivery", object_id=str(d.pk),
                 object_repr=f"{d.subscription.name} · {d.event.event_type}", area_code=d.area_code,
                 before=before, after={"status": d.status})
    delivery.schedule()
    return d


@transaction.atomic
def subscription_test(*, actor, subscription: Subscription) -> Delivery:
    """Queue a test event ("ping") to this subscription only; the worker delivers it like any other."""
    _check(actor)
    now = timezone.now()
    eid = str(uuidlib.uuid4())
    event = Event.objects.create(
        uuid=eid, event_type="ping", object_type="interop.subscription", object_id=str(subscription.pk),
        area_code=subscription.area_prefix, occurred_at=now,
        payload={"id": eid, "type": "ping", "occurred_at": now.isoformat(),
                 "object": {"type": "interop.subscription", "id": str(subscription.pk),
                            "uuid": str(subscription.uuid)},
                 "area_code": subscription.area_prefix, "action": "interop.subscription.test", "changed": [],
                 "values": {}})
    d = Delivery.objects.create(subscription=subscription, event=event, ordering_key=f"ping:{eid}",
                                area_code=subscription.area_prefix, next_attempt_at=now)
    audit.record(actor=actor, action="interop.subscription.test", obj=subscription, area_code=subscription.area_prefix)
    delivery.schedule()
    return d
