"""Dashboard pages: the figures of the chosen area (`?division=<code>`, a division or a grid), their xlsx export and
the leader's printable summary. Every figure comes from the snapshot; nothing here aggregates the registry.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fupin.core.pages import capability_required, file_response
from fupin.core.services import job_create
from fupin.dashboards import exports, selectors
from fupin.dashboards.pagejson import script_json
from fupin.geo.areas import Area, current_area


def _area(request) -> Area | None:
    """The chosen area, else the user's own; a code the user may not see is an error, not a silent fallback."""
    code = request.GET.get("division", "")
    area = current_area(request)
    if code and area is None:
        raise Http404(_("No such area in your jurisdiction"))
    return area or selectors.default_area(request.user)


def _file_dashboard(request) -> tuple[Area, selectors.Dashboard]:
    """The area and its dashboard for a file of it (the workbook, the leader summary): no area is a 404."""
    area = _area(request)
    if area is None:
        raise Http404
    return area, selectors.dashboard(request.user, area)


def chart_specs(data: selectors.Dashboard) -> dict:
    """What dashboard.js draws: each charted figure's items, and the children's households by status."""
    figs = {}
    for section in data.sections:
        for v in section.charts:
            if v.chart in ("bar", "hbar", "pie", "line"):
                figs[v.key] = {"chart": v.chart, "label": v.label, "unit": v.unit,
                               "items": [{"label": i.label, "value": i.value, "color": i.color, "url": i.url}
                                         for i in v.items]}
    children = None
    if data.children:
        rows = [c for c in data.children if c.code]
        children = {
            "unit": str(data.figures["poor_households"].unit) if "poor_households" in data.figures else "",
            "names": [c.name for c in rows],
            "urls": [c.url for c in rows],
            "series": [{"name": label, "color": color, "values": [c.by_status.get(code, 0) for c in rows]}
                       for code, label, color in data.status_dims
                       if any(c.by_status.get(code) for c in rows)],
        }
    return {"figures": figs, "children": children}


@require_GET
def dashboard_page(request):
    area = _area(request)
    if area is None:
        return render(request, "dashboards/no_area.html", status=200)
    data = selectors.dashboard(request.user, area)
    return render(request, "dashboards/dashboard.html", {
        "d": data, "specs_json": script_json(chart_specs(data)), "scope_area": area,
        "can_refresh": request.user.can("edit"),
        "child_level_label": _level_label(data.child_level),
    })


def _level_label(level: str) -> str:
    return {"county": _("Counties"), "town": _("Towns and streets"), "village": _("Villages and communities"),
            "community": _("Villages and communities"), "grid": _("Grids")}.get(level, "")


@require_GET
def export_xlsx(request):
    """?figure=<key> for one table, `children` for the drill-down table, or nothing for every table."""
    area, data = _file_dashboard(request)
    which = request.GET.get("figure", "")
    if which and which != "children" and which not in data.figures:
        raise Http404(_("No such figure"))
    content = exports.workbook(data, which=which or None, level_label=_level_label(data.child_level))
    name = f"{area.name}_{_('figures')}_{timezone.localdate():%Y%m%d}.xlsx"
    return file_response(content, name)


@require_GET
def summary_pdf(request):
    area, data = _file_dashboard(request)
    from fupin.dashboards.pdf import leader_summary

    content = leader_summary(data, level_label=_level_label(data.child_level), user=request.user)
    name = f"{area.name}_领导摘要_{timezone.localdate():%Y%m%d}.pdf"
    return file_response(content, name, inline=True)


@require_POST
@capability_required("edit")
def refresh(request):
    """Recompute the figures now, as a background job (the page links to its progress)."""
    job = job_create(kind="dashboards.refresh", title=_("Recompute dashboard figures"), actor=request.user)
    messages.info(request, _("The figures are being recomputed; reload the page in a moment."))
    back = request.POST.get("next", "/dashboard/")
    return redirect(back if back.startswith("/") and not back.startswith("//") else job.get_absolute_url())
