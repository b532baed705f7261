"""Digests of what `compare` wrote, to tell two runs' results equal (before / after a change that must not alter them).

    .venv/bin/python bench/compare_digests.py DIR/work [--json FILE]

Reads DIR/work/db.sqlite3 (the database a `bench/compare_steps.py` or `bench/compare_memory.py` run left) through
the ORM (sealed fields opened) and prints one SHA-256 per table: the links (record, person, snapshot, method, score,
area, explanation), the review pairs and their details, the findings (key, household, person, rule, source, evidence,
evidence hash, status, version, area), the assessments (household, score, rank, rank_of, parts, priorities, area),
the inbox items (user, kind, title, body, url, area, due date, dedupe key), the audit events by action, and each run's
stats without its timings (every key `seconds*`, at any depth). Equal digests: the same rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _hash(rows) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str).encode())
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()


def digests() -> dict[str, dict]:
    from django.db.models import Count

    from fupin.core.models import AuditEvent
    from fupin.eligibility.models import Assessment, ComparisonRun, Finding
    from fupin.exchange.models import LinkReview, RecordLink
    from fupin.inbox.models import InboxItem

    tables = {
        "links": RecordLink.objects.order_by("record_id", "person_id").values_list(
            "record_id", "person_id", "snapshot_id", "method", "score", "area_code", "explanation"),
        "reviews": LinkReview.objects.order_by("record_key", "person_id").values_list(
            "record_key", "person_id", "record_id", "source_code", "score", "details", "area_code", "status"),
        "findings": Finding.objects.order_by("key").values_list(
            "key", "household_id", "person_id", "person_id_number", "rule_code", "rule_name", "source_code",
            "evidence", "evidence_hash", "status", "version", "area_code", "household_code"),
        "assessments": Assessment.objects.order_by("household_id").values_list(
            "household_id", "score", "rank", "rank_of", "parts", "priorities", "area_code"),
        "inbox": InboxItem.objects.order_by("dedupe_key", "user_id").values_list(
            "user_id", "kind", "title", "body", "url", "area_code", "due_date", "dedupe_key"),
        "audit_by_action": AuditEvent.objects.values("action").annotate(n=Count("id")).order_by("action")
        .values_list("action", "n"),
    }
    out = {}
    for name, qs in tables.items():
        n, d = _hash(list(r) for r in qs.iterator(chunk_size=20000))
        out[name] = {"rows": n, "sha256": d}
    def untimed(obj):
        if isinstance(obj, dict):
            return {k: untimed(v) for k, v in obj.items() if not k.startswith("seconds")}
        return [untimed(v) for v in obj] if isinstance(obj, list) else obj

    runs = [untimed(stats or {}) for stats in ComparisonRun.objects.order_by("pk").values_list("stats", flat=True)]
    out["runs"] = {"rows": len(runs), "sha256": _hash(runs)[1], "stats": runs}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from registry_common import open_work

    open_work(args.work)
    out = digests()
    print(json.dumps({k: {x: y for x, y in v.items() if x != "stats"} for k, v in out.items()}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
