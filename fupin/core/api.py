"""Background jobs of the caller (progress for pages and scripts)."""

import datetime as dt
import uuid as uuidlib

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.core.i18n import shown
from fupin.core.models import Job

router = Router(tags=["jobs"])


class JobOut(Schema):
    uuid: str
    kind: str
    title: str
    status: str
    progress: int
    message: str
    result: dict | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _out(j: Job) -> dict:
    return {"uuid": str(j.uuid), "kind": j.kind, "title": j.title, "status": j.status, "progress": j.progress,
            "message": shown(j.message), "result": j.result, "created_at": j.created_at, "finished_at": j.finished_at}


def _jobs(user):
    return Job.objects.all() if user.is_superuser else Job.objects.filter(actor=user)


@router.get("/", response=list[JobOut])
def list_jobs(request):
    return [_out(j) for j in _jobs(request.user)[:100]]


@router.get("/{uuid}", response=JobOut)
def get_job(request, uuid: uuidlib.UUID):
    return _out(get_object_or_404(_jobs(request.user), uuid=uuid))
