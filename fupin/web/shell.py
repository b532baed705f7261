"""What the pages of every app use. Other apps import these; keep the names and behaviour stable.

- `current_area(request)`: the division or grid chosen in the division tree (`?division=<code>`, a 12-digit division
  code or a 15-digit grid code), or None. A code outside the user's jurisdiction is ignored, never honoured.
- `filter_area(qs, request, field=None)`: `qs` narrowed to the chosen area, on the model's `scope_field` (or `field`).
  It narrows, it never widens: call it on a queryset that is already `.restrict(request.user)`.
- `user_area(user)`: the user's own jurisdiction as an `Area` (None for a user bound to nothing).
- `paginate(request, qs, per_page=50)`: a Page; templates render `{% include "web/_pagination.html" %}`.
- `capability_required("manage_geo")`: a view decorator that answers 403 unless `request.user.can(capability)`.
- `is_htmx(request)`: the request comes from htmx (answer with a partial).
- `object_history(obj, limit=50)`: the audit events of one object for `core/_history.html`, newest first, with the
  event of the bulk write (import, seeding) that created or last changed it.

Example, a list view of another app::

    qs = filter_area(Household.objects.restrict(request.user), request)
    return render(request, "registry/list.html", {"page_obj": paginate(request, qs)})
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.utils.translation import gettext_lazy as _

from fupin.core.scoping import PREFIX_LENGTH
from fupin.geo.models import Division, Grid

LEVEL_LABELS = {
    "province": _("province"),
    "city": _("prefecture"),
    "county": _("county"),
    "town": _("town"),
    "village": _("village"),
    "community": _("community"),
    "grid": _("grid"),
}


@dataclass(frozen=True)
class Area:
    """A place a page can be narrowed to: a division or a grid."""

    code: str
    name: str
    level: str
    obj: Division | Grid

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH.get(self.level, len(self.code))]

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS.get(self.level, self.level))

    @property
    def url(self) -> str:
        return self.obj.get_absolute_url()

    @classmethod
    def of(cls, obj: Division | Grid) -> Area:
        level = "grid" if isinstance(obj, Grid) else obj.level
        return cls(code=obj.code, name=obj.name, level=level, obj=obj)


def area_for_code(user, code: str) -> Area | None:
    """The division or grid with this code if `user` may see it."""
    code = (code or "").strip()
    if not code.isdigit():
        return None
    if len(code) == 15:
        obj = Grid.objects.restrict(user).select_related("village").filter(code=code).first()
    elif len(code) == 12:
        obj = Division.objects.restrict(user).filter(code=code).first()
    else:
        return None
    return Area.of(obj) if obj is not None else None


def current_area(request) -> Area | None:
    """The area chosen with ?division=<code> (cached on the request); None when none or not the user's to see."""
    if not hasattr(request, "_fupin_area"):
        code = request.GET.get("division", "")
        request._fupin_area = area_for_code(request.user, code) if code else None
    return request._fupin_area


def filter_area(qs, request, field: str | None = None):
    """Narrow an already restricted queryset to the chosen area (see module docstring)."""
    area = current_area(request)
    if area is None:
        return qs
    field = field or getattr(qs.model, "scope_field", None) or "area_code"
    return qs.filter(**{f"{field}__startswith": area.prefix})


def user_area(user) -> Area | None:
    """The user's jurisdiction: their grid, else their division; None for a superuser or a user bound to nothing."""
    if getattr(user, "grid_id", None):
        return Area.of(user.grid)
    if getattr(user, "division_id", None):
        return Area.of(user.division)
    return None


def root_divisions(user) -> list[Division | Grid]:
    """The top of the tree a user sees: the county for a superuser, else the user's own division or grid."""
    if user.is_superuser:
        return list(Division.objects.filter(parent__isnull=True).order_by("code"))
    area = user_area(user)
    return [area.obj] if area else []


def object_history(obj, *, limit: int = 50, extra=None) -> list:
    """Audit events of `obj` (and of `extra`, a Q over AuditEvent), plus its batch's event, newest first."""
    from django.db.models import Q

    from fupin.core.models import AuditEvent

    q = Q(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    if extra is not None:
        q |= extra
    batch_id = getattr(obj, "batch_id", None)
    if batch_id:
        q |= Q(object_type="core.batch", object_id=str(batch_id))
    return list(AuditEvent.objects.filter(q).select_related("actor").order_by("-at", "-id")[:limit])


def paginate(request, qs, per_page: int = 50) -> Page:
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def capability_required(capability: str):
    """403 unless the signed-in user has the capability (see fupin.accounts.choices.ROLE_CAPABILITIES)."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated or not request.user.can(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return deco


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"
