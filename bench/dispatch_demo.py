"""Benchmark of the dispatch app on the demo county: writing a year of work orders (seed_dispatch), the nightly
escalation, the figures and the busiest pages (the city office's order list and overview, a department's inbox).

    .venv/bin/python bench/dispatch_demo.py                   # SQLite in a temporary directory, scale 1
    .venv/bin/python bench/dispatch_demo.py --scale 0.2       # a quick run
    .venv/bin/python bench/dispatch_demo.py --db postgres://postgres@127.0.0.1:5432/fupin_bench_dispatch

The database is created, migrated and seeded (seed_demo, which runs seed_dispatch too; its work orders are removed
and seed_dispatch is timed on its own); the figures are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int = 1):
    runs = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return result, statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="fupin-bench-dispatch-")
    os.environ["DATABASE_URL"] = args.db or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("FUPIN_DATA_DIR", tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["FUPIN_DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client

    call_command("migrate", verbosity=0)
    from fupin.accounts.models import User
    from fupin.core.services import batch_finish, batch_start
    from fupin.demo.seed import seed_demo

    _, seconds = timed(lambda: seed_demo(actor="bench", scale=args.scale))
    print(f"seed_demo scale {args.scale}: {seconds:.1f} s")

    from fupin.dispatch import selectors
    from fupin.dispatch.demo import seed_dispatch
    from fupin.dispatch.models import WorkOrder
    from fupin.dispatch.services import escalate_overdue

    def clear():
        """seed_demo already wrote the dispatch demo (each capability seeds itself): start again from none."""
        from fupin.dispatch.models import HouseholdPin, JointPlan, JointPlanItem, MinqingReport
        from fupin.inbox.models import InboxItem

        with transaction.atomic():
            InboxItem.objects.filter(dedupe_key__startswith="dispatch:").delete()
            JointPlanItem.objects.all().delete()
            WorkOrder.objects.all().delete()
            JointPlan.objects.all().delete()
            HouseholdPin.objects.all().delete()
            MinqingReport.objects.all().delete()

    clear()

    def seed():
        with transaction.atomic():
            batch = batch_start(kind="bench_dispatch", actor=None)
            result = seed_dispatch(rng=random.Random(2016), scale=args.scale, batch=batch)
            batch_finish(batch, rows=result["work_orders"])
        return result

    result, seconds = timed(seed)
    print(f"seed_dispatch: {seconds:.1f} s — {result['work_orders']} orders ({result['solved']} solved), "
          f"{result['work_order_events']} events, {result['pinned']} pinned, {result['joint_plans']} plans, "
          f"{result['minqing_reports']} 民情 ({result['minqing_answered']} answered), escalated {result['escalated_now']}")
    print(f"  states: {result['states']}")
    _, seconds = timed(lambda: escalate_overdue(), repeat=3)
    print(f"nightly escalation (nothing new): {seconds * 1000:.0f} ms")
    qs = WorkOrder.objects.all()
    _, seconds = timed(lambda: (selectors.order_figures(qs), selectors.department_figures(qs),
                                selectors.monthly_solved(qs)), repeat=3)
    print(f"figures (county): {seconds * 1000:.0f} ms")

    from django.db.models import Count

    busiest = qs.values("department").annotate(n=Count("id")).order_by("-n").first()
    handler = User.objects.filter(department_id=busiest["department"]).first()
    city = User.objects.get(username="demo_city_office")
    client = Client()
    for user, paths in ((city, ["/dispatch/", "/dispatch/orders/", "/dispatch/orders/?overdue=1",
                                "/dispatch/figures/", "/dispatch/minqing/analysis/"]),
                        (handler, ["/dispatch/inbox/", "/dispatch/inbox/?state=all"])):
        client.force_login(user)
        for path in paths:
            client.get(path)
            response, seconds = timed(lambda p=path: client.get(p), repeat=5)
            assert response.status_code == 200, (path, response.status_code)
            print(f"GET {path} as {user.username}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
