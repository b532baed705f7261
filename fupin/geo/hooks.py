"""What the grid network registers at start-up (imported by FupinAppConfig.ready): its `fupin stats` keys."""

from fupin.core.stats import stats_provider


@stats_provider(order=10)
def geo_stats() -> dict:
    """towns (town-level units: 街道, 镇, 乡, special areas), villages (not communities), communities, grids."""
    from django.db.models import Count, Q

    from fupin.geo.models import Division, Grid

    counts = Division.objects.aggregate(
        towns=Count("pk", filter=Q(level="town")),
        villages=Count("pk", filter=Q(level="village")),
        communities=Count("pk", filter=Q(level="community")),
    )
    return {**counts, "grids": Grid.objects.count()}
