"""Reads of the data exchange, always through the user's jurisdiction."""

from __future__ import annotations

import re

from fupin.core.scoping import scope_prefix
from fupin.exchange.models import LinkReview, LinkRun, RecordLink, Snapshot, Source


def county_wide(user) -> bool:
    """Department files as a whole (problems, row lists) are for county-level staff who import them."""
    prefix = scope_prefix(user)
    return prefix is not None and len(prefix) <= 6 and user.can("import")


def sources_overview() -> list[dict]:
    current = {s.source_id: s for s in Snapshot.objects.filter(is_current=True)}
    out = []
    for src in Source.objects.select_related("department"):
        snap = current.get(src.pk)
        out.append({"source": src, "snapshot": snap})
    return out


def person_for_user(user, pk: int):
    from fupin.registry.models import Person

    return Person.objects.restrict(user).select_related("household", "household__village").filter(pk=pk).first()


def person_links(person) -> list[RecordLink]:
    return list(RecordLink.objects.filter(person=person, snapshot__is_current=True)
                .select_related("record", "snapshot", "snapshot__source").order_by("source_code", "record__row_number"))


def reviews_for_user(user, *, status: str = "open"):
    return (LinkReview.objects.restrict(user).filter(status=status)
            .select_related("person", "person__household", "record", "record__snapshot").order_by("-score", "id"))


def last_link_run() -> LinkRun | None:
    return LinkRun.objects.first()


_ID_LIKE = re.compile(r"\d{6}[\dXx*]{8,12}")


def mask_text(text: object, user) -> str:
    """Mask anything that looks like an ID number unless the user may see full IDs."""
    from fupin.core.idnumber import mask

    text = "" if text is None else str(text)
    if getattr(user, "may_view_full_id", False):
        return text
    return _ID_LIKE.sub(lambda m: mask(m.group()), text)


def record_fields(record, user) -> list[tuple[str, str]]:
    return [(k, mask_text(v, user)) for k, v in (record.data or {}).items() if v not in ("", None)]


def id_kind_counts(snapshot) -> list[dict]:
    """Per ID kind (full, repaired, legacy15, masked, invalid, missing) of a snapshot: its records and how many of
    them are linked to a registry person. [{"kind", "label", "records", "linked"}] in IdKind order."""
    from django.db.models import Count, Exists, OuterRef

    from fupin.core.idnumber import IdKind
    from fupin.exchange.models import StagedRecord

    linked = RecordLink.objects.filter(record=OuterRef("pk"))
    rows = (StagedRecord.objects.filter(snapshot=snapshot).annotate(is_linked=Exists(linked))
            .values("id_kind", "is_linked").annotate(n=Count("id")))
    counts = {k: {"records": 0, "linked": 0} for k in IdKind.ALL}
    for r in rows:
        c = counts.setdefault(r["id_kind"], {"records": 0, "linked": 0})
        c["records"] += r["n"]
        if r["is_linked"]:
            c["linked"] += r["n"]
    return [{"kind": k, "label": IdKind.LABELS.get(k, k), **c} for k, c in counts.items()]
