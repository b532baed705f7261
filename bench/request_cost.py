"""Server cost of each request of the load test's mix (issue 12): CPU of the Django process, CPU of the PostgreSQL
backend, and the queries, per request, in-process (Django's test client, production settings, no network).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<seeded db> FUPIN_KEYS_FILE=<its keys> \\
        .venv/bin/python bench/request_cost.py [--reps 5] [--only NAME-SUBSTRING]

The database must hold the demo county (`seed_demo`). Each request runs once to warm up, then --reps times; the
figures are the median of the timed runs for the Django process's CPU (steadier than the mean on a shared machine)
and the mean for the PostgreSQL backend's CPU (read from /proc in 10 ms ticks); "server CPU" is their sum. On a shared
machine CPU seconds, not wall seconds, are the figure to compare. A sign-in (the password check) is measured on its own.
The database is ANALYZEd first (--no-analyze to skip): production keeps the planner's statistics with autovacuum, and a
freshly seeded database on a server without it plans badly. Redirects are followed, as locust follows them.
--profile DIR writes a CPU-time cProfile of each request; --sql prints its queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_mix import ROLES, SESSION_START, visit_body  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--profile", default="", help="a folder: one cProfile file per request (NAME.prof), "
                        "read with `python -m pstats`")
    parser.add_argument("--no-analyze", action="store_true", help="do not ANALYZE the database first")
    parser.add_argument("--sql", action="store_true", help="print each request's queries (with --only)")
    args = parser.parse_args()
    os.environ.setdefault("FUPIN_ENV", "production")
    os.environ.setdefault("FUPIN_HTTPS", "0")
    os.environ.setdefault("FUPIN_SECRET_KEY", "bench-request-cost-" + "x" * 40)
    os.environ.setdefault("FUPIN_ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("FUPIN_EXPORT_RATE_PER_HOUR", "0")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
        backend = cur.fetchone()[0]
        if connection.vendor == "postgresql" and not args.no_analyze:
            # the planner's statistics, as autovacuum keeps them in production: a database seeded just now on a
            # server with autovacuum off has none, and its plans are far from production's (the map layer's
            # subqueries scanned every loan once per household)
            cur.execute("ANALYZE")

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    def measure(fn, reps: int, name: str = "") -> dict:
        fn()  # warm-up (caches, connection)
        if args.sql:
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                fn()
            for q in ctx.captured_queries:
                print("   ", q["sql"][:300])
        if args.profile and name:
            import cProfile

            folder = Path(args.profile)
            folder.mkdir(parents=True, exist_ok=True)
            prof = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
            prof.runcall(fn)
            prof.dump_stats(folder / (re.sub(r"[^\w.-]+", "_", name).strip("_") + ".prof"))
        cpu_py, cpu_db, wall, nq, status, size = [], [], [], [], 0, 0
        for _ in range(reps):
            queries[0] = 0
            db0 = _proc_cpu(backend) if backend else 0.0
            t, c = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(count):
                resp = fn()
            cpu_py.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
            cpu_db.append((_proc_cpu(backend) if backend else 0.0) - db0)
            nq.append(queries[0])
            status = resp.status_code
            size = len(resp.content) if not getattr(resp, "streaming", False) else sum(
                len(x) for x in resp.streaming_content)
        return {"status": status, "bytes": size, "queries": round(statistics.mean(nq), 1),
                "cpu_py_ms": round(1000 * statistics.median(cpu_py), 1), "cpu_db_ms": round(1000 * statistics.mean(cpu_db), 1),
                "cpu_ms": round(1000 * (statistics.median(cpu_py) + statistics.mean(cpu_db)), 1),
                "wall_ms": round(1000 * statistics.median(wall), 1)}

    rows = []
    password = os.environ.get("FUPIN_DEMO_PASSWORD", "fupin-demo-2016")
    users = get_user_model().objects
    for role, spec in ROLES.items():
        user = users.get(username=spec["username"])
        client = Client()
        if not args.only or "sign-in" in args.only:
            def sign_in(user=user):
                c = Client()
                ok = c.login(username=user.username, password=password)
                assert ok, f"cannot sign in as {user.username}"
                return c.get("/login/")  # the page after the check (a small response)
            rows.append((role, "sign-in (password check)", measure(sign_in, max(2, args.reps // 2))))
        client.force_login(user)
        items = json.loads(client.get(SESSION_START[2][1]).content).get("items", [])
        keys = [h["poor_code"] or h["uuid"] for h in items]
        for _, requests in spec["actions"]:
            for method, path, name in requests:
                if args.only and args.only not in name:
                    continue
                k = [0]

                def call(method=method, path=path, k=k, keys=keys, client=client):
                    k[0] += 1
                    key = keys[k[0] % len(keys)] if keys else ""
                    p = path.format(key=key, surname="王李张刘陈"[k[0] % 5], page=1 + k[0] % 5)
                    if method == "POST":
                        return client.post(p, data=json.dumps(visit_body(key, dt.date.today().isoformat(),
                                                                           str(uuid.uuid4()))),
                                           content_type="application/json")
                    return client.get(p, follow=True)  # as locust does: a redirect costs its target too

                rows.append((role, name, measure(call, args.reps, f"{role}-{name}")))
                r = rows[-1][2]
                print(f"{role:<19} {name:<40} {r['status']:>3} {r['queries']:>6} q  CPU {r['cpu_ms']:>7.1f} ms "
                      f"(Django {r['cpu_py_ms']:.1f} + PostgreSQL {r['cpu_db_ms']:.1f})  wall {r['wall_ms']:>7.1f} ms  "
                      f"{r['bytes']:>8} B", flush=True)
        for role_, name, r in rows:
            if role_ == role and name.startswith("sign-in"):
                print(f"{role:<19} {name:<40} {r['status']:>3} {r['queries']:>6} q  CPU {r['cpu_ms']:>7.1f} ms "
                      f"(Django {r['cpu_py_ms']:.1f} + PostgreSQL {r['cpu_db_ms']:.1f})", flush=True)
    # the mix's mean server CPU per request, weighted as the locustfile weights roles and actions
    total_w = total = 0.0
    for role, spec in ROLES.items():
        aw = sum(w for w, _ in spec["actions"])
        for w, requests in spec["actions"]:
            for _, _, name in requests:
                found = [r for ro, n, r in rows if ro == role and n == name]
                if found:
                    share = spec["weight"] * w / aw
                    total += share * found[0]["cpu_ms"]
                    total_w += share / len(requests)
    if total_w:
        print(f"\nweighted mean server CPU per action of the mix: {total / (total_w or 1):.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps([{"role": ro, "name": n, **r} for ro, n, r in rows], ensure_ascii=False,
                                              indent=1))


if __name__ == "__main__":
    main()
