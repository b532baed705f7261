"""What the assistance app plugs into the platform: `fupin stats` keys, the nightly light recompute, a panel on the
household page and filters on the household list, the 明白卡's cadre, plan and policies, the map's light and
pairing layers and the dashboards' figures."""

from django.utils.translation import gettext_lazy as _

from fupin.assistance import integration, map_and_dashboards
from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.nightly import nightly_step
from fupin.core.stats import stats_provider


@stats_provider(order=70)
def assistance_stats() -> dict:
    from fupin.assistance.selectors import stats

    return stats()


@nightly_step("assistance.lights", order=50)
def nightly_lights(**_kw) -> dict:
    """Days pass: recompute every household's light, warn on new reds, close warnings that cleared."""
    from fupin.assistance.tracking import recompute_all

    return recompute_all()


ext.register(ext.HouseholdPanel(key="assistance", template="assistance/_panel.html", fn=integration.panel_context,
                                order=40))
ext.register(ext.HouseholdFilter(key="light", label=_("Tracking light"), choices=integration._light_choices,
                                 apply=integration._apply_light, order=40))
ext.register(ext.HouseholdFilter(key="cadre", label=_("Cadre"), choices=integration._cadre_choices,
                                 apply=integration._apply_cadre, order=41))
for _order, _fn in enumerate((integration.card_cadre, integration.card_plan, integration.card_policies), start=10):
    ext.register(ext.CardSection(fn=_fn, order=_order))
for _item in map_and_dashboards.map_extensions():
    ext.register(_item)
ext.register(map_and_dashboards.figure_provider())


# rows that belong to a household move with it (fupin/core/household_rows.py)
for _label in ("HouseholdPairing", "HouseholdPlan", "Measure", "PolicyReceipt", "AssistanceRecord", "Errand",
               "HouseholdLight"):
    household_rows(f"assistance.{_label}", "household")
household_rows("assistance.RecordAttachment", "record__household")
