"""Test support of the dashboards: the scoping sweep refreshes the figures so it checks real ones."""


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.dashboards.services import refresh_snapshots

    refresh_snapshots(reason="scoping sweep")
