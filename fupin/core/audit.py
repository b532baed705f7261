"""Recording audit events. Services call `record` inside their transaction; bulk writes call it once per batch."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict

from fupin.core import audit_chain
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


def snapshot(obj: models.Model | None) -> dict | None:
    """The audited state of an object: its concrete fields, JSON-safe."""
    if obj is None:
        return None
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in _SKIP:
            continue
        data[f.attname if f.is_relation else f.name] = _jsonable(getattr(obj, f.attname))
    return data


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
    actor_obj = actor if getattr(actor, "pk", None) else None
    event = AuditEvent.objects.create(
        actor=actor_obj,
        actor_name=(actor.get_username() if actor_obj else str(actor or "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        area_code=area_code or "",
        before=_jsonable(before),
        after=_jsonable(after),
        note=note,
        batch=batch,
    )
    audit_chain.schedule_seal()
    return event


def history_for(obj: models.Model):
    """Audit events of one object, newest first."""
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related("actor")


__all__ = ["history_for", "model_to_dict", "record", "snapshot"]
