"""What the assistance app adds to the registry's household page and list (fupin.registry.panels / selectors)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.assistance.choices import Colour


def panel_context(request, household) -> dict | None:
    """The assistance panel: light with reasons and clearing actions, cadre, plan measures, policies received."""
    from fupin.assistance import permissions, selectors

    return {"hh": household, "panel_title": _("Assistance"), **selectors.household_summary(household),
            "can_record": permissions.can_record(request.user)}


def _light_choices(user):
    return list(Colour.choices)


def _apply_light(qs, value, user):
    if value not in Colour.values:
        return qs
    return qs.filter(assistance_light__colour=value)


def _cadre_choices(user):
    from fupin.assistance.permissions import is_cadre

    choices = [("none", _("without a cadre"))]
    if is_cadre(user):
        choices.insert(0, ("mine", _("households I carry")))
    return choices


def _apply_cadre(qs, value, user):
    from fupin.assistance.models import HouseholdPairing

    open_pairs = HouseholdPairing.objects.filter(end_date__isnull=True)
    if value == "mine":
        return qs.filter(pk__in=open_pairs.filter(cadre__user=user).values("household_id"))
    if value == "none":
        return qs.filter(~Q(pk__in=open_pairs.values("household_id")))
    if str(value).isdigit():
        return qs.filter(pk__in=open_pairs.filter(cadre_id=int(value)).values("household_id"))
    return qs


def register(panels) -> None:
    panels.register_panel("assistance/_panel.html", panel_context, order=40)
    try:
        from fupin.registry.selectors import register_filter
    except ImportError:
        return
    register_filter("light", _("Tracking light"), _light_choices, _apply_light, order=40)
    register_filter("cadre", _("Cadre"), _cadre_choices, _apply_cadre, order=41)
