"""Export approvals: the requester asks (with a purpose), another person with `approve_exports` decides."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core import exportlog
from fupin.core.errors import ServiceError
from fupin.core.models import ExportRequest
from fupin.core.pages import run_service


def index(request):
    return render(request, "core/export_requests.html", {
        "mine": ExportRequest.objects.filter(requester=request.user)[:50],
        "pending": exportlog.pending_for(request.user)[:200],
    })


def _int(value, default=0) -> int:
    try:
        return max(0, min(int(value), 10**9))
    except (TypeError, ValueError):
        return default


def request_form(request):
    params = request.POST if request.method == "POST" else request.GET
    url = params.get("url", "")
    if not url.startswith("/") or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        raise Http404
    context = {"kind": params.get("kind", "")[:50], "title": params.get("title", "")[:200], "url": url,
               "people": _int(params.get("people")), "full_ids": params.get("full_ids") == "1", "error": ""}
    if request.method == "POST":
        try:
            exportlog.request_create(user=request.user, kind=context["kind"], title=context["title"], url=url,
                                     people=context["people"], full_ids=context["full_ids"],
                                     reason=params.get("reason", ""))
        except ServiceError as exc:
            context["error"] = exc.message
        else:
            messages.success(request, _("The request was sent; the export can be downloaded once it is approved."))
            return redirect("exports:index")
    return render(request, "core/export_request_form.html", context)


@require_POST
def decide(request, pk: int):
    req = exportlog.pending_for(request.user).filter(pk=pk).first()
    if req is None:
        raise Http404
    run_service(request, lambda: exportlog.request_decide(
        actor=request.user, req=req, approve=request.POST.get("decision") == "approve",
        note=request.POST.get("note", "")), None)
    return redirect("exports:index")
