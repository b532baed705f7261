"""The auditor's page: search the audit trail of the auditor's jurisdiction, with the hash chain's state."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from fupin.core.models import AuditArchive, AuditEvent
from fupin.core.pages import capability_required, paginate


def _day(value: str) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


@capability_required("read_audit")
def trail(request):
    qs = AuditEvent.objects.restrict(request.user).select_related("actor")
    params = request.GET
    actor = (params.get("actor") or "").strip()[:150]
    action = (params.get("action") or "").strip()[:80]
    obj = (params.get("object") or "").strip()[:80]
    area = (params.get("area") or "").strip()[:15]
    since, until = _day(params.get("since")), _day(params.get("until"))
    errors = []
    if (params.get("since") and since is None) or (params.get("until") and until is None):
        errors.append(_("Dates are written as 2016-03-02."))
    if actor:
        qs = qs.filter(actor_name__startswith=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if obj:
        qs = qs.filter(object_type__startswith=obj) if "." in obj else qs.filter(object_repr__contains=obj)
    if area.isdigit():
        qs = qs.filter(area_code__startswith=area)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "hash", "at").first()
    context = {
        "page_obj": paginate(request, qs.order_by("-id")),
        "q": {"actor": actor, "action": action, "object": obj, "area": area,
              "since": params.get("since", ""), "until": params.get("until", "")},
        "errors": errors,
        "head": head,
        "unsealed": AuditEvent.objects.filter(seq__isnull=True).count(),
        "archives": AuditArchive.objects.order_by("-last_seq")[:5],
    }
    return render(request, "core/audit_trail.html", context)
