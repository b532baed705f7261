"""Benchmark of the full data-quality run over the demo county (issue: ≤ 30 s at scale 1).

Builds the demo county (seed_demo, which also writes every capability's demo data: pairing, the forms' responses
with their planted problems), then times full runs of `fupin.quality.services.run_checks`: the facts are read in bulk, every rule
is evaluated, problems are opened/closed and the grid workers' inbox items synced.

Usage (from the repository root):
    .venv/bin/python bench/quality_run.py                       # scale 1, SQLite in a temporary directory
    .venv/bin/python bench/quality_run.py --scale 0.2           # a quicker run
    .venv/bin/python bench/quality_run.py --data-dir /tmp/qbench   # reuse a seeded database there (bench.sqlite3)
    .venv/bin/python bench/quality_run.py --postgres            # database fupin_bench_quality on
                                                                # postgres://postgres@127.0.0.1:5432
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "fupin_bench_quality"


def setup(args) -> str:
    """Point Django at the database (registry_common.setup_database) and migrate it; returns its label."""
    from registry_common import setup_database

    return setup_database(PG_SERVER if args.postgres else None, PG_DB, reuse=args.reuse,
                          data_dir=args.data_dir or None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the seeded database")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    label = setup(args)
    from django.core.management import call_command

    from fupin.quality.models import Problem
    from fupin.quality.services import run_checks
    from fupin.registry.models import Household, Person
    from fupin.surveys.models import Response

    t = time.monotonic()
    if not Household.objects.exists():
        call_command("seed_demo", scale=args.scale, verbosity=0)  # with every capability's demo data
    if not Response.objects.exists():  # a county seeded before the forms existed
        call_command("seed_surveys_demo", no_check=True, verbosity=0)
    print(f"ready in {time.monotonic() - t:.0f} s")
    persons = Person.objects.filter(is_alive=True).count()
    households = Household.objects.count()
    poor = Household.objects.filter(is_registered_poor=True).count()
    responses = Response.objects.count()
    print(f"{label}: {persons} persons, {households} households ({poor} poor), {responses} responses")
    lines = []
    # the first run opens every problem and posts every inbox item (as after seeding); later runs find them again
    from fupin.inbox.models import InboxItem

    InboxItem.objects.filter(dedupe_key__startswith="quality:").delete()
    Problem.objects.all().delete()
    for i in range(args.runs):
        wall, cpu = time.monotonic(), time.process_time()
        run = run_checks(trigger="bench")
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        load = os.getloadavg()[0]
        line = (f"| {label} | run {i + 1} | {persons:,} | {poor:,} | {responses:,} | {run.open_total} open "
                f"({run.opened} new, {run.closed} fixed) | {wall:.1f} s | {cpu:.1f} s | {load:.1f} |")
        print(line)
        lines.append(line)
    print("open problems:", Problem.objects.filter(status="open").count())
    if args.write_doc:
        from registry_common import append_doc

        append_doc("## Data-quality run over the demo county (bench/quality_run.py)\n\n"
                   "Full run of every active rule over every resident, household and form response, with problem "
                   "sync and inbox posting. Target: ≤ 30 s at scale 1. Machine: 2 cores, shared with other work "
                   "(the 1-minute load average is given: above 2 the wall time is mostly waiting for a core; the "
                   "CPU time is what the run costs).\n\n"
                   "| database | run | residents | poor households | responses | result | wall | CPU | load |\n"
                   "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
