"""Where the linkage's missed pairs are, after a `compare` (issue 19's recall at 10x): for each pair of the
generator's truth that was not linked, whether the record is linked to someone else, waiting in the review queue
with the right person among its candidates, waiting without the right person, or has no candidate at all; split by
rows without an ID (`missing_id` noise) and the rest.

    .venv/bin/python bench/linkage_misses.py --work DIR/work --truth DIR/county/truth.json [--calibration]

`--calibration` also prints how right the probabilities are (a reliability table): every probabilistic link and
every open review candidate, by band of its probability, counted as the right person, another registry person
than the record's, or a record of someone outside the registry — for all such rows, and for the records with a
single candidate (no second one in review) and no ID apart. A band whose share right is far from its
probabilities says the model is not calibrated there.

DIR/work is what `bench/compare_steps.py` leaves after a run (its database and data folder).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--truth", required=True, type=Path)
    parser.add_argument("--calibration", action="store_true")
    args = parser.parse_args()
    from registry_common import open_work

    open_work(args.work)
    from django.db import connection

    from fupin.exchange.evaluation import predicted_pairs
    from fupin.exchange.models import LinkReview, RecordLink, StagedRecord
    from fupin.registry.models import Person

    truth = json.loads(args.truth.read_text(encoding="utf-8"))
    linked: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    for source, seq, number in predicted_pairs():
        linked[(source, seq)].add(number)
    raw_field, id_field = StagedRecord._meta.get_field("raw"), Person._meta.get_field("id_number")
    review: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    scored: list[tuple[str, tuple[str, int], str, float]] = []  # (link | review, record, person, probability)
    with connection.cursor() as cur:
        cur.execute(f'SELECT r.source_code, r.raw, p.id_number, v.score FROM "{LinkReview._meta.db_table}" v '
                    f'JOIN "{StagedRecord._meta.db_table}" r ON r.id = v.record_id '
                    f'JOIN "{Person._meta.db_table}" p ON p.id = v.person_id WHERE v.status = %s', ["open"])
        for source, raw, number, score in cur.fetchall():
            seq = int(raw_field.from_db_value(raw, None, connection)["序号"])
            number = id_field.from_db_value(number, None, connection)
            review[(source, seq)].add(number)
            scored.append(("review", (source, seq), number, score))
        if args.calibration:
            cur.execute(f'SELECT r.source_code, r.raw, p.id_number, l.score FROM "{RecordLink._meta.db_table}" l '
                        f'JOIN "{StagedRecord._meta.db_table}" r ON r.id = l.record_id '
                        f'JOIN "{Person._meta.db_table}" p ON p.id = l.person_id WHERE l.method = %s',
                        ["probabilistic"])
            for source, raw, number, score in cur.fetchall():
                seq = int(raw_field.from_db_value(raw, None, connection)["序号"])
                scored.append(("link", (source, seq), id_field.from_db_value(number, None, connection), score))
    causes: collections.Counter = collections.Counter()
    no_candidate_noise: collections.Counter = collections.Counter()  # a row may carry several kinds
    expected = 0
    for t in truth["links"]:
        if not t["person"]:
            continue
        expected += 1
        key = (t["source"], int(t["seq"]))
        if t["person"] in linked.get(key, ()):
            continue
        if linked.get(key):
            cause = "linked to someone else"
        elif t["person"] in review.get(key, ()):
            cause = "in review, right person among the candidates"
        elif review.get(key):
            cause = "in review, right person not among the candidates"
        else:
            cause = "no candidate"
        causes[(cause, "missing_id" in (t.get("noise") or []))] += 1
        if cause == "no candidate":
            for kind in t.get("noise") or ["clean"]:
                no_candidate_noise[kind] += 1
    missed = sum(causes.values())
    print(f"expected pairs {expected}, missed {missed}, recall {1 - missed / expected:.5f}")
    for (cause, no_id), n in sorted(causes.items()):
        print(f"  {cause:50} {'rows without ID' if no_id else 'other rows':16} {n}")
    print("  no candidate, by kind of noise:", ", ".join(f"{k} {n}" for k, n in no_candidate_noise.most_common()))
    shown = sum(n for (cause, _), n in causes.items() if cause.startswith("in review, right"))
    print(f"links plus the right person among a review row's candidates: {1 - (missed - shown) / expected:.5f}")
    if args.calibration:
        calibration(truth, scored, review)


def calibration(truth: dict, scored: list, review: dict) -> None:
    """The reliability table: per kind (link, review), group and band of probability, how many candidates are the
    right person, another registry person, or stand for a record of someone outside the registry."""
    person_of = {(t["source"], int(t["seq"])): t["person"] for t in truth["links"]}
    no_id = {(t["source"], int(t["seq"])) for t in truth["links"] if "missing_id" in (t.get("noise") or [])}
    table: collections.Counter = collections.Counter()
    for kind, key, number, score in scored:
        if score is None or key not in person_of:
            continue
        band = min(int(score * 10), 9) / 10
        truth_person = person_of[key]
        verdict = "right" if truth_person == number else ("outsider" if truth_person is None else "other person")
        groups = ["all"]
        if kind == "link" or len(review.get(key, ())) == 1:
            groups.append("single candidate" + (", no ID" if key in no_id else ""))
        for group in groups:
            table[(kind, group, band, verdict)] += 1
    print("reliability: kind / group / band of probability: right, other person, outsider (share right)")
    for kind, group, band in sorted({k[:3] for k in table}):
        right, other, out = (table[(kind, group, band, v)] for v in ("right", "other person", "outsider"))
        n = right + other + out
        print(f"  {kind:6} {group:26} {band:.1f}-{band + 0.1:.1f}: {right:8} {other:6} {out:7}  ({right / n:.3f})")


if __name__ == "__main__":
    main()
