"""Choices for the forms that ask for a village or a grid: only what lies in the user's jurisdiction, grouped by the
level above (villages by town, grids by village), so nobody has to type a 12- or 15-digit code.

    village = forms.ChoiceField(choices=village_choices(user), required=False)
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.geo.models import Division, Grid

EMPTY = ("", "—")


def village_choices(user, *, empty: tuple = EMPTY) -> list:
    """Villages and communities the user may see: [("", "—"), (town name, [(code, name), ...]), ...]."""
    rows = (Division.objects.restrict(user).filter(level__in=("village", "community"))
            .select_related("parent").only("code", "name", "parent__name").order_by("code"))
    return [empty, *_grouped((d.parent.name if d.parent_id else "", d.code, d.name) for d in rows)]


def grid_choices(user, *, empty: tuple = EMPTY) -> list:
    """Grids the user may see: [("", "—"), (village name, [(code, grid name), ...]), ...]."""
    rows = Grid.objects.restrict(user).select_related("village").only("code", "name", "village__name").order_by("code")
    return [empty, *_grouped((g.village.name, g.code, g.name) for g in rows)]


def division_choices(user, *, empty: tuple = ("", _("All"))) -> list:
    """Divisions the user may see, county to village, each named with its level ("甲镇(乡镇)")."""
    rows = Division.objects.restrict(user).only("code", "name", "level").order_by("code")
    return [empty, *((d.code, f"{d.name}({d.get_level_display()})") for d in rows)]


def _grouped(rows) -> list:
    groups: dict[str, list] = {}
    for group, code, name in rows:
        groups.setdefault(group, []).append((code, name))
    return list(groups.items())
