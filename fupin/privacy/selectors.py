"""What the platform holds about one ID number, from which source: for the office answering a citizen's request
(PIPL art. 45). Reads only, scoped to the viewer's jurisdiction like every read of people's data."""

from __future__ import annotations

from dataclasses import dataclass, field

from fupin.core import idnumber
from fupin.core.fields import blind_q
from fupin.core.models import AuditEvent
from fupin.core.scoping import county_wide
from fupin.exchange.models import RecordLink, StagedRecord
from fupin.registry.models import Person


@dataclass
class PersonReport:
    id_number: str
    persons: list = field(default_factory=list)  # registry entries (a person in the registry, with household)
    records: list = field(default_factory=list)  # department records by source and snapshot
    links: int = 0
    audit_events: int = 0


def person_report(*, viewer, id_number: str) -> PersonReport:
    number = idnumber.normalise(id_number)  # raises IdNumberError with a Chinese message
    persons = list(Person.objects.restrict(viewer).filter(blind_q(Person, "id_number", number)).select_related("household"))
    # department rows carry no jurisdiction of their own: they are shown when the person is the viewer's, or when the
    # viewer's jurisdiction is the whole county (a county office answers for every department record it holds)
    records_qs = StagedRecord.objects.filter(id_number=number).select_related("snapshot", "snapshot__source")
    if not persons and not county_wide(viewer):
        records_qs = records_qs.none()
    records = [{
        "source": r.snapshot.source.name, "snapshot": r.snapshot, "current": r.snapshot.is_current,
        "row": r.row_number, "fields": sorted(k for k, v in (r.data or {}).items() if v not in ("", None)),
    } for r in records_qs.order_by("snapshot__source__name", "-snapshot__created_at")[:500]]
    person_ids = [str(p.pk) for p in persons]
    return PersonReport(
        id_number=number, persons=persons, records=records,
        links=RecordLink.objects.filter(person__in=persons).count(),
        audit_events=AuditEvent.objects.filter(object_type="registry.person", object_id__in=person_ids).count(),
    )
