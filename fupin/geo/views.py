"""Pages of the grid network: divisions, grids (with their post holders and terminals) and grid staff.

Every read is restricted to the user's jurisdiction; an object outside it is a 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fupin.core.errors import ServiceError
from fupin.core.pages import capability_required, object_history, paginate, run_service
from fupin.geo import selectors, services
from fupin.geo.areas import current_area, filter_area, user_area
from fupin.geo.choices import Post
from fupin.geo.models import Division, Grid, GridPost
from fupin.org.models import CommandUnit


class PostAssignForm(forms.Form):
    post = forms.ChoiceField(label=gettext_lazy("Post"), choices=Post.choices)
    user = forms.ModelChoiceField(label=gettext_lazy("New holder"), queryset=get_user_model().objects.none())
    start = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args, viewer, grid, **kwargs):
        kwargs.setdefault("initial", {"start": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = selectors.post_candidates(viewer, grid)
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.display_name or u.username} ({u.get_role_display() or u.username})")


def _division_or_404(request, code) -> Division:
    division = Division.objects.restrict(request.user).select_related("parent").filter(code=code).first()
    if division is None:
        raise Http404
    return division


def _grid_or_404(request, code) -> Grid:
    grid = Grid.objects.restrict(request.user).select_related("village", "village__parent").filter(code=code).first()
    if grid is None:
        raise Http404
    return grid


def ancestors(user, code: str) -> list[Division]:
    """The county, town (and village, for a grid code) above a code that the user may see, top first."""
    codes = {code[:6] + "0" * 6, code[:9] + "000", code[:12]} - {code}
    return list(Division.objects.restrict(user).filter(code__in=codes).order_by("code"))


def division_index(request):
    """The network from the user's jurisdiction (or the area chosen in the tree) down, with counts."""
    area = current_area(request) or user_area(request.user)
    if area is not None and area.level == "grid":
        return redirect(area.url)
    prefix = area.prefix if area is not None else ""
    rows = selectors.network_table(request.user, prefix=prefix)
    totals = {k: sum(r[k] for r in rows if not r["is_group"]) for k in ("grids", "households", "poor", "unassigned")}
    totals["villages"] = sum(1 for r in rows if not r["is_group"])
    return render(request, "geo/division_index.html", {"rows": rows, "totals": totals, "scope": area})


def division_detail(request, code):
    division = _division_or_404(request, code)
    user = request.user
    is_village = division.level in selectors.VILLAGE_LEVELS
    context = {"division": division, "is_village": is_village}
    if is_village:
        grids = selectors.with_holders(
            Grid.objects.restrict(user).filter(village=division)
            .prefetch_related(selectors.current_posts_prefetch(user), selectors.terminals_prefetch(user))
            .order_by("code"))
        counts = selectors.household_counts_by_grid(user, [g.pk for g in grids])
        for g in grids:
            g.counts = counts.get(g.pk, {"households": 0, "poor": 0})
        context["grids"] = grids
        context["counts"] = selectors.household_counts_by_village(user, [division.pk]).get(
            division.pk, {"households": 0, "poor": 0, "unassigned": 0})
    else:
        context["children"] = selectors.child_rows(user, division)
    context.update({
        "ancestors": ancestors(user, division.code),
        "units": CommandUnit.objects.restrict(user).filter(division=division).select_related("parent"),
        "staff": get_user_model().objects.restrict(user).filter(division=division, grid__isnull=True)
        .select_related("department").order_by("role", "username"),
        "events": object_history(division),
    })
    return render(request, "geo/division_detail.html", context)


@require_POST
@capability_required("manage_geo")
def assign_households(request, code):
    """Assign the village's unassigned (待分配网格) households to grids by their location."""
    division = _division_or_404(request, code)
    if division.level not in selectors.VILLAGE_LEVELS:
        raise Http404
    run_service(request, lambda: services.households_assign_grid(actor=request.user, village=division, by="location"),
                lambda result: _("%(assigned)s households were assigned to grids by location; %(left)s remain "
                                 "unassigned.") % {"assigned": result["assigned"], "left": result["unassigned_left"]})
    return redirect(division.get_absolute_url())


def grid_list(request):
    vacant = request.GET.get("vacant", "")
    q = request.GET.get("q", "").strip()
    qs = filter_area(selectors.grid_list(request.user, vacant=vacant, q=q), request)
    qs = qs.prefetch_related(selectors.current_posts_prefetch(request.user), selectors.terminals_prefetch(request.user))
    page = paginate(request, qs, per_page=50)
    grids = selectors.with_holders(page.object_list)
    counts = selectors.household_counts_by_grid(request.user, [g.pk for g in grids])
    for g in grids:
        g.counts = counts.get(g.pk, {"households": 0, "poor": 0})
    return render(request, "geo/grid_list.html", {
        "page_obj": page, "grids": grids, "vacant": vacant, "q": q, "posts": Post.choices,
    })


def grid_detail(request, code):
    grid = _grid_or_404(request, code)
    user = request.user
    posts = list(GridPost.objects.restrict(user).filter(grid=grid).select_related("user")
                 .order_by("post", "-start_date", "-id"))
    current = {p.post: p for p in posts if p.end_date is None}
    form = None
    if user.can("manage_geo"):
        form = PostAssignForm(viewer=user, grid=grid)
    return _render_grid(request, grid, posts, current, form)


def _render_grid(request, grid, posts, current, form, status=200):
    user = request.user
    counts = selectors.household_counts_by_grid(user, [grid.pk]).get(grid.pk, {"households": 0, "poor": 0})
    return render(request, "geo/grid_detail.html", {
        "grid": grid, "ancestors": ancestors(user, grid.code), "posts": posts, "form": form, "counts": counts,
        "current": [(value, label, current.get(value)) for value, label in Post.choices],
        "terminals": grid.terminals.select_related("holder").order_by("device_id"),
        "events": selectors.grid_history(grid),
    }, status=status)


@require_POST
@capability_required("manage_geo")
def grid_assign_post(request, code):
    grid = _grid_or_404(request, code)
    form = PostAssignForm(request.POST, viewer=request.user, grid=grid)
    if form.is_valid():
        try:
            gp = services.grid_assign_post(actor=request.user, grid=grid, post=form.cleaned_data["post"],
                                           user=form.cleaned_data["user"], start=form.cleaned_data["start"],
                                           note=form.cleaned_data["note"])
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("%(user)s now holds the post %(post)s.") % {
                "user": gp.user, "post": gp.get_post_display()})
            return redirect(grid.get_absolute_url())
    posts = list(GridPost.objects.restrict(request.user).filter(grid=grid).select_related("user")
                 .order_by("post", "-start_date", "-id"))
    current = {p.post: p for p in posts if p.end_date is None}
    return _render_grid(request, grid, posts, current, form, status=400)


def staff(request):
    """Grid staff by post: the current grid workers and information officers."""
    area = current_area(request)
    prefix = area.prefix if area else ""
    post = request.GET.get("post", "")
    qs = selectors.staff_by_post(request.user, prefix=prefix, post=post)
    return render(request, "geo/staff.html", {
        "page_obj": paginate(request, qs, per_page=100), "post": post, "posts": Post.choices,
        "summary": selectors.post_summary(request.user, prefix=prefix),
    })
