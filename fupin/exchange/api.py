"""Department sources, snapshots, a person's linked records and the review queue."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from fupin.core import idviews
from fupin.core.apierrors import refusal_as
from fupin.exchange import selectors
from fupin.exchange.models import Snapshot, Source
from fupin.exchange.services import review_decide

router = Router(tags=["exchange"])


class SourceOut(Schema):
    code: str
    name: str
    department: str | None
    fields: list[str]
    current_rows: int | None
    current_file: str | None
    imported_at: str | None


class NotUnderstoodOut(Schema):
    field: str
    value: str
    rows: int


class SnapshotOut(Schema):
    id: int
    source: str
    file_name: str
    file_sha256: str
    row_count: int
    problem_count: int
    unreadable_count: int
    is_current: bool
    created_at: str
    id_kinds: dict[str, int]  # full, repaired, legacy15, masked, invalid, missing
    sheets_read: list[str]
    skipped_rows: int  # footer and note rows, listed on the snapshot page
    not_understood: list[NotUnderstoodOut]


class ExplanationFieldOut(Schema):
    field: str
    level: str
    weight: float


class ExplanationOut(Schema):
    """Why a probabilistic link or review pair: each field's level and weight (log2 Bayes factor), the total."""

    fields: list[ExplanationFieldOut]
    weight: float
    probability: float
    prior_weight: float | None = None
    # the record level (links and reviews since the decision per record): see docs/exchange.md
    pair_probability: float | None = None
    others_share: float | None = None
    outside_share: float | None = None
    in_registry: float | None = None


class LinkedRecordOut(Schema):
    source: str
    file_name: str
    row_number: int
    fields: dict[str, str]
    id_as_received: str
    id_status: str
    method: str
    score: float | None
    explanation: ExplanationOut | None = None


class ReviewOut(Schema):
    id: int
    source: str
    person_id: int
    person_name: str
    record_name: str
    record_id_number: str
    score: float | None
    status: str
    explanation: ExplanationOut | None = None


class DecisionIn(Schema):
    decision: str
    note: str = ""


@router.get("/sources", response=list[SourceOut])
def list_sources(request):
    out = []
    for row in selectors.sources_overview():
        s, snap = row["source"], row["snapshot"]
        out.append({"code": s.code, "name": s.name, "department": s.department.code if s.department_id else None,
                    "fields": s.field_names(), "current_rows": snap.row_count if snap else None,
                    "current_file": snap.file_name if snap else None,
                    "imported_at": snap.created_at.isoformat() if snap else None})
    return out


@router.get("/snapshots", response=list[SnapshotOut])
def list_snapshots(request, source: str | None = None):
    if not selectors.county_wide(request.user):
        raise HttpError(403, _("Only county import staff may view department data snapshots"))
    qs = Snapshot.objects.select_related("source")
    if source:
        qs = qs.filter(source__code=source)
    return [{"id": s.pk, "source": s.source.code, "file_name": s.file_name, "file_sha256": s.file_sha256,
             "row_count": s.row_count, "problem_count": s.problem_count, "unreadable_count": s.unreadable_count,
             "is_current": s.is_current, "created_at": s.created_at.isoformat(), "id_kinds": s.id_kinds or {},
             "sheets_read": [x["name"] for x in s.sheets or [] if x.get("read")], "skipped_rows": len(s.skipped or []),
             "not_understood": [{"field": f, "value": v, "rows": n} for f, v, n in s.not_understood or []]}
            for s in qs[:500]]


@router.get("/persons/{person_id}/records", response=list[LinkedRecordOut])
def person_records(request, person_id: int):
    person = selectors.person_for_user(request.user, person_id)
    if person is None:
        raise Http404
    return [{"source": link.source_code, "file_name": link.snapshot.file_name,
             "row_number": link.record.row_number, "fields": dict(selectors.record_fields(link.record, request.user)),
             "id_as_received": idviews.shown_in_text(link.record.id_raw, request.user),
             "id_status": link.record.id_status, "method": link.method, "score": link.score,
             "explanation": link.explanation or None}
            for link in selectors.person_links(person)]


@router.get("/reviews", response=list[ReviewOut])
def list_reviews(request, status: str = "open"):
    return [{"id": rv.pk, "source": rv.source_code, "person_id": rv.person_id, "person_name": rv.person.name,
             "record_name": (rv.details.get("record") or {}).get("name", ""),
             "record_id_number": idviews.shown_in_text((rv.details.get("record") or {}).get("id", ""), request.user),
             "score": rv.score, "status": rv.status, "explanation": (rv.details or {}).get("explanation")}
            for rv in selectors.reviews_for_user(request.user, status=status or "open")[:500]]


@router.post("/reviews/{review_id}/decide", response=ReviewOut)
def decide(request, review_id: int, body: DecisionIn):
    review = selectors.reviews_for_user(request.user).filter(pk=review_id).first()
    if review is None:
        raise Http404
    if not request.user.can("edit"):
        raise HttpError(403, _("Not allowed"))
    with refusal_as(400):
        rv = review_decide(actor=request.user, review=review, decision=body.decision, note=body.note)
    return {"id": rv.pk, "source": rv.source_code, "person_id": rv.person_id, "person_name": rv.person.name,
            "record_name": (rv.details.get("record") or {}).get("name", ""),
            "record_id_number": idviews.shown_in_text((rv.details.get("record") or {}).get("id", ""), request.user),
            "score": rv.score, "status": rv.status}


__all__ = ["Source", "router"]
