"""What the assistance app adds to the registry's household page and list and to the household card (registered by
`fupin.assistance.hooks`)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import translation
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


# The household card (明白卡, extension point lifecycle.card_section) ----------------------------------------


def card_cadre(household) -> dict | None:
    """帮扶责任人: the cadre with the 三定一包 terms, and who is linked to the village."""
    from fupin.assistance.selectors import village_pairings
    from fupin.assistance.services import current_pairing

    p = current_pairing(household)
    if p is None:
        return None
    rows = [("帮扶责任人", p.cadre.name), ("联系电话", p.cadre.phone or ""), ("帮扶单位", str(p.unit)),
            ("职务", p.cadre.post or ""), ("帮扶责任", p.duty or ""), ("脱贫承诺", p.exit_commitment or ""),
            ("结对日期", p.start_date.isoformat())]
    with translation.override("zh-hans"):
        for ap in village_pairings(household.village):
            rows.append((str(ap.get_kind_display()), str(ap.team or ap.cadre or ap.unit)))
    return {"key": "cadre", "title": "帮扶责任人", "rows": rows}


def card_plan(household) -> dict | None:
    """帮扶计划: the measures of the household's plan with responsible person, date and status."""
    from fupin.assistance.models import Measure

    measures = list(Measure.objects.filter(household=household).exclude(status="cancelled")
                    .order_by("target_date", "id"))
    if not measures:
        return None
    with translation.override("zh-hans"):
        rows = [(str(m.get_kind_display()),
                 f"{m.title};责任人{m.responsible_name or '—'};时限{m.target_date or '—'};{m.get_status_display()}")
                for m in measures]
    return {"key": "plan", "title": "帮扶计划", "rows": rows}


def card_policies(household) -> dict | None:
    """享受政策: what the household received, when and how much."""
    from fupin.assistance.models import PolicyReceipt

    receipts = list(PolicyReceipt.objects.filter(household=household).select_related("policy")
                    .order_by("-received_on")[:20])
    if not receipts:
        return None
    rows = [(r.policy.name, f"{r.received_on.isoformat()}" + (f" {r.amount}元" if r.amount is not None else ""))
            for r in receipts]
    return {"key": "policies", "title": "享受政策", "rows": rows}
