"""Accountable exports of people's data (等保 2.0, PIPL): every export is recorded (who, when, what filter, how many
people, full IDs or masked), limited in rate, approved by another person above a size or with full ID numbers, and
watermarked with the user and the time.

An export view calls `authorise(...)` before it writes anything:

    decision = exportlog.authorise(user=request.user, kind="registry.roster", title="花名册",
                                   url=request.get_full_path(), people=n, full_ids=True)
    # raises ExportRefused (rate limit) or ApprovalRequired (carrying the URL of the request form)

Settings: `FUPIN_EXPORT_RATE_PER_HOUR` (exports per user per hour, default 30), `FUPIN_EXPORT_APPROVAL_PEOPLE`
(exports of more people need an approval; default 5,000; 0 = never), `FUPIN_EXPORT_APPROVAL_FULL_IDS` (exports with
full ID numbers need an approval; default off). Users with `approve_exports` approve others' requests, never their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent, ExportRequest

APPROVAL_VALID = dt.timedelta(days=1)


class ExportRefused(ServiceError):
    pass


class ApprovalRequired(ServiceError):
    def __init__(self, message: str, request_url: str):
        super().__init__(message)
        self.request_url = request_url


def _hash(kind: str, url: str) -> str:
    return hashlib.sha256(f"{kind}\n{url}".encode()).hexdigest()


def needs_approval(*, people: int, full_ids: bool) -> bool:
    limit = int(getattr(settings, "FUPIN_EXPORT_APPROVAL_PEOPLE", 5000))
    return bool((limit and people > limit) or (full_ids and getattr(settings, "FUPIN_EXPORT_APPROVAL_FULL_IDS", False)))


def watermark(user, when: dt.datetime | None = None) -> str:
    when = timezone.localtime(when or timezone.now())
    name = getattr(user, "display_name", "") or getattr(user, "username", "") or "system"
    return f"{name}({getattr(user, 'username', '')}) {when:%Y-%m-%d %H:%M} 导出"


@transaction.atomic
def authorise(*, user, kind: str, title: str, url: str, people: int, full_ids: bool) -> AuditEvent:
    """Check the rate limit and the approval, then record the export; returns its audit event."""
    rate = int(getattr(settings, "FUPIN_EXPORT_RATE_PER_HOUR", 30))
    since = timezone.now() - dt.timedelta(hours=1)
    if rate and AuditEvent.objects.filter(actor=user, action__startswith="export.", at__gte=since).count() >= rate:
        raise ExportRefused(_("Too many exports: at most %(n)s exports per person per hour, please try again later") % {"n": rate})
    approval = None
    if needs_approval(people=people, full_ids=full_ids) and not getattr(user, "is_superuser", False):
        approval = (ExportRequest.objects.select_for_update()
                    .filter(requester=user, filter_hash=_hash(kind, url), status=ExportRequest.Status.APPROVED,
                            decided_at__gte=timezone.now() - APPROVAL_VALID).order_by("-decided_at").first())
        if approval is None:
            reason = (_("%(n)s people, with full ID numbers") if full_ids else _("%(n)s people")) % {"n": people}
            query = urlencode({"kind": kind, "title": title, "url": url, "people": people,
                               "full_ids": int(full_ids)})
            raise ApprovalRequired(_("This export (%(reason)s) needs approval before it can be downloaded") % {"reason": reason},
                                   f"/exports/request/?{query}")
        ExportRequest.objects.filter(pk=approval.pk).update(status=ExportRequest.Status.USED)
    return audit.record(actor=user, action=f"export.{kind}", object_type="core.export", object_id=kind[:64],
                        object_repr=f"{title}:{people}人"[:200], area_code=getattr(user, "area_code", "") or "",
                        after={"url": url, "people": people, "full_ids": full_ids,
                               "approval": approval.pk if approval else None})


@transaction.atomic
def request_create(*, user, kind: str, title: str, url: str, people: int, full_ids: bool, reason: str
                   ) -> ExportRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Please fill in what the export is for"), field="reason")
    req = ExportRequest.objects.create(requester=user, kind=kind[:50], title=title[:200], url=url[:1000],
                                       filter_hash=_hash(kind, url), people=people, full_ids=full_ids,
                                       reason=reason[:300], area_code=getattr(user, "area_code", "") or "")
    audit.record(actor=user, action="export.request", obj=req, object_repr=str(req)[:200], note=reason[:300])
    return req


def pending_for(approver):
    """Requests the approver may decide: pending, in their jurisdiction, not their own."""
    if not (getattr(approver, "is_superuser", False) or approver.can("approve_exports")):
        return ExportRequest.objects.none()
    return (ExportRequest.objects.restrict(approver).filter(status=ExportRequest.Status.PENDING)
            .exclude(requester=approver).select_related("requester"))


@transaction.atomic
def request_decide(*, actor, req: ExportRequest, approve: bool, note: str = "") -> ExportRequest:
    if not (getattr(actor, "is_superuser", False) or actor.can("approve_exports")):
        raise ServiceError(_("You may not approve exports"))
    if req.requester_id == actor.pk:
        raise ServiceError(_("You cannot approve your own export request"))
    if not ExportRequest.objects.restrict(actor).filter(pk=req.pk).exists():
        raise ServiceError(_("This request is outside your jurisdiction"))
    if req.status != ExportRequest.Status.PENDING:
        raise ServiceError(_("This request has already been handled"))
    req.status = ExportRequest.Status.APPROVED if approve else ExportRequest.Status.REFUSED
    req.decided_by, req.decided_at, req.decision_note = actor, timezone.now(), (note or "")[:300]
    req.save()
    audit.record(actor=actor, action="export.approve" if approve else "export.refuse", obj=req,
                 object_repr=str(req)[:200], note=note[:300])
    return req


# -- the one wrapper for export views -------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def guard(request, *, kind: str, title: str, people: int, full_ids: bool | None = None, back: str = "/"):
    """authorise() for a view: None when the export may go ahead (it is recorded), else the response to give instead
    (the approval form, or back with the reason: to the page the user came from, else `back`). `full_ids` defaults
    to whether the user sees full ID numbers (the exports mask them otherwise)."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.http import url_has_allowed_host_and_scheme

    if full_ids is None:
        full_ids = bool(getattr(request.user, "may_view_full_id", False)) or request.user.is_superuser
    try:
        authorise(user=request.user, kind=kind, title=title, url=request.get_full_path(), people=people,
                  full_ids=full_ids)
    except ApprovalRequired as exc:
        messages.info(request, exc.message)
        return redirect(exc.request_url)
    except ExportRefused as exc:
        messages.error(request, exc.message)
        referer = request.META.get("HTTP_REFERER", "")
        ok = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
        return redirect(referer if referer and ok else back)
    return None


