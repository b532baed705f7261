"""What the registry registers at start-up (imported by FupinAppConfig.ready)."""

from django.db.models import Q

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.stats import stats_provider
from fupin.registry import (
    grids,
    jobs,  # noqa: F401  (registers the roster-import job handler)
)


@stats_provider(order=30)
def registry_poverty_stats() -> dict:
    """poor_villages and poor_households_by_status (status code → registered households not dissolved)."""
    from fupin.registry.selectors import registry_stats

    return registry_stats()


@stats_provider(order=20)
def registry_population_stats() -> dict:
    """households and persons (all residents: households not dissolved, their living members); poor_households
    and poor_persons (建档立卡 households of any status, not dissolved, and their distinct living members)."""
    from fupin.registry.models import Household, Person

    households = Household.objects.filter(dissolved_on__isnull=True)
    persons = Person.objects.filter(household__isnull=False, household__dissolved_on__isnull=True, is_alive=True)
    return {
        "households": households.count(),
        "persons": persons.count(),
        "poor_households": households.filter(is_registered_poor=True).count(),
        "poor_persons": persons.filter(household__is_registered_poor=True).values("pk").distinct().count(),
    }


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("registry.Person", "household")
household_rows("registry.MemberChange", "to_household")
household_rows("registry.MemberChange", "from_household", when=Q(to_household__isnull=True))
household_rows("registry.ImportProblem", "household")
household_rows("registry.ChangeRequest", "household")

# the grid network's pages count and assign households through the registry (geo may not import it)
ext.register(ext.AreaHouseholds(key="registry", by_village=grids.household_counts_by_village,
                                by_grid=grids.household_counts_by_grid, assign=grids.households_assign_grid))
