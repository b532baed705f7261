"""Background jobs: the user's own (a superuser sees all), and one job's page with a progress bar that htmx polls."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from fupin.core.models import Job
from fupin.core.pages import is_htmx, paginate


def _jobs_for(user):
    qs = Job.objects.select_related("actor")
    return qs if user.is_superuser else qs.filter(actor=user)


def job_list(request):
    qs = _jobs_for(request.user).order_by("-created_at")
    return render(request, "core/job_list.html", {"page_obj": paginate(request, qs)})


def _job_or_404(request, uuid) -> Job:
    job = _jobs_for(request.user).filter(uuid=uuid).first()
    if job is None:
        raise Http404
    return job


def _context(job: Job) -> dict:
    result = job.result if isinstance(job.result, dict) else {}
    return {"job": job, "result_url": result.get("url") or result.get("download_url")}


def job_detail(request, uuid):
    job = _job_or_404(request, uuid)
    return render(request, "core/job_detail.html", _context(job))


def job_progress(request, uuid):
    """The progress partial; while the job runs it asks to be fetched again every second."""
    job = _job_or_404(request, uuid)
    template = "core/_job_progress.html" if is_htmx(request) else "core/job_detail.html"
    return render(request, template, _context(job))
