"""Objects the scoping sweep (tests/test_scoping_sweep.py) creates in each village: a department record about one of
the village's registered people, linked probabilistically (with its explanation) and an open review pair, so the
review pages and the person page are tried with village B's identifiers by a user of village A."""

from __future__ import annotations

from fupin.exchange.models import LinkReview, RecordLink, Snapshot, StagedRecord
from fupin.exchange.services import source_get

EXPLANATION = {"fields": [{"field": "证件号码", "level": "脱敏号码:地区、后四位相符", "weight": 12.0},
                          {"field": "姓名", "level": "姓名相同", "weight": 9.5}],
               "weight": 3.2, "probability": 0.9, "prior_weight": -18.3}
# a pair of the decision per record (docs/exchange.md): the pairwise probability, the record's other candidates,
# outside the registry, and the probability that the record is this person
RECORD_LEVEL_EXPLANATION = {**EXPLANATION, "weight": 1.2, "pair_probability": 0.697, "others_share": 0.234,
                            "outside_share": 0.147, "in_registry": 0.283, "probability": 0.619, "prior_weight": -20.3}


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.registry.models import Person

    person = Person.objects.filter(household__village=village).order_by("pk").first()
    if person is not None:
        make_review(person, address=village.name)


def make_review(person, *, score: float = 0.5, row: int = 2, name: str | None = None, address: str = "",
                explanation: dict | None = None) -> LinkReview:
    """A dibao record about `person` (masked ID), linked with an explanation (`EXPLANATION` unless given), and an
    open review pair for it."""
    explanation = explanation or EXPLANATION
    source = source_get("dibao")
    snap = Snapshot.objects.filter(source=source, is_current=True).first() or Snapshot.objects.create(
        source=source, file_name="扫描.csv", file_sha256="0", row_count=1, is_current=True)
    masked = (person.id_number or "")[:6] + "********" + (person.id_number or "")[14:]
    name = name or person.name
    rec = StagedRecord.objects.create(snapshot=snap, source_code="dibao", row_number=row,
                                      raw={"姓名": name, "身份证号": masked}, data={"姓名": name},
                                      id_raw=masked, id_clean=masked, id_status="invalid", name=name,
                                      address=address)
    RecordLink.objects.create(record=rec, person=person, snapshot=snap, source_code="dibao", method="probabilistic",
                              score=0.9, area_code=person.area_code, explanation=explanation)
    return LinkReview.objects.create(record_key=f"sweep{person.pk}-{row}", source_code="dibao", person=person,
                                     record=rec, score=score, area_code=person.area_code,
                                     details={"record": {"name": name, "id": masked, "row": row, "address": address},
                                              "explanation": explanation})


def watch_engine_links(monkeypatch) -> list[list[int]]:
    """The record ids the DuckDB engine is asked to link, one list per call (tests of carried-over links)."""
    from fupin.exchange.engine import DuckDBEngine

    calls: list[list[int]] = []
    link = DuckDBEngine.link

    def watch(self, *, records, con=None, **kw):
        if con is not None:  # the linkage's database, handed over with the records in it
            calls.append([r for (r,) in con.execute("SELECT record_id FROM records_in ORDER BY record_id").fetchall()])
        else:
            calls.append(records.column("record_id").to_pylist())
        return link(self, records=records, con=con, **kw)

    monkeypatch.setattr(DuckDBEngine, "link", watch)
    return calls
