"""The village team's and the town's review of change requests (births, deaths, moves reported from the field)."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core.pages import capability_required, paginate, run_service
from fupin.registry import change_requests as cr
from fupin.registry.models import ChangeRequest, Person


@capability_required("view")
def request_list(request):
    state = request.GET.get("state") or ChangeRequest.State.SUBMITTED
    if state not in ChangeRequest.State.values:
        state = ChangeRequest.State.SUBMITTED
    page = paginate(request, cr.requests_for(request.user, state=state))
    people = {str(p.uuid): p.name for p in Person.objects.restrict(request.user).filter(
        uuid__in=[r.payload.get(k) for r in page for k in ("person", "new_head") if r.payload.get(k)])}
    rows = [(r, cr.request_out(r, user=request.user), cr.may_decide(request.user, r)) for r in page]
    return render(request, "registry/change_requests.html", {
        "page_obj": page, "rows": rows, "state": state, "states": ChangeRequest.State.choices, "people": people})


@capability_required("view")
@require_POST
def request_decide(request, uuid):
    req = get_object_or_404(ChangeRequest.objects.restrict(request.user), uuid=uuid)
    if request.POST.get("decision") == "approve":
        run_service(request, lambda: cr.request_approve(actor=request.user, request=req,
                                                        note=request.POST.get("reason", "")),
                    _("The change request was approved and recorded in the household."))
    elif request.POST.get("decision") == "reject":
        run_service(request, lambda: cr.request_reject(actor=request.user, request=req,
                                                       reason=request.POST.get("reason", "")),
                    _("The change request was sent back."))
    else:
        messages.error(request, _("Choose approve or send back."))
    return redirect("registry:requests")


@capability_required("view")
def request_evidence(request, uuid):
    """The request's evidence photo: 404 outside the user's jurisdiction."""
    req = get_object_or_404(ChangeRequest.objects.restrict(request.user), uuid=uuid)
    if not req.evidence:
        raise Http404
    try:
        handle = req.evidence.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, filename=Path(req.evidence.name).name)