def _xlsx_watermarked(content: bytes, mark: str) -> tuple[bytes, int]:
    """The workbook with the watermark in every sheet's page header and footer and in its properties; and the
    number of data rows (rows below each sheet's first), which is the count of people an export names."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content))
    rows = 0
    for ws in wb.worksheets:
        ws.oddHeader.right.text = mark
        ws.oddFooter.right.text = mark
        ws.evenHeader.right.text = mark
        ws.evenFooter.right.text = mark
        rows += max(0, ws.max_row - 1)
    wb.properties.creator = mark[:250]
    wb.properties.description = mark
    wb.properties.keywords = "fupin-export"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), rows


def accountable(kind: str, title: str, *, full_ids: bool | None = None):
    """Decorate an export view (xlsx, csv or pdf answered whole): the documents made while it runs carry the
    exporter's watermark; its answer is then counted (xlsx and csv: data rows; pdf: rows of its tables), recorded,
    rate-limited and held for approval like every export (`guard`), and an xlsx gets the watermark in its sheets.
    A view that answers with a page or an error passes through untouched."""
    import functools

    from django.http import FileResponse, HttpResponse

    from fupin.core import pdf

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            mark = watermark(request.user)
            counter = [0]
            t1, t2 = pdf.EXPORT_WATERMARK.set(mark), pdf.EXPORT_ROWS.set(counter)
            try:
                response = view(request, *args, **kwargs)
            finally:
                pdf.EXPORT_WATERMARK.reset(t1)
                pdf.EXPORT_ROWS.reset(t2)
            ctype = response.get("Content-Type", "")
            if response.status_code != 200 or not any(t in ctype for t in (XLSX_TYPE, "text/csv", "application/pdf")):
                return response
            if isinstance(response, FileResponse):
                content = b"".join(response.streaming_content)
                # close the file only: response.close() would send request_finished (and close the database
                # connection) in the middle of the request
                handle = getattr(response, "file_to_stream", None)
                if handle is not None:
                    handle.close()
                headers = {k: v for k, v in response.items() if k.lower() not in ("content-length",)}
                response = HttpResponse(content, headers=headers)
            people = counter[0]
            if XLSX_TYPE in ctype:
                response.content, people = _xlsx_watermarked(response.content, mark)
            elif "text/csv" in ctype:
                people = max(0, response.content.count(b"\n") - 1)
            refused = guard(request, kind=kind, title=title, people=people, full_ids=full_ids)
            return refused if refused is not None else response

        wrapper.export_kind = kind  # functools.wraps carries it to the outer decorators: the sweep test reads it
        return wrapper

    return deco
