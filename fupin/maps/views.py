"""The battle map page: the map itself is drawn by static/js/map.js from the /api/v1/map/ layers."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from fupin.core import readcache
from fupin.dashboards.pagejson import script_json
from fupin.dashboards.selectors import default_area, state
from fupin.geo.areas import current_area
from fupin.geo.models import Division, Grid
from fupin.maps import selectors


@require_GET
def map_page(request):
    code = request.GET.get("division", "")
    chosen = current_area(request)
    if code and chosen is None:
        raise Http404(_("No such area in your jurisdiction"))
    home = default_area(request.user)
    st = state()

    def page_json() -> str:
        return script_json({
            "home": {"code": home.code, "name": home.name, "level": home.level} if home else None,
            "division": chosen.code if chosen else "",
            "bounds": selectors.area_bounds(chosen or home),
            "tree": selectors.area_tree(request.user, home),
            "config": selectors.map_config(request.user),
            "computed_at": st.computed_at.isoformat() if st and st.computed_at else None,
            "t": texts(),
        })

    # the page's data (every town, village and grid of the area for its filter: 150 KB at a tenth of the county) is
    # the same for every reader of the same scope until a division or grid changes or the figures are recomputed
    user = request.user
    key = (readcache.scope_key(user), bool(user.can("edit")), home.code if home else "", chosen.code if chosen else "",
           (st.pk, st.computed_at) if st else None, readcache.stamp(Division, Grid))
    context = {"home": home, "chosen": chosen, "page_json": readcache.cached("maps.page", key, page_json)}
    return render(request, "maps/map.html", context)


def texts() -> dict[str, str]:
    """The words map.js shows, translated here so the page follows the user's language."""
    return {
        "synthetic": _("Town, village and grid boundaries drawn here are schematic, not legal boundaries."),
        "synthetic_short": _("Schematic boundaries"),
        "poor_village": _("poor village"),
        "show_area": _("Show this area"),
        "dashboard": _("Dashboard"),
        "all_areas": _("all areas"),
        "highlighted": _("stand out"),
        "shown": _("%(n)s on the map"),
        "unlocated": _("%(n)s not located"),
        "only": _("only "),
        "all": _("All"),
        "household_no": _("Household number"),
        "place": _("Place"),
        "size": _("Members"),
        "persons": _("persons"),
        "attribute": _("Attribute"),
        "causes": _("Poverty causes"),
        "income": _("Per-capita net income"),
        "yuan": _("yuan"),
        "head_id": _("Head's ID number"),
        "phone": _("Phone"),
        "year_exited": _("Year of exit"),
        "hh_suffix": _("'s household"),
        "member_name": _("Member name"),
        "relationship": _("Relationship"),
        "age": _("Age"),
        "health": _("Health"),
        "labour": _("Labour / school"),
        "open_file": _("Open the household file"),
        "locate": _("Locate"),
        "by_gps": _("my GPS position"),
        "by_click": _("click on the map"),
        "not_located": _("Not yet located: the popup is shown at the village centre."),
        "not_located_short": _("not located"),
        "located": _("Located by"),
        "no_gps": _("This browser cannot give a GPS position."),
        "gps_wait": _("Waiting for the GPS position…"),
        "gps_failed": _("No GPS position: "),
        "click_to_place": _("Click the map where %(name)s's household lives (Esc to cancel)."),
        "confirm_place": _("Place %(name)s's household here?"),
        "cancel": _("Cancel"),
        "no_results": _("No household found."),
        "member": _("member"),
    }
