"""The places a page can be narrowed to (a division or a grid) and the user's own; every app's pages use these.

- `current_area(request)`: the division or grid chosen in the division tree (`?division=<code>`, a 12-digit division
  code or a 15-digit grid code), or None. A code outside the user's jurisdiction is ignored, never honoured.
- `filter_area(qs, request, field=None)`: `qs` narrowed to the chosen area, on the model's `scope_field` (or `field`).
  It narrows, it never widens: call it on a queryset that is already `.restrict(request.user)`.
- `user_area(user)`: the user's own jurisdiction as an `Area` (None for a user bound to nothing).
- `root_divisions(user)`: the top of the division tree the user sees.

Example, a list view of another app::

    qs = filter_area(Household.objects.restrict(request.user), request)
    return render(request, "registry/list.html", {"page_obj": paginate(request, qs)})
"""

from __future__ import annotations

from dataclasses import dataclass

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
