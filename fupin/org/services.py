"""Writes of departments and command units; each change is audited."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.org.models import CommandUnit, Department


@transaction.atomic
def department_create(*, actor, code: str, name: str, short_name: str = "", description: str = "",
                      order: int = 0) -> Department:
    if Department.objects.filter(code=code).exists():
        raise ServiceError(_("Duplicate department code: %(code)s exists") % {"code": code}, field="code")
    department = Department(code=code, name=name, short_name=short_name or name, description=description, order=order)
    department.full_clean()
    department.save()
    audit.record(actor=actor, action="org.department.create", obj=department, after=audit.snapshot(department))
    return department


@transaction.atomic
def department_set_head(*, actor, department: Department, head) -> Department:
    before = audit.snapshot(department)
    department.head = head
    department.version += 1
    department.save(update_fields=["head", "version", "updated_at"])
    audit.record(actor=actor, action="org.department.update", obj=department, before=before,
                 after=audit.snapshot(department))
    return department


@transaction.atomic
def command_unit_create(*, actor, kind: str, name: str, division, parent: CommandUnit | None = None,
                        phone: str = "") -> CommandUnit:
    if kind not in CommandUnit.Kind.values:
        raise ServiceError(_("Unknown organisation type: %(kind)s") % {"kind": kind}, field="kind")
    unit = CommandUnit.objects.create(kind=kind, name=name, division=division, area_code=division.code, parent=parent,
                                      phone=phone)
    audit.record(actor=actor, action="org.commandunit.create", obj=unit, after=audit.snapshot(unit))
    return unit
