"""What the assistance app plugs into the platform: `fupin stats` keys, the nightly light recompute, and (when the
registry offers them) a panel on the household page and filters on the household list."""

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


def _register_hooks() -> None:
    from fupin.assistance import integration
    from fupin.registry import panels

    integration.register_card()
    integration.register(panels)


_register_hooks()


def _register_map_and_dashboards() -> None:
    """The battle map's layers and the dashboards' figures (see fupin/assistance/map_and_dashboards.py)."""
    from fupin.assistance import map_and_dashboards

    map_and_dashboards.register_all()


_register_map_and_dashboards()


# rows that belong to a household move with it (fupin/core/household_rows.py)
for _label in ("HouseholdPairing", "HouseholdPlan", "Measure", "PolicyReceipt", "AssistanceRecord", "Errand",
               "HouseholdLight"):
    household_rows(f"assistance.{_label}", "household")
household_rows("assistance.RecordAttachment", "record__household")
