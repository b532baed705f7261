"""Background tasks (django-tasks): one generic runner for Job rows; and `once_after_commit`, the one way to run
something once after the current transaction commits (a seal, a delivery pass, a stale mark)."""

from django.db import transaction
from django_tasks import task


@task()
def run_job(job_id: int) -> None:
    from fupin.core.services import job_run

    job_run(job_id)


def once_after_commit(fn, *, key: str | None = None, robust: bool = False) -> None:
    """Run fn() after the current transaction commits (at once in autocommit), once per transaction however often a
    change asks: a call finding fn (or, for a new closure each time, another callable given the same `key`) already
    waiting is dropped; a rollback drops the waiting call. robust: an exception in fn is logged, not raised."""
    if key is not None:
        fn.after_commit_key = key
    waiting = transaction.get_connection().run_on_commit
    if any(entry[1] is fn or (key is not None and getattr(entry[1], "after_commit_key", None) == key)
           for entry in waiting):
        return
    transaction.on_commit(fn, robust=robust)
