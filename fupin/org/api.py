"""Departments and command units."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.org.models import CommandUnit, Department

router = Router(tags=["org"])


class DepartmentOut(Schema):
    code: str
    name: str
    short_name: str
    is_active: bool


class CommandUnitOut(Schema):
    id: int
    kind: str
    name: str
    division: str


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request):
    return list(Department.objects.restrict(request.user))


@router.get("/departments/{code}", response=DepartmentOut)
def get_department(request, code: str):
    return get_object_or_404(Department.objects.restrict(request.user), code=code)


@router.get("/units", response=list[CommandUnitOut])
def list_units(request):
    return [{"id": u.pk, "kind": u.kind, "name": u.name, "division": u.division.code}
            for u in CommandUnit.objects.restrict(request.user).select_related("division")]
