"""The event types other systems can subscribe to, and the change listener that writes them to the outbox.

Every audited change reaches `_on_changes` (registered with `fupin.core.audit.change_listener`) inside its own
transaction. Each registered event type says which changes it is made of; a change of a subscribed type becomes one
`Event` row and one `Delivery` row per matching subscription, so the outbox commits (or rolls back) with the change
itself. Event types are the extension point "interop.event_type" (fupin/core/extensions.py): the built-in ones
below are registered by this app's hooks, and another capability adds its own in its hooks, e.g.::

    ext.register(ext.EventType(code="loan.overdue", label=_("loan overdue"), actions={"funds.loan.overdue"}))
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fupin.core import extensions as ext
from fupin.core.audit import Change
from fupin.core.extensions import EventType

# values of an object's state that travel in the payload; everything else is fetched through the API
SAFE_VALUES = ("status", "poverty_status", "colour", "state", "escalation_level", "rule_code", "source_code",
               "household_id", "occurred_on", "way", "category", "channel")


def event_types() -> list[EventType]:
    return ext.registered("interop.event_type")


def event_type_choices() -> list[tuple[str, str]]:
    return [(t.code, str(t.label)) for t in event_types()]


def label_of(code: str) -> str:
    t = ext.lookup("interop.event_type", code)
    return str(t.label) if t else code


# -- the built-in types ----------------------------------------------------------------------------------------

def _exited_statuses() -> tuple[str, ...]:
    return tuple(getattr(settings, "FUPIN_ASSISTANCE", {}).get("exited_statuses", ["1", "4"]))


def _exited(change: Change) -> bool:
    before, after = change.before or {}, change.after or {}
    out = _exited_statuses()
    return "poverty_status" in after and after.get("poverty_status") in out and before.get("poverty_status") not in out


def _state_changed(change: Change) -> bool:
    if change.action == "dispatch.workorder.create":
        return True
    return (change.before or {}).get("state") != (change.after or {}).get("state")


def _household_of_member(change: Change) -> tuple[str, str]:
    hid = (change.after or {}).get("household_id") or (change.before or {}).get("household_id")
    return "registry.household", str(hid or "")


HOUSEHOLD_CHANGES = {"registry.household.update", "registry.household.head", "registry.household.merge",
                     "registry.household.merge_target", "registry.household.split_source"}

# registered by fupin/interop/hooks.py, in this order on the pages
BUILT_IN: tuple[EventType, ...] = tuple(
    EventType(order=i, **kw) for i, kw in enumerate([
        {"code": "household.created", "label": _("household created"),
         "actions": {"registry.household.create", "registry.household.split"}},
        {"code": "household.changed", "label": _("household changed"), "actions": HOUSEHOLD_CHANGES},
        {"code": "household.member_changed", "label": _("household member changed"),
         "actions": {"registry.person.update"}, "prefixes": ("registry.member.",), "subject": _household_of_member},
        {"code": "household.exited", "label": _("household exited poverty"), "actions": {"registry.household.update"},
         "when": _exited},
        {"code": "visit.recorded", "label": _("visit recorded"), "actions": {"assistance.record.create"}},
        {"code": "light.changed", "label": _("warning light changed colour"), "actions": {"assistance.light.colour"}},
        {"code": "finding.opened", "label": _("finding opened"), "actions": {"eligibility.finding.open"}},
        {"code": "finding.closed", "label": _("finding closed"),
         "actions": {"eligibility.finding.confirm", "eligibility.finding.dismiss", "eligibility.finding.correct",
                     "eligibility.finding.clear"}},
        {"code": "work_order.state_changed", "label": _("work order state changed"),
         "prefixes": ("dispatch.workorder.",), "when": _state_changed},
        {"code": "minqing.filed", "label": _("public opinion filed"), "actions": {"dispatch.minqingreport.create"}},
        {"code": "minqing.answered", "label": _("public opinion answered"),
         "actions": {"dispatch.minqingreport.answer"}},
    ], start=1)
)


# -- the listener -------------------------------------------------------------------------------------------------

def _payload(et: EventType, change: Change, object_type: str, object_id: str, event_uuid: str, at) -> dict:
    before, after = change.before or {}, change.after or {}
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)) if before else []
    values = {k: after[k] for k in SAFE_VALUES if k in after}
    if et.subject is not None:
        values["member_id"] = change.object_id
    return {"id": event_uuid, "type": et.code, "occurred_at": at.isoformat(),
            "object": {"type": object_type, "id": object_id, "uuid": change.object_uuid if object_type ==
                       change.object_type else ""},
            "area_code": change.area_code, "action": change.action, "changed": changed, "values": values}


def on_changes(changes: list[Change]) -> None:
    """The change listener: subscribed changes become outbox rows in the writing transaction."""
    import uuid as uuidlib

    from fupin.interop.models import Delivery, Event, Subscription

    types = event_types()  # once for the batch (a compare announces 86,925 findings at 10x), not once a change
    wanted = [(et, c) for c in changes for et in types if et.matches(c)]
    if not wanted:
        return
    codes = {et.code for et, _ in wanted}
    subs = [s for s in Subscription.objects.filter(is_active=True).only("pk", "event_types", "area_prefix")
            if codes & set(s.event_types or [])]
    if not subs:
        return
    now = timezone.now()
    events, targets = [], []
    for et, change in wanted:
        object_type, object_id = et.subject(change) if et.subject else (change.object_type, change.object_id)
        to = [s for s in subs if et.code in s.event_types and change.area_code.startswith(s.area_prefix)]
        if not to:
            continue
        eid = str(uuidlib.uuid4())
        events.append(Event(uuid=eid, event_type=et.code, object_type=object_type, object_id=object_id,
                            area_code=change.area_code, occurred_at=now,
                            payload=_payload(et, change, object_type, object_id, eid, now)))
        targets.append(to)
    if not events:
        return
    created = Event.objects.bulk_create(events, batch_size=500)
    if any(e.pk is None for e in created):  # SQLite before 3.35 does not return ids
        by_uuid = dict(Event.objects.filter(uuid__in=[e.uuid for e in events]).values_list("uuid", "pk"))
        for e in created:
            e.pk = by_uuid[e.uuid]
    Delivery.objects.bulk_create([
        Delivery(subscription_id=s.pk, event_id=e.pk, ordering_key=f"{e.object_type}:{e.object_id}",
                 area_code=e.area_code, next_attempt_at=now)
        for e, to in zip(created, targets, strict=True) for s in to], batch_size=500)
    from fupin.interop import delivery

    delivery.schedule()
