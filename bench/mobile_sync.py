"""Benchmark of the phone app's sync and shell.

Measures, through the whole stack (Django's test client: token authentication, the slice, JSON and gzip):
1. the first sync of a grid of 2,000 households (each with 4 members, a plan measure, a policy received, a light):
   server time, the answer's size raw and gzip-compressed, and the time that answer takes over the issue's slow-3G
   link (1.6 Mbit/s down, 150 ms round trip) computed from its compressed size;
2. a sync with nothing changed (the cursor of the first): server time and size;
3. 850 grid workers' syncs in the same minute: 850 syncs (a first sync each, then the empty sync most phones do)
   of grids of 130 households (390,000 residents in 850 grids), one after another in one process: the total server
   time that minute must absorb;
4. the app shell (page, manifest, service worker, script, stylesheet, icons) compressed: ≤ 500 KB.

Usage (from the repository root):
    .venv/bin/python bench/mobile_sync.py                  # SQLite in a temporary directory
    .venv/bin/python bench/mobile_sync.py --postgres       # PostgreSQL database fupin_bench_mobile
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry_common import append_doc, drop_database, load_note, setup_database  # noqa: E402

PG_SERVER = "postgres://postgres@127.0.0.1:5432/fupin_bench_mobile"
DOWN_BITS = 1.6e6
RTT = 0.150
SMALL_GRIDS = 8
SMALL_SIZE = 130


def build(big: int) -> dict:
    """One grid of `big` households and SMALL_GRIDS grids of SMALL_SIZE, written with the demo's fast row writer."""
    from django.db import transaction

    from fupin.accounts.services import device_token_issue
    from fupin.assistance.models import HouseholdPlan, Measure, Policy, PolicyReceipt, Unit
    from fupin.assistance.tracking import recompute_all
    from fupin.core.bulk import BulkWriter
    from fupin.core.testing import make_id, make_user
    from fupin.geo.models import Division, Grid
    from fupin.registry.models import Household, Person

    rng = random.Random(15)
    today = dt.date.today()
    with transaction.atomic():
        county = Division.objects.create(code="420581000000", name="宜都市", level="county")
        town = Division.objects.create(code="420581100000", name="红花套镇", level="town", parent=county)
        village = Division.objects.create(code="420581100201", name="渔洋溪村", level="village", parent=town)
        grids = [Grid.objects.create(code=f"{village.code}{g + 1:03d}", village=village, name=f"第{g + 1}网格")
                 for g in range(1 + SMALL_GRIDS)]
        Unit.objects.create(name="县扶贫办")
        policy = Policy.objects.create(name="教育资助", kind="education")
        sizes = [big] + [SMALL_SIZE] * SMALL_GRIDS
        hh_rows, person_rows, plan_rows, measure_rows, receipt_rows = [], [], [], [], []
        hid = pid = 0
        for grid, n in zip(grids, sizes, strict=True):
            for _ in range(n):
                hid += 1
                hh_rows.append({"id": hid, "village_id": village.pk, "grid_id": grid.pk, "area_code": grid.code,
                                "head_name": f"户主{hid}", "phone": f"139{hid:08d}", "address": f"{hid % 12 + 1}组",
                                "size": 4, "is_registered_poor": True, "poor_code": f"4205811002010{hid:04d}",
                                "poverty_status": "0", "attribute": "1", "main_cause": "3",
                                "lng": 111.4 + rng.random() * 0.1, "lat": 30.4 + rng.random() * 0.1})
                for k, rel in enumerate(("户主", "配偶", "之子", "之女")):
                    pid += 1
                    person_rows.append({"id": pid, "household_id": hid, "area_code": grid.code, "relationship": rel,
                                        "name": f"成员{pid}", "id_number": make_id(rng=rng), "sex": "1" if k % 2 == 0
                                        else "2", "birth_date": dt.date(1960 + k * 10, 5, 1)})
                plan_rows.append({"id": hid, "household_id": hid, "area_code": grid.code, "year": today.year})
                measure_rows.append({"id": hid, "plan_id": hid, "household_id": hid, "area_code": grid.code,
                                     "kind": "education", "title": "申请助学金", "target_date": today})
                receipt_rows.append({"id": hid, "household_id": hid, "policy_id": policy.pk, "area_code": grid.code,
                                     "received_on": today, "amount": 1000})
        for model, rows in ((Household, hh_rows), (Person, person_rows), (HouseholdPlan, plan_rows),
                            (Measure, measure_rows), (PolicyReceipt, receipt_rows)):
            BulkWriter(model, with_pk=True).write(rows)
    recompute_all()
    workers = []
    for g, grid in enumerate(grids):
        user = make_user(f"wg{g}", "grid_worker", grid=grid)
        _token, secret = device_token_issue(actor=user, user=user, device_name=f"手机{g}")
        workers.append(secret)
    return {"big": workers[0], "small": workers[1:], "households": hid, "persons": pid}


