"""Where the linkage's missed pairs are, after a `compare` (issue 19's recall at 10x): for each pair of the
generator's truth that was not linked, whether the record is linked to someone else, waiting in the review queue
with the right person among its candidates, waiting without the right person, or has no candidate at all; split by
rows without an ID (`missing_id` noise) and the rest.

    .venv/bin/python bench/linkage_misses.py --work DIR/work --truth DIR/county/truth.json

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
    args = parser.parse_args()
    from registry_common import open_work

    open_work(args.work)
    from django.db import connection

    from fupin.exchange.evaluation import predicted_pairs
    from fupin.exchange.models import LinkReview, StagedRecord
    from fupin.registry.models import Person

    truth = json.loads(args.truth.read_text(encoding="utf-8"))
    linked: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    for source, seq, number in predicted_pairs():
        linked[(source, seq)].add(number)
    raw_field, id_field = StagedRecord._meta.get_field("raw"), Person._meta.get_field("id_number")
    review: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    with connection.cursor() as cur:
        cur.execute(f'SELECT r.source_code, r.raw, p.id_number FROM "{LinkReview._meta.db_table}" v '
                    f'JOIN "{StagedRecord._meta.db_table}" r ON r.id = v.record_id '
                    f'JOIN "{Person._meta.db_table}" p ON p.id = v.person_id WHERE v.status = %s', ["open"])
        for source, raw, number in cur.fetchall():
            seq = int(raw_field.from_db_value(raw, None, connection)["序号"])
            review[(source, seq)].add(id_field.from_db_value(number, None, connection))
    causes: collections.Counter = collections.Counter()
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
    missed = sum(causes.values())
    print(f"expected pairs {expected}, missed {missed}, recall {1 - missed / expected:.5f}")
    for (cause, no_id), n in sorted(causes.items()):
        print(f"  {cause:50} {'rows without ID' if no_id else 'other rows':16} {n}")
    shown = sum(n for (cause, _), n in causes.items() if cause.startswith("in review, right"))
    print(f"links plus the right person among a review row's candidates: {1 - (missed - shown) / expected:.5f}")


if __name__ == "__main__":
    main()
