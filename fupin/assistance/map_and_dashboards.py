"""What assistance adds to the battle map and the dashboards (registered by `fupin.assistance.hooks`):

- map: the tracking light as a colouring and filter of the households (`?light=red`), whether a household has a
  pairing cadre (`?paired=0`), a popup section (light, cadre, plan measures) and a choropleth of red lights;
- dashboards: households by light, red lights (also a column of the drill-down table), paired and unpaired poor
  households. The lights are the ones the nightly step (order 50) keeps; the figures refresh after it (order 900).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def _light_choices():
    from fupin.assistance.choices import COLOUR_HEX, Colour

    order = [Colour.RED, Colour.YELLOW, Colour.GREEN]
    return [(c.value, str(c.label), COLOUR_HEX[c]) for c in order]


def _open_pairing():
    from django.db.models import Exists, OuterRef

    from fupin.assistance.models import HouseholdPairing

    return Exists(HouseholdPairing.objects.filter(household=OuterRef("pk"), end_date__isnull=True))


def _paired_expression():
    from django.db.models import Case, CharField, Value, When

    return Case(When(_open_pairing(), then=Value("1")), default=Value("0"), output_field=CharField())


def _paired_filter(qs, codes: list[str]):
    if "1" in codes and "0" in codes:
        return qs
    if "1" in codes:
        return qs.filter(_open_pairing())
    if "0" in codes:
        return qs.exclude(_open_pairing())
    return qs.none()


def map_popup(household, user) -> dict | None:
    """Light, cadre and plan measures of a household for the map popup (None when it has none of them)."""
    from fupin.assistance.selectors import household_summary

    summary = household_summary(household)
    light, pairing, measures = summary["light"], summary["pairing"], summary["measures"]
    if light is None and pairing is None and not measures:
        return None
    rows = []
    if light is not None:
        text = light.get_colour_display()
        if light.days is not None:
            text += _("(%(days)s days without assistance)") % {"days": light.days}
        rows.append((_("Tracking light"), text))
        rows += [("", r["text"]) for r in summary["reasons"][:3]]
    if pairing is not None:
        cadre = pairing.cadre
        rows.append((_("Pairing cadre"), f"{cadre.name} · {pairing.unit}" + (f" · {cadre.phone}" if cadre.phone else "")))
    else:
        rows.append((_("Pairing cadre"), _("none yet")))
    for m in measures[:4]:
        rows.append((_("Measure"), m["title"]))
    key = household.poor_code or str(household.uuid)
    from urllib.parse import quote

    return {"title": _("Assistance"), "rows": rows, "url": f"/assistance/households/{quote(key, safe='')}/"}


def map_extensions() -> list:
    from django.db.models import F

    from fupin.core.extensions import HouseholdAttribute, Indicator, PopupSection

    return [
        HouseholdAttribute(key="light", label=gettext_lazy("Tracking light"), order=35, choices=_light_choices,
                           expression=lambda: F("assistance_light__colour"),
                           filter=lambda qs, codes: qs.filter(assistance_light__colour__in=codes)),
        HouseholdAttribute(key="paired", label=gettext_lazy("Pairing cadre"), order=36, color=False,
                           choices=lambda: [("1", str(_("with a cadre")), "#2e8b57"),
                                            ("0", str(_("without a cadre")), "#c0392b")],
                           expression=_paired_expression, filter=_paired_filter),
        PopupSection(fn=map_popup, order=40),
        Indicator("red_lights", gettext_lazy("Red lights"), figure="assistance.lights", dim="red",
                  unit=gettext_lazy("households"), order=20),
    ]


def dashboard_rows(ctx):
    """Households by light, red lights, and paired / unpaired households (a light with or without a cadre: the
    definitions of `fupin stats` keys warnings, paired_households and unpaired_households)."""
    from django.db.models import Count, Q

    from fupin.assistance.models import HouseholdLight
    from fupin.core.extensions import Row

    for area, colour, n, paired in (HouseholdLight.objects.order_by().values("area_code", "colour")
                                    .annotate(n=Count("pk"), paired=Count("pk", filter=Q(cadre__isnull=False)))
                                    .values_list("area_code", "colour", "n", "paired")):
        yield Row(area, "assistance.lights", n, dim=colour)
        if colour == "red":
            yield Row(area, "assistance.red", n)
        yield Row(area, "assistance.paired", paired)
        yield Row(area, "assistance.unpaired", n - paired)


def _lights_url(area: str, **params) -> str:
    from urllib.parse import urlencode

    query = [("division", area)] if area else []
    query += [(k, str(v)) for k, v in params.items() if v not in (None, "")]
    return "/assistance/lights/" + (f"?{urlencode(query)}" if query else "")


def figure_provider():
    from fupin.core.extensions import Figure, FigureProvider
    from fupin.dashboards.figures import household_list_url

    households = gettext_lazy("households")
    return FigureProvider("assistance", compute=dashboard_rows, watches=("assistance.",), order=40, figures=[
        Figure("assistance.red", gettext_lazy("Red lights"), section="assistance", unit=households, order=1,
               column=True, link=lambda area, dim: _lights_url(area, colour="red"),
               help=gettext_lazy("Households with no assistance recorded for too long (跟踪警示).")),
        Figure("assistance.paired", gettext_lazy("Poor households with a pairing cadre"), section="assistance",
               unit=households, order=2, higher_is_worse=False,
               link=lambda area, dim: household_list_url(area, poor=1)),
        Figure("assistance.unpaired", gettext_lazy("Poor households without a pairing cadre"), section="assistance",
               unit=households, order=3, link=lambda area, dim: household_list_url(area, poor=1, cadre="none")),
        Figure("assistance.lights", gettext_lazy("Households by tracking light"), section="assistance",
               chart="pie", unit=households, order=10, dims=_light_choices,
               link=lambda area, dim: _lights_url(area, colour=dim)),
    ])
