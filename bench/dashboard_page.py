"""Benchmark of the dashboards: the page and API server time (figures read from the snapshot) and the background
refresh that computes the snapshot, at the demo county's size and larger.

    .venv/bin/python bench/dashboard_page.py                       # the scratch database of the map benchmark
    DATABASE_URL=sqlite:////tmp/demo1.sqlite3 .venv/bin/python bench/dashboard_page.py --db ""   # any database

Uses the database of bench/map_household_layer.py (--db, same default), so run that one first (or point --db at a
seeded demo). Appends the figures to docs/performance.md. Budget (issue 6): the dashboard page ≤ 200 ms server time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from map_household_layer import append, leader, setup_django  # noqa: E402


def timed(client, url: str, runs: int = 7) -> tuple[float, int]:
    client.get(url)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:300]
    return statistics.median(times), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:////tmp/fupin_maps_bench.sqlite3",
                        help='database URL ("" keeps DATABASE_URL)')
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    setup_django(args.db or os.environ["DATABASE_URL"])
    from django.test import Client

    from fupin.dashboards.services import refresh_snapshots
    from fupin.geo.models import Division, Grid
    from fupin.registry.models import Household, Person

    poor = Household.objects.filter(is_registered_poor=True).count()
    households, persons = Household.objects.count(), Person.objects.count()
    t = time.perf_counter()
    result = refresh_snapshots(reason="benchmark")
    refresh_s = time.perf_counter() - t
    label = f"{poor:,} poor / {households:,} households / {persons:,} persons"
    lines = [f"| {label} | background refresh of every figure of {result['areas']:,} areas | "
             f"{result['rows']:,} rows | {refresh_s:.1f} s | |"]
    print(lines[-1], flush=True)
    user, _county = leader()
    client = Client()
    client.force_login(user)
    town = Division.objects.filter(level="town").order_by("code").first()
    village = Division.objects.filter(level="village", parent=town).order_by("code").first()
    grid = Grid.objects.filter(village=village).order_by("code").first()
    cases = [("dashboard page, county", "/dashboard/"), ("dashboard page, town", f"/dashboard/?division={town.code}"),
             ("dashboard page, village", f"/dashboard/?division={village.code}"),
             ("dashboard API, county", "/api/v1/dashboard/figures"),
             ("leader's summary PDF, county", "/dashboard/summary.pdf"),
             ("xlsx export, county", "/dashboard/export.xlsx")]
    if grid is not None:
        cases.insert(3, ("dashboard page, grid", f"/dashboard/?division={grid.code}"))
    for name, url in cases:
        ms, size = timed(client, url, runs=3 if url.endswith((".pdf", ".xlsx")) else 7)
        lines.append(f"| {label} | {name} | | {ms:.0f} ms | {size / 1024:.0f} KiB |")
        print(lines[-1], flush=True)
    engine = (os.environ.get("DATABASE_URL") or "").split(":")[0]
    if not args.no_write:
        append(lines, f"Dashboards, {engine} (bench/dashboard_page.py)", first="data")


if __name__ == "__main__":
    main()
