"""Departments (reference data every user may read) and command units (scoped to the user's jurisdiction)."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render

from fupin.accounts.selectors import visible_users
from fupin.core.pages import paginate
from fupin.geo.areas import filter_area
from fupin.org.models import CommandUnit, Department


def _visible_staff(viewer):
    return visible_users(viewer).select_related("division", "grid").order_by("role", "username")


def department_list(request):
    departments = list(Department.objects.restrict(request.user).select_related("head").order_by("order", "code"))
    counts = dict(_visible_staff(request.user).order_by().filter(department__isnull=False).values_list("department")
                  .annotate(n=Count("id")).values_list("department", "n"))
    for d in departments:
        d.n_staff = counts.get(d.pk, 0)
    return render(request, "org/department_list.html", {"departments": departments})


def department_detail(request, code):
    department = get_object_or_404(Department.objects.restrict(request.user).select_related("head"), code=code)
    staff = _visible_staff(request.user).filter(department=department)
    return render(request, "org/department_detail.html", {"department": department, "staff": staff})


def unit_list(request):
    qs = filter_area(CommandUnit.objects.restrict(request.user), request).select_related("division", "parent")
    kind = request.GET.get("kind", "")
    if kind in CommandUnit.Kind.values:
        qs = qs.filter(kind=kind)
    qs = qs.prefetch_related(Prefetch("staff", queryset=_visible_staff(request.user), to_attr="visible_staff"))
    return render(request, "org/unit_list.html", {
        "page_obj": paginate(request, qs.order_by("area_code", "kind"), per_page=60),
        "kinds": CommandUnit.Kind.choices, "kind": kind,
    })


def unit_detail(request, pk):
    unit = get_object_or_404(CommandUnit.objects.restrict(request.user).select_related("division", "parent"), pk=pk)
    children = CommandUnit.objects.restrict(request.user).filter(parent=unit).select_related("division")
    staff = _visible_staff(request.user).filter(command_unit=unit)
    parent_visible = unit.parent_id and CommandUnit.objects.restrict(request.user).filter(pk=unit.parent_id).exists()
    return render(request, "org/unit_detail.html", {"unit": unit, "children": children, "staff": staff,
                                                    "parent_visible": parent_visible})
