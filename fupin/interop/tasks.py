"""Background tasks of the interop app (django-tasks, run by `fupin db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhooks() -> dict:
    """One delivery pass; when retries remain, another pass is queued for when the first falls due."""
    from fupin.interop import delivery

    counts = delivery.deliver_pass()
    _defer(delivery.due_later(), deliver_webhooks)
    return counts


@task()
def send_text_messages() -> dict:
    from fupin.interop import sms

    counts = sms.send_pass()
    _defer(sms.due_later(), send_text_messages)
    return counts


def _defer(when, fn) -> None:
    """Queue a pass of `fn` for `when` (the next retry), unless one queued and not yet started runs by then."""
    from django_tasks import default_task_backend

    from fupin.interop.delivery import pass_queued_by

    if when is not None and getattr(default_task_backend, "supports_defer", False) and not pass_queued_by(fn, when):
        fn.using(run_after=when).enqueue()
