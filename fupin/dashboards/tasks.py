"""Background work of the dashboards: the debounced refresh of the figure snapshot."""

from django_tasks import task


@task()
def refresh_figures(reason: str = "") -> dict:
    from fupin.dashboards.services import refresh_snapshots

    return refresh_snapshots(reason=reason or "after changes")
