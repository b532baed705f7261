"""Benchmark of `fupin assess` and of policy matching (应享未享) over the demo county (issue 17: each ≤ 10 s at scale 1).

Builds the demo county (seed_demo, with every capability's demo data: pairing, visits, measures, work orders,
quality problems, findings, field checks), then times full assessments of a year with half-year weights (three
evaluations: the year and both halves, every kind of subject) and full policy matching runs.

Usage (from the repository root):
    .venv/bin/python bench/assessment_run.py                        # scale 1, SQLite in a temporary directory
    .venv/bin/python bench/assessment_run.py --scale 0.2            # a quicker run
    .venv/bin/python bench/assessment_run.py --data-dir /tmp/abench # reuse a seeded database there (bench.sqlite3)
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


def setup(args) -> None:
    """Point Django at the SQLite database (a new temporary one, or --data-dir's, kept between runs) and migrate it."""
    from registry_common import setup_database

    setup_database(None, "fupin-bench-assessment", data_dir=args.data_dir or None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    setup(args)
    from django.core.management import call_command
    from django.utils import timezone

    from fupin.assessment.models import Score
    from fupin.assessment.services import assess_run, policy_match
    from fupin.registry.models import Household, Person

    t = time.monotonic()
    if not Household.objects.exists():
        call_command("seed_demo", scale=args.scale, verbosity=0)
    print(f"ready in {time.monotonic() - t:.0f} s")
    persons = Person.objects.filter(is_alive=True).count()
    poor = Household.objects.filter(is_registered_poor=True).count()
    print(f"SQLite: {persons} persons, {poor} poor households")
    year = str(timezone.localdate().year)
    lines = []
    for i in range(args.runs):
        wall, cpu = time.monotonic(), time.process_time()
        run, _result = assess_run(actor="bench", period=year)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        kinds = run.stats["subjects"]
        line = (f"| fupin assess --period {year} | run {i + 1} | {poor:,} | "
                + ", ".join(f"{k} {v}" for k, v in kinds.items())
                + f" | {wall:.1f} s | {cpu:.1f} s | {os.getloadavg()[0]:.1f} |")
        print(line)
        lines.append(line)
    for i in range(args.runs):
        wall, cpu = time.monotonic(), time.process_time()
        stats = policy_match(actor="bench")
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        line = (f"| policy matching | run {i + 1} | {poor:,} | {stats['open']} open gaps ({stats['opened']} new, "
                f"{stats['closed']} closed) | {wall:.1f} s | {cpu:.1f} s | {os.getloadavg()[0]:.1f} |")
        print(line)
        lines.append(line)
    print("scores stored:", Score.objects.filter(run__is_current=True).count())
    if args.write_doc:
        from registry_common import append_doc

        append_doc(f"## Assessment and policy matching over the demo county (bench/assessment_run.py, scale "
                   f"{args.scale:g}, {time.strftime('%Y-%m-%d')})\n\n"
                   "`assess_run` for the current year with half-year weights (the year and both halves evaluated: every "
                   "town, village, grid worker, cadre, unit and department) and a full policy-matching run. Target: "
                   "each ≤ 10 s at scale 1. Machine: 2 cores, 24 GiB, shared with other helpers' work (the 1-minute "
                   "load average is given: above 2 the wall time is mostly waiting for a core; the CPU time is what "
                   "the run costs in this process, the DuckDB threads excluded).\n\n"
                   "| what | run | poor households | subjects / result | wall | CPU | load |\n"
                   "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
