"""Measuring the linkage against a generator's truth (tests and benchmarks): precision and recall of record→person
pairs, where a person is their ID number and a record is (source, 序号)."""

from __future__ import annotations

import json

from django.db import connection

from fupin.exchange.models import RecordLink, Snapshot, StagedRecord


def predicted_pairs() -> set[tuple[str, int, str]]:
    from fupin.registry.models import Person

    current = list(Snapshot.objects.filter(is_current=True).values_list("pk", flat=True))
    if not current:
        return set()
    marks = ", ".join(["%s"] * len(current))
    sql = (f'SELECT r.source_code, r.raw, p.id_number FROM "{RecordLink._meta.db_table}" l '  # noqa: S608
           f'JOIN "{StagedRecord._meta.db_table}" r ON r.id = l.record_id '
           f'JOIN "{Person._meta.db_table}" p ON p.id = l.person_id WHERE l.snapshot_id IN ({marks})')
    with connection.cursor() as cur:
        cur.execute(sql, current)
        rows = cur.fetchall()
    out = set()
    sealed = Person._meta.get_field("id_number")  # opened here, in memory (fupin/core/fields.py)
    sealed_raw = StagedRecord._meta.get_field("raw")
    for source, raw, number in rows:
        raw = sealed_raw.from_db_value(raw, None, connection)
        out.add((source, int(raw["序号"]), sealed.from_db_value(number, None, connection)))
    return out


def linkage_quality(truth: dict, got: set | None = None) -> dict:
    """got: the predicted pairs when the caller already has them (`predicted_pairs`)."""
    expected = {(t["source"], int(t["seq"]), t["person"]) for t in truth["links"] if t["person"]}
    got = predicted_pairs() if got is None else got
    tp = len(expected & got)
    return {"precision": tp / len(got) if got else 1.0, "recall": tp / len(expected) if expected else 1.0,
            "true_positives": tp, "false_positives": len(got - expected), "false_negatives": len(expected - got),
            "expected": len(expected), "predicted": len(got)}


def exact_id_recall(truth: dict) -> float:
    """Recall of exact ID joins alone (what a system without linkage would reach)."""
    expected = {(t["source"], int(t["seq"]), t["person"]) for t in truth["links"] if t["person"]}
    got = {(s, q, p) for s, q, p in predicted_pairs()}
    rows = StagedRecord.objects.filter(snapshot__is_current=True, id_status="valid").values_list(
        "source_code", "raw", "id_number")
    exact = {(s, int((json.loads(r) if isinstance(r, str) else r)["序号"]), n) for s, r, n in rows}
    del got
    return len(expected & exact) / len(expected) if expected else 1.0


def linkage_quality_by_noise(truth: dict, got: set | None = None) -> dict[str, dict]:
    """Precision and recall per kind of noise of the independent generator (truth rows carry `noise` labels);
    "clean" is the rows without any. Precision counts the links predicted for rows of that kind."""
    got = predicted_pairs() if got is None else got
    got_by_row: dict[tuple[str, int], set[str]] = {}
    for source, seq, number in got:
        got_by_row.setdefault((source, seq), set()).add(number)
    out: dict[str, dict] = {}
    for t in truth["links"]:
        kinds = t.get("noise") or ["clean"]
        predicted = got_by_row.get((t["source"], int(t["seq"])), set())
        for kind in kinds:
            c = out.setdefault(kind, {"rows": 0, "expected": 0, "found": 0, "predicted": 0, "correct": 0})
            c["rows"] += 1
            if t["person"]:
                c["expected"] += 1
                c["found"] += t["person"] in predicted
            c["predicted"] += len(predicted)
            c["correct"] += len(predicted & {t["person"]}) if t["person"] else 0
    for c in out.values():
        c["recall"] = round(c["found"] / c["expected"], 5) if c["expected"] else None
        c["precision"] = round(c["correct"] / c["predicted"], 5) if c["predicted"] else None
    return dict(sorted(out.items()))
