"""The user's own inbox: open items first (by due date), overdue highlighted, marked done with htmx."""

from __future__ import annotations

from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fupin.core.errors import ServiceError
from fupin.core.pages import is_htmx, paginate
from fupin.geo.areas import filter_area
from fupin.inbox.models import InboxItem
from fupin.inbox.services import inbox_done

STATES = ("open", "done", "all")


def item_list(request):
    state = request.GET.get("state", "open")
    if state not in STATES:
        state = "open"
    qs = filter_area(InboxItem.objects.filter(user=request.user), request)
    counts = {"open": qs.filter(done_at__isnull=True).count(), "done": qs.filter(done_at__isnull=False).count()}
    if state == "open":
        qs = qs.filter(done_at__isnull=True)
    elif state == "done":
        qs = qs.filter(done_at__isnull=False)
    # NULL ordering differs between SQLite and PostgreSQL: say it explicitly (open first, undated last).
    qs = qs.order_by(F("done_at").desc(nulls_first=True), F("due_date").asc(nulls_last=True), "-created_at")
    return render(request, "inbox/item_list.html", {
        "page_obj": paginate(request, qs), "state": state, "counts": counts,
    })


@require_POST
def item_done(request, pk):
    item = InboxItem.objects.filter(user=request.user, pk=pk).first()
    if item is None:
        raise Http404
    try:
        item = inbox_done(actor=request.user, item=item)
    except ServiceError:
        raise Http404 from None
    if is_htmx(request):
        return render(request, "inbox/_item_row.html", {"item": item})
    return redirect("inbox:list")
