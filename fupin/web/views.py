"""The home page and the division tree that narrows every page to one area."""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from fupin.core.models import Job
from fupin.geo.areas import Area, area_for_code, current_area, root_divisions, user_area
from fupin.geo.models import Division, Grid
from fupin.inbox.models import InboxItem
from fupin.web import selectors


@require_GET
def home(request):
    user = request.user
    area = current_area(request)
    counts = selectors.area_counts(user, area)
    towns = selectors.town_summary(user, area)
    inbox = list(InboxItem.objects.filter(user=user, done_at__isnull=True).order_by("due_date", "-created_at")[:6])
    jobs = list(Job.objects.filter(actor=user).order_by("-created_at")[:5])
    return render(request, "web/home.html", {
        "counts": counts, "towns": towns, "inbox": inbox, "jobs": jobs, "scope": area or user_area(user),
    })


def _tree_node(obj, *, expanded_codes: set[str], children: list | None = None) -> dict:
    is_grid = isinstance(obj, Grid)
    level = "grid" if is_grid else obj.level
    if is_grid:
        has_children = False
    elif level in ("village", "community"):
        has_children = getattr(obj, "n_grids", 1) > 0
    else:
        has_children = True
    return {"code": obj.code, "name": obj.name, "level": level, "has_children": has_children,
            "expanded": obj.code in expanded_codes, "children": children}


def _children(user, obj) -> list:
    """The children a user sees under a tree node: towns under a county, villages under a town, grids under a village."""
    if isinstance(obj, Grid):
        return []
    if obj.level in ("village", "community"):
        return list(Grid.objects.restrict(user).filter(village=obj).order_by("code"))
    return list(Division.objects.restrict(user).filter(parent=obj).annotate(n_grids=Count("grids")).order_by("code"))


def _ancestor_codes(code: str) -> list[str]:
    """Codes of the county, town and village above a division or grid code (by the code structure)."""
    out = [code[:6] + "0" * 6, code[:9] + "000"]
    if len(code) == 15:
        out.append(code[:12])
    return [c for c in out if c != code]


@require_GET
def tree(request):
    """The division tree (htmx partial). ?parent=<code> lists one node's children; without it, the user's roots with
    the path down to the current choice (?current=<code>) opened."""
    here = request.GET.get("here", "/")
    if not url_has_allowed_host_and_scheme(here, allowed_hosts={request.get_host()}) or not here.startswith("/"):
        here = "/"
    user = request.user
    parent_code = request.GET.get("parent", "")
    current = request.GET.get("current", "")
    if parent_code:
        parent = area_for_code(user, parent_code)
        objs = _children(user, parent.obj) if parent else []
        nodes = [_tree_node(o, expanded_codes=set()) for o in objs]
        return render(request, "web/_tree_nodes.html", {"nodes": nodes, "here": here, "current": current})

    chosen: Area | None = area_for_code(user, current) if current else None
    expanded = {*_ancestor_codes(chosen.code), chosen.code} if chosen else set()
    roots = root_divisions(user)
    if roots:
        expanded.update(r.code for r in roots)  # the roots are always open

    def build(obj, depth: int = 0) -> dict:
        kids = None
        if obj.code in expanded and depth < 4:
            kids = [build(c, depth + 1) for c in _children(user, obj)]
        return _tree_node(obj, expanded_codes=expanded, children=kids)

    nodes = [build(r) for r in roots]
    return render(request, "web/_tree_nodes.html", {"nodes": nodes, "here": here, "current": current, "root": True})
