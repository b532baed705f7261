"""The registry's household attributes and choropleth indicators, registered by `fupin.maps.hooks` at the same
extension points other capabilities use."""

from __future__ import annotations

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from fupin.core.extensions import HouseholdAttribute, Indicator
from fupin.dashboards.figures import memo

PALETTE = ["#2f4b7c", "#e67e22", "#16a085", "#8e44ad", "#c0392b", "#2c82c9", "#d35400", "#7f8c8d", "#27ae60",
           "#f1c40f", "#34495e", "#e84393", "#00a8a8", "#a0522d"]


def code_choices(key: str):
    """(code, label, colour) of a registry code list, the label in the reader's language (`CodeTables.shown`); the
    county's colours where it set them, else a palette."""

    def choices():
        from fupin.registry.labels import code_tables

        t = memo("registry.code_tables", code_tables)
        return [(code, label, t.color(key, code) or PALETTE[i % len(PALETTE)])
                for i, (code, label) in enumerate(t.shown_choices(key))]

    return choices


EXTENSIONS = [
    HouseholdAttribute(key="status", label=_("Poverty status"), choices=code_choices("status"),
                       expression=lambda: F("poverty_status"), order=10,
                       filter=lambda qs, codes: qs.filter(poverty_status__in=codes)),
    HouseholdAttribute(key="attribute", label=_("Poor household attribute"), choices=code_choices("attribute"),
                       expression=lambda: F("attribute"), order=20,
                       filter=lambda qs, codes: qs.filter(attribute__in=codes)),
    HouseholdAttribute(key="cause", label=_("Main poverty cause"), choices=code_choices("cause"),
                       expression=lambda: F("main_cause"), order=30,
                       filter=lambda qs, codes: qs.filter(main_cause__in=codes)),
    Indicator("poor_households", _("Registered poor households"), figure="poor_households",
              unit=_("households"), order=10),
    Indicator("current_poor_households", _("Households not yet out of poverty"),
              figure="current_poor_households", unit=_("households"), order=11),
    Indicator("incidence", _("Poverty incidence"), figure="incidence", unit="%", decimals=2, order=12),
    Indicator("poor_persons", _("Registered poor persons"), figure="poor_persons", unit=_("persons"), order=13),
    Indicator("unlocated", _("Poor households not located"), figure="unlocated_poor_households",
              unit=_("households"), order=90),
]
