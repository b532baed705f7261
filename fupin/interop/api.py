"""The interop API: the event types a webhook can subscribe to, and the caller's subscriptions (county staff)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from fupin.interop import events, selectors, services

router = Router(tags=["interop"])


class EventTypeOut(Schema):
    code: str
    label: str


class SubscriptionOut(Schema):
    uuid: str
    name: str
    url: str
    event_types: list[str]
    area_prefix: str
    is_active: bool
    waiting: int
    failing: int


@router.get("/event-types", response=list[EventTypeOut])
def event_types(request):
    return [{"code": code, "label": label} for code, label in events.event_type_choices()]


@router.get("/webhooks", response=list[SubscriptionOut])
def subscriptions(request):
    if not services.may_manage(request.user):
        raise HttpError(403, _("Only county poverty office staff may view subscriptions"))
    return [{"uuid": str(s.uuid), "name": s.name, "url": s.url, "event_types": s.event_types,
             "area_prefix": s.area_prefix, "is_active": s.is_active, "waiting": s.waiting, "failing": s.failing}
            for s in selectors.subscriptions_for(request.user).order_by("name", "id")]
