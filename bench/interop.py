"""Benchmarks of the interop app: webhook delivery and the national-layout export.

1. 10,000 events (2,500 objects, 4 events each) written to the outbox through the change listener, then delivered
   by delivery passes to a local receiver on 127.0.0.1:8019 running in another process; the receiver verifies every
   signature, counts requests and unique event ids, and checks that each object's events arrived in order. Target:
   all delivered in ≤ 60 s, no loss, no duplicate beyond announced retries (the receiver never fails here, so none).
2. The registered-poor registry of --members members (a synthetic roster imported through the roster importer) is
   exported in the national layout (member and household sheets, streamed xlsx). Target: 100,000 members ≤ 30 s.

Usage (from the repository root):
    .venv/bin/python bench/interop.py                 # SQLite in a temporary directory
    .venv/bin/python bench/interop.py --postgres postgres://postgres@127.0.0.1:5432
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

from registry_common import append_doc, drop_database, load_note, make_county, setup_database

DB_NAME = "fupin_bench_interop"
SECRET = "bench-secret"
PORT = 8019


def _receive(port: int, conn) -> None:
    """The receiver process: serve until told to stop, then report what arrived."""
    import json

    from fupin.interop.receiver import WebhookReceiver

    last: dict[str, int] = {}
    out_of_order = []

    def check(payload):
        key = payload["object"]["id"]
        n = int(payload["values"]["status"])
        if n <= last.get(key, -1):
            out_of_order.append((key, n))
        last[key] = max(n, last.get(key, -1))
        return 200

    with WebhookReceiver(SECRET, port=port, behaviour=check) as rx:
        conn.send("ready")
        conn.recv()
        conn.send(json.dumps({"requests": len(rx.requests), "unique": len(rx.seen),
                              "invalid": sum(1 for r in rx.requests if not r["valid"]),
                              "out_of_order": len(out_of_order)}))


def bench_webhooks(events: int, objects: int) -> dict:
    import json

    from django.db import transaction

    from fupin.core import audit
    from fupin.interop import delivery
    from fupin.interop.models import Delivery
    from fupin.interop.services import subscription_create

    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_receive, args=(PORT, child), daemon=True)
    proc.start()
    assert parent.recv() == "ready"
    subscription_create(actor="bench", name="bench", url=f"http://127.0.0.1:{PORT}/", secret=SECRET,
                        event_types=["household.changed"], area_prefix="420581")
    t0 = time.perf_counter()
    per = events // objects
    for start in range(0, events, 1000):
        with transaction.atomic():
            audit.announce([audit.Change(action="registry.household.update", object_type="registry.household",
                                         object_id=str(i % objects), area_code="420581100200001",
                                         before={"status": ""}, after={"status": str(i // objects)})
                            for i in range(start, min(start + 1000, events))])
    written = time.perf_counter() - t0
    assert Delivery.objects.count() == events and per >= 1
    t1, c1 = time.perf_counter(), time.process_time()
    passes = 0
    while Delivery.objects.exclude(status="delivered").exists():
        delivery.deliver_pass()
        passes += 1
    seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
    parent.send("stop")
    report = json.loads(parent.recv())
    proc.join(5)
    report.update({"events": events, "objects": objects, "write_seconds": round(written, 1),
                   "deliver_seconds": round(seconds, 1), "deliver_cpu_seconds": round(cpu, 1), "passes": passes,
                   "delivered": Delivery.objects.filter(status="delivered").count()})
    return report


def bench_national(members: int) -> dict:
    from fupin.accounts.models import User
    from fupin.interop import national
    from fupin.registry.importer import import_roster
    from fupin.registry.testdata import roster_rows, write_csv

    places = make_county()
    tmp = Path(tempfile.mkdtemp(prefix="fupin-bench-national-"))
    rows = roster_rows(places, households=max(1, round(members / 3.36)), seed=1)
    import_roster(actor="bench", path=write_csv(tmp / "roster.csv", rows))
    everyone = User(is_superuser=True, username="bench")
    out = tmp / "national.xlsx"
    t0, c0 = time.perf_counter(), time.process_time()
    size = 0
    with open(out, "wb") as fh:
        for chunk in national.export_chunks(everyone, national.registered("")):
            size += fh.write(chunk)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    import openpyxl

    wb = openpyxl.load_workbook(out, read_only=True)
    member_rows = sum(1 for _ in wb[national.MEMBER_SHEET].iter_rows(values_only=True)) - 1
    household_rows = sum(1 for _ in wb[national.HOUSEHOLD_SHEET].iter_rows(values_only=True)) - 1
    return {"members": member_rows, "households": household_rows, "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "megabytes": round(size / 1e6, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--objects", type=int, default=2_500)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--postgres", help="server URL, e.g. postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--only", choices=["webhooks", "national"])
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    label = setup_database(args.postgres, DB_NAME)
    try:
        hooks = nat = None
        if args.only != "national":
            hooks = bench_webhooks(args.events, args.objects)
            print(f"{label} webhooks: {hooks}")
        if args.only != "webhooks":
            nat = bench_national(args.members)
            print(f"{label} national export: {nat}")
    finally:
        drop_database(args.postgres, DB_NAME)
    if args.write_doc:
        lines = [f"## Interop ({label}, bench/interop.py)", "",
                 "| what | size | seconds | target | notes |", "| --- | ---: | ---: | ---: | --- |"]
        if hooks:
            lost = hooks["events"] - hooks["unique"]
            dups = hooks["requests"] - hooks["unique"]
            lines.append(
                f"| webhook delivery to a local receiver (other process) | {hooks['events']:,} events, "
                f"{hooks['objects']:,} objects | {hooks['deliver_seconds']} | ≤ 60 | lost {lost}, duplicates "
                f"{dups}, out of order {hooks['out_of_order']}, bad signatures {hooks['invalid']}; outbox written "
                f"in {hooks['write_seconds']} s; {hooks['passes']} pass(es) |")
        if nat:
            lines.append(
                f"| national-layout export (streamed xlsx, two sheets) | {nat['members']:,} members, "
                f"{nat['households']:,} households | {nat['seconds']} | ≤ 30 | {nat['cpu_seconds']} s CPU, "
                f"{nat['megabytes']} MB |")
        append_doc("\n".join([*lines, "", f"Measured {load_note()}."]))


if __name__ == "__main__":
    main()
