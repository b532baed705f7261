"""What the organisations app registers at start-up (imported by FupinAppConfig.ready): its `fupin stats` keys."""

from fupin.core.stats import stats_provider


@stats_provider(order=50)
def org_stats() -> dict:
    """users (active accounts), departments (active), and department_records as 0: the data exchange, when
    installed, registers the real figure with a later order, which wins."""
    from django.contrib.auth import get_user_model

    from fupin.org.models import Department

    return {
        "users": get_user_model().objects.filter(is_active=True).count(),
        "departments": Department.objects.filter(is_active=True).count(),
        "department_records": 0,
    }
