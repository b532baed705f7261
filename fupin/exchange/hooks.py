"""What the data exchange registers at start-up: stats keys, the background import job and the nightly step that
keeps the registry's columnar copy current."""

from __future__ import annotations

from fupin.core.household_rows import household_rows
from fupin.core.nightly import nightly_step
from fupin.core.services import job_handler
from fupin.core.stats import stats_provider


@stats_provider(order=160)  # after the demo seed's placeholder (order 100 or lower): these figures win
def _exchange_stats() -> dict:
    from fupin.exchange.models import LinkReview, RecordLink, StagedRecord

    return {
        "department_records": StagedRecord.objects.filter(snapshot__is_current=True).count(),
        "persons_linked": RecordLink.objects.filter(snapshot__is_current=True).values("person_id").distinct().count(),
        "link_reviews_open": LinkReview.objects.filter(status=LinkReview.Status.OPEN).count(),
    }


@job_handler("exchange.import")
def _import_job(job, progress) -> dict:
    """params: source, path (the uploaded file kept under FUPIN_DATA_DIR/uploads), mapping (optional name), sheet
    (optional: the one sheet to read)."""
    from fupin.exchange.services import import_department

    actor = job.actor or "system"
    snap = import_department(actor=actor, source_code=job.params["source"], path=job.params["path"],
                             mapping_name=job.params.get("mapping") or None, sheet=job.params.get("sheet") or None,
                             progress=progress, accept_missing=bool(job.params.get("accept_missing")),
                             file_name=job.params.get("name") or "")
    return {"snapshot": snap.pk, "rows": snap.row_count, "problems": snap.problem_count,
            "unreadable": snap.unreadable_count, "skipped": len(snap.skipped), "url": snap.get_absolute_url()}


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("exchange.RecordLink", "person__household")
household_rows("exchange.LinkReview", "person__household")


@nightly_step("exchange.registry_copy", order=70)
def _nightly_registry_copy(**_kw) -> dict:
    """The registry's columnar copy brought up to date (fupin/exchange/registry_copy.py), so that the day's first
    comparison does not build it: whatever the registry import, a transfer or an edit changed since."""
    from fupin.exchange.registry_copy import refresh_quietly

    return refresh_quietly()
