"""What assessment and screening add to other capabilities' extension points: a household-page panel (open policy
gaps, risk alerts, kinship flags), a 明白卡 section (应享未享 lines), dashboard figures and map choropleths."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.assessment.choices import INCOME_SURVEY
from fupin.core.i18n import shown


def household_panel(request, household) -> dict | None:
    """Rows of the household page: each open policy gap, open risk alert and kinship flag of the household."""
    from fupin.assessment.models import KinshipFlag, PolicyGap, RiskAlert
    from fupin.core.fields import sealed_names
    from fupin.registry.models import Person

    user = request.user
    rows = []
    for g in (PolicyGap.objects.restrict(user).filter(household=household, status="open").select_related("rule", "person")
              .defer(*sealed_names(Person, "person__"))):  # the member's name only: their sealed values stay closed
        who = f"({g.person.name})" if g.person_id else ""
        rows.append((_("Policy owed"), f"{g.rule.name}{who}" + (" · " + _("order sent") if g.work_order_id else "")))
    for a in RiskAlert.objects.restrict(user).filter(household=household, status="open")[:5]:
        rows.append((_("Income to survey") if a.signal == INCOME_SURVEY else _("Return-to-poverty risk"),
                     shown(a.detail)))
    for f in KinshipFlag.objects.restrict(user).filter(household=household, reviewed=False).select_related("staff"):
        rows.append((_("Kinship"), _("with %(role)s %(name)s: %(relation)s (please review)") % {
            "role": f.staff.get_role_display(), "name": f.staff.name, "relation": f.get_relation_display()}))
    if not rows:
        return None
    return {"title": _("Policies owed and return-to-poverty monitoring"), "rows": rows, "url": f"/assessment/households/{household.uuid}/"}


def card_gaps(household) -> dict | None:
    """明白卡: the policies the household (a member) qualifies for and does not yet receive."""
    from fupin.assessment.models import PolicyGap

    gaps = list(PolicyGap.objects.filter(household=household, status="open").select_related("rule", "person"))
    if not gaps:
        return None
    rows = [(g.rule.name, _("%(person)s: eligible, being arranged") % {"person": g.person.name} if g.person_id
             else _("eligible, being arranged")) for g in gaps]
    return {"key": "policy_gaps", "title": _("Policies owed (being arranged)"), "rows": rows}


def dashboard_rows(ctx):
    from django.db.models import Count

    from fupin.assessment.models import FieldCheck, PolicyGap, RiskAlert
    from fupin.core.extensions import Row

    for area, n in (PolicyGap.objects.filter(status="open").order_by().values("area_code")
                    .annotate(n=Count("pk")).values_list("area_code", "n")):
        yield Row(area, "assessment.gaps", n)
    for area, n in (RiskAlert.objects.filter(status="open").exclude(signal=INCOME_SURVEY).order_by().values("area_code")
                    .annotate(n=Count("pk")).values_list("area_code", "n")):
        yield Row(area, "assessment.alerts", n)
    for area, n in (FieldCheck.objects.filter(status="done").order_by().values("area_code")
                    .annotate(n=Count("pk")).values_list("area_code", "n")):
        yield Row(area, "assessment.checks", n)


def extensions() -> list:
    """The dashboards' section and figures, and the map's choropleths."""
    from fupin.core.extensions import DashboardSection, Figure, FigureProvider, Indicator

    households = gettext_lazy("households")
    return [
        DashboardSection("assessment", gettext_lazy("Assessment and screening"), order=60),
        FigureProvider("assessment", compute=dashboard_rows, watches=("assessment.",), order=60, figures=[
            Figure("assessment.gaps", gettext_lazy("Policies owed and not received"), section="assessment",
                   unit=gettext_lazy("items"), order=30, column=True,
                   link=lambda area, dim: f"/assessment/gaps/?division={area}" if area else "/assessment/gaps/"),
            Figure("assessment.alerts", gettext_lazy("Open return-to-poverty alerts"), section="assessment",
                   unit=households, order=31, column=True,
                   link=lambda area, dim: f"/assessment/alerts/?division={area}" if area else "/assessment/alerts/"),
            Figure("assessment.checks", gettext_lazy("Field checks done"), section="assessment", unit=households,
                   order=32, higher_is_worse=False),
        ]),
        Indicator("policy_gaps", gettext_lazy("Policies owed and not received"), figure="assessment.gaps",
                  unit=gettext_lazy("items"), order=40),
        Indicator("risk_alerts", gettext_lazy("Open return-to-poverty alerts"), figure="assessment.alerts",
                  unit=gettext_lazy("households"), order=41),
    ]
