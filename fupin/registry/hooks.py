"""What the registry registers at start-up (imported by FupinAppConfig.ready)."""

from fupin.core.stats import stats_provider
from fupin.registry import jobs  # noqa: F401  (registers the roster-import job handler)


@stats_provider(order=30)
def registry_poverty_stats() -> dict:
    """poor_villages and poor_households_by_status (status code → registered households not dissolved)."""
    from fupin.registry.selectors import registry_stats

    return registry_stats()
