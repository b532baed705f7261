"""What the phone app adds to `fupin stats`: open sync conflicts (devices are counted by accounts)."""

from fupin.core import extensions as ext
from fupin.core.stats import stats_provider


@stats_provider(order=75)
def mobile_stats() -> dict:
    from fupin.mobile.models import SyncConflict

    return {"sync_conflicts_open": SyncConflict.objects.filter(status="open").count()}


# rows that belong to a household move with it (fupin/core/household_rows.py)
def _declare_household_rows() -> None:
    from fupin.core.household_rows import household_rows

    household_rows("mobile.SyncChange", "household")
    household_rows("mobile.SyncConflict", "household")


_declare_household_rows()


# photo chunks arrive as the image's own bytes (fupin.core.middleware refuses undeclared body types elsewhere)
ext.register(ext.RawBodyPrefix(prefix="/api/v1/mobile/uploads/"))