def timed_sync(client, secret: str, cursor: str | None = None) -> tuple[float, bytes, dict]:
    path = "/api/v1/mobile/sync" + (f"?cursor={cursor}" if cursor else "")
    t0 = time.perf_counter()
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_ENCODING="gzip")
    seconds = time.perf_counter() - t0
    assert response.status_code == 200, response.content[:300]
    body = response.content
    raw = gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body
    return seconds, body, json.loads(raw)


def shell_size(client) -> dict:
    """Every file the service worker caches, gzip-compressed (as the web server sends them)."""
    from django.contrib.staticfiles import finders

    from fupin.mobile.views import SHELL_ASSETS

    sizes = {}
    for path in ("/app/", "/app/manifest.webmanifest", "/app/sw.js"):
        sizes[path] = len(gzip.compress(client.get(path).content, 9))
    for name in SHELL_ASSETS:
        data = Path(finders.find(name)).read_bytes()
        sizes[name] = min(len(data), len(gzip.compress(data, 9)))  # images do not shrink: sent as they are
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    label = setup_database(PG_SERVER if args.postgres else None, "fupin_bench_mobile")
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    t0 = time.monotonic()
    world = build(args.households)
    print(f"{label}: built {world['households']} households, {world['persons']} persons "
          f"in {time.monotonic() - t0:.1f} s")
    client = Client()

    firsts, first_cpu = [], []
    for _ in range(3):
        c0 = time.process_time()
        seconds, body, data = timed_sync(client, world["big"])
        firsts.append(seconds)
        first_cpu.append(time.process_time() - c0)
    assert len(data["upserts"]["households"]) == args.households
    raw_size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    gz_size = len(body)
    link = gz_size * 8 / DOWN_BITS + 2 * RTT
    cursor = data["cursor"]
    empties, empty_cpu = [], []
    for _ in range(5):
        c0 = time.process_time()
        seconds, ebody, edata = timed_sync(client, world["big"], cursor)
        empties.append(seconds)
        empty_cpu.append(time.process_time() - c0)
        assert not any(edata["upserts"].values())
        cursor = edata["cursor"]

    # 850 phones' syncs in one minute: each small grid's phones sync with their cursor, as after the morning's first
    cursors: dict[str, str | None] = dict.fromkeys(world["small"])
    t0, c0 = time.perf_counter(), time.process_time()
    first_in_minute = 0
    for i in range(850):
        secret = world["small"][i % len(world["small"])]
        if cursors[secret] is None:
            first_in_minute += 1
        _s, _b, d = timed_sync(client, secret, cursors[secret])
        cursors[secret] = d["cursor"]
    minute, minute_cpu = time.perf_counter() - t0, time.process_time() - c0
    shell = shell_size(client)
    shell_total = sum(shell.values())

    lines = [
        f"## Phone app sync (bench/mobile_sync.py, {label}, {dt.date.today().isoformat()})",
        "",
        f"Machine: 2 cores, 24 GiB, shared with other helpers ({load_note()}).",
        "",
        "| measure | figure | target |",
        "| --- | --- | --- |",
        f"| first sync of a grid of {args.households:,} households ({args.households * 4:,} members): server time, "
        f"median of 3 | {statistics.median(firsts):.2f} s wall, {statistics.median(first_cpu):.2f} s CPU | — |",
        f"| … its answer, JSON / gzip | {raw_size / 1024:,.0f} KB / {gz_size / 1024:,.0f} KB | — |",
        f"| … over slow 3G (1.6 Mbit/s down, 150 ms RTT), computed from the gzip size, plus server time | "
        f"{link + statistics.median(firsts):.1f} s | ≤ 10 s |",
        f"| sync with nothing changed (cursor): server time, median of 5 | {statistics.median(empties) * 1000:.0f} ms "
        f"wall, {statistics.median(empty_cpu) * 1000:.0f} ms CPU ({len(ebody):,} bytes) | ≤ 1 s |",
        f"| 850 syncs of grids of {SMALL_SIZE} households one after another ({first_in_minute} first syncs, the rest "
        f"with a cursor): total server time, one process | {minute:.1f} s wall, {minute_cpu:.1f} s CPU | measured |",
        f"| app shell, compressed (page, manifest, service worker, script, stylesheet, icons) | "
        f"{shell_total / 1024:.1f} KB | ≤ 500 KB |",
    ]
    text = "\n".join(lines)
    print(text)
    print("shell files:", json.dumps(shell, ensure_ascii=False))
    if args.write_doc:
        append_doc(text)
    drop_database(PG_SERVER if args.postgres else None, "fupin_bench_mobile")


if __name__ == "__main__":
    main()
