"""Recording audit events. Services call `record` inside their transaction; bulk writes call it once per batch.

Every recorded event is also announced to the registered change listeners (`change_listener`), inside the same
transaction: this is how a capability hears every change without each service calling it (the interop app writes
its webhook outbox here). A bulk write that records no event per object (the nightly light recompute, a comparison
run) announces its per-object changes itself with `announce`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict

from fupin.core import audit_chain, extensions
from fupin.core.models import AuditEvent, Batch

_SKIP = {"created_at", "updated_at"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):  # a stored file is audited by its name
        return value.name or ""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _redact(value: Any) -> Any:
    """The audit trail keeps no copy of a field kept encrypted (fupin/core/fields.py): its value is replaced by a keyed
    fingerprint, so a change still shows (the fingerprints differ) without the value."""
    from fupin.core.fields import ENCRYPTED_NAMES

    if isinstance(value, dict):
        return {k: (_fingerprint(v) if k in ENCRYPTED_NAMES and v not in ("", None, []) else _redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


FINGERPRINT = "[加密 "  # how a sealed field's value is kept in an event: "[加密 <12 hex digits of its keyed index>]"


def is_fingerprint(value: Any) -> bool:
    """Whether an event's value is a sealed field's fingerprint (a code, not words: shown as it is)."""
    return isinstance(value, str) and value.startswith(FINGERPRINT) and value.endswith("]")


def _fingerprint(value: Any) -> str:
    import json

    from fupin.core import crypto

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return FINGERPRINT + crypto.blind_index(text, "audit").split("$", 1)[1][:12] + "]"


def snapshot(obj: models.Model | None) -> dict | None:
    """The audited state of an object: its concrete fields, JSON-safe."""
    if obj is None:
        return None
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in _SKIP:
            continue
        value = _jsonable(getattr(obj, f.attname))
        if getattr(f, "encrypted", False) and value not in ("", None, [], {}):
            value = _fingerprint(value)  # a sealed field, whatever its name (fupin/core/fields.py: audit_name)
        data[f.attname if f.is_relation else f.name] = value
    return data


@dataclass(frozen=True)
class Change:
    """One change as the listeners see it: the audit event's fields (JSON-safe before/after)."""

    action: str
    object_type: str
    object_id: str
    area_code: str = ""
    object_uuid: str = ""
    object_repr: str = ""
    before: dict | None = None
    after: dict | None = None
    actor_name: str = ""
    note: str = ""


ChangeListener = Callable[[list[Change]], None]


def change_listener(fn: ChangeListener) -> ChangeListener:
    """Register fn(changes), called inside the writing transaction for every audited or announced change (the call
    form of `extensions.register(extensions.ChangeListener(fn=fn))`).

    A listener that raises makes the change fail (its transaction rolls back): it must be as reliable as the audit.
    """
    extensions.register(extensions.ChangeListener(fn=fn))
    return fn


def _listeners() -> list[ChangeListener]:
    return [r.fn for r in extensions.registered("core.change_listener")]


def has_listeners() -> bool:
    return bool(_listeners())


def announce(changes: Iterable[Change]) -> None:
    """Tell the listeners about changes that a bulk write made without one audit event each (call inside its
    transaction)."""
    batch = list(changes)
    if batch:
        for fn in _listeners():
            fn(batch)


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    area_code: str = "",
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    batch: Batch | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        area_code = area_code or getattr(obj, "area_code", "") or ""
    if len(object_id) > 64:  # SQLite would keep it, PostgreSQL refuses it: fail the same way on both
        raise ValueError(f"audit object_id longer than 64 characters ({action}); name the objects in `after`")
    actor_obj = actor if getattr(actor, "pk", None) else None
    event = AuditEvent.objects.create(
        actor=actor_obj,
        actor_name=(actor.get_username() if actor_obj else str(actor or "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        area_code=area_code or "",
        before=_redact(_jsonable(before)),
        after=_redact(_jsonable(after)),
        note=note,
        batch=batch,
    )
    if has_listeners():
        announce([Change(action=action, object_type=event.object_type, object_id=event.object_id,
                         area_code=event.area_code, object_uuid=str(getattr(obj, "uuid", "") or ""),
                         object_repr=event.object_repr, before=event.before, after=event.after,
                         actor_name=event.actor_name, note=note)])
    audit_chain.schedule_seal()
    return event


def history_for(obj: models.Model):
    """Audit events of one object, newest first."""
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related("actor")


__all__ = ["Change", "announce", "change_listener", "has_listeners", "history_for", "model_to_dict", "record",
           "snapshot"]
