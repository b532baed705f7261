"""Writes of the core app: batches and background jobs."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from fupin.core import audit, extensions
from fupin.core.i18n import stored
from fupin.core.models import Batch, Job

log = logging.getLogger(__name__)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def keep_raw_file(path: str | Path, sha256: str) -> str:
    """Copy an imported file into FUPIN_DATA_DIR/raw/ under its hash, so the original is kept as received — sealed
    (fupin/core/filestore.py; `filestore.read_plain(raw_path)` gives the bytes back)."""
    from fupin.core import filestore

    path = Path(path)
    dest_dir = Path(settings.FUPIN_RAW_DIR)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{sha256[:16]}_{path.name}"
    if not dest.exists():
        filestore.seal_copy(path, dest)
    return str(dest)


def batch_start(*, kind: str, actor=None, source: str | Path | None = None, keep_file: bool = False) -> Batch:
    """Open a batch for a bulk write. Call inside the bulk write's transaction."""
    sha = raw = ""
    name = ""
    if source is not None:
        name = Path(source).name
        sha = file_sha256(source)
        if keep_file:
            raw = keep_raw_file(source, sha)
    return Batch.objects.create(kind=kind, actor=actor if getattr(actor, "pk", None) else None,
                                source_name=name, source_sha256=sha, raw_path=raw)


def batch_finish(batch: Batch, *, actor=None, rows: int, summary: dict | None = None, area_code: str = "") -> Batch:
    """Close the batch and record its single audit event."""
    batch.status = Batch.Status.DONE
    batch.row_count = rows
    batch.summary = summary or {}
    batch.finished_at = timezone.now()
    batch.save()
    audit.record(actor=actor, action=f"batch.{batch.kind}", object_type="core.batch", object_id=str(batch.pk),
                 object_repr=f"{batch.kind} {batch.source_name}".strip(), area_code=area_code,
                 after={"rows": rows, **(summary or {})}, batch=batch)
    return batch


# Background jobs -----------------------------------------------------------------------------------------------

JobHandler = Callable[[Job, Callable[[int, str], None]], dict | None]


def job_handler(kind: str):
    """Register the function that runs jobs of `kind`: fn(job, progress) -> result dict (decorator form of
    `extensions.register(extensions.JobHandler(kind=kind, fn=fn))`)."""

    def deco(fn: JobHandler) -> JobHandler:
        extensions.register(extensions.JobHandler(kind=kind, fn=fn))
        return fn

    return deco


def job_create(*, kind: str, title: str, actor=None, params: dict | None = None) -> Job:
    """Create a job and queue it once the surrounding transaction commits."""
    if extensions.lookup("core.job", kind) is None:
        raise ValueError(f"unknown job kind {kind}")
    job = Job.objects.create(kind=kind, title=title, actor=actor if getattr(actor, "pk", None) else None,
                             params=params or {})
    from fupin.core.tasks import run_job

    transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


MAX_JOB_ATTEMPTS = 3


def job_recover_interrupted() -> dict[str, int]:
    """Jobs left "running" by a worker that died (killed, out of memory, a database lock it did not survive) are
    queued again, at most MAX_JOB_ATTEMPTS times in all; after that they are failed with a message the user sees.

    Call it when no worker is running (before a worker starts: `fupin serve` does, systemd runs `fupin recover_jobs`
    as ExecStartPre). Every job handler is all-or-nothing, so running one again from the start is safe."""
    from fupin.core.tasks import run_job

    requeued = failed = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING):
        attempts = int((job.params or {}).get("_attempts", 1)) + 1
        if attempts > MAX_JOB_ATTEMPTS:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED, finished_at=timezone.now(),
                message=stored(gettext_noop("The job was interrupted %(attempts)s times and has been stopped: check the "
                                            "file or contact the administrator"), attempts=MAX_JOB_ATTEMPTS),
                result={"error": "interrupted", "attempts": attempts - 1})
            failed += 1
            continue
        Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED, progress=0,
                                             message=stored(gettext_noop("The job was queued again after a "
                                                                         "service interruption")),
                                             params={**(job.params or {}), "_attempts": attempts})
        transaction.on_commit(lambda pk=job.pk: run_job.enqueue(pk))
        requeued += 1
    return {"requeued": requeued, "failed": failed}


def job_run(job_id: int) -> Job:
    """Run a job now (the task calls this). Failures are stored on the job, never raised."""
    job = Job.objects.get(pk=job_id)
    if job.finished:
        return job
    registration = extensions.lookup("core.job", job.kind)
    if registration is None:
        raise KeyError(f"unknown job kind {job.kind}")
    handler = registration.fn
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now(), progress=0)

    def progress(percent: int, message: str = "") -> None:
        Job.objects.filter(pk=job.pk).update(progress=max(0, min(100, int(percent))), message=message[:500])

    try:
        result = handler(job, progress)
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=timezone.now(),
                                             message=str(getattr(exc, "message", exc))[:500],
                                             result={"error": str(getattr(exc, "message", exc))})
    else:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, finished_at=timezone.now(), progress=100,
                                             result=result or {})
    job.refresh_from_db()
    return job
