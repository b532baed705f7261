"""What the phone app adds to `fupin stats`: open sync conflicts (devices are counted by accounts)."""

from fupin.core.stats import stats_provider


@stats_provider(order=75)
def mobile_stats() -> dict:
    from fupin.mobile.models import SyncConflict

    return {"sync_conflicts_open": SyncConflict.objects.filter(status="open").count()}
