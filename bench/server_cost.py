"""Server CPU of each request of the load test's mix as the production server spends it (issue 12): gunicorn (one
sync worker, so its CPU is the request's), real sign-ins (the session bound to the browser, the session guard's
queries), HTTP — what bench/request_cost.py's in-process figures leave out. Requests run one after another.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<seeded db> FUPIN_KEYS_FILE=<its keys> \\
        .venv/bin/python bench/server_cost.py [--reps 30] [--port 8013]

Per request: the gunicorn worker's CPU plus the PostgreSQL backends' CPU (both from /proc, 10 ms ticks, so each
figure is the total over --reps runs divided by --reps), and the weighted mean per action of the mix. A PostgreSQL
backend that ends during a request's runs (the worker reconnects after CONN_MAX_AGE) takes its CPU with it: that
request's PostgreSQL figure is then too low. The client's
own CPU is not counted. Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from load_mix import ROLES, visit_body  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(f[11]) + int(f[12])) / TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _pg_backends(db: str) -> list[int]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atc",
                          f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"],
                         capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--port", type=int, default=8013)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    db = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    env = {**os.environ, "FUPIN_ENV": "production", "FUPIN_HTTPS": "0", "FUPIN_ALLOWED_HOSTS": "127.0.0.1",
           "FUPIN_EXPORT_RATE_PER_HOUR": "0", "FUPIN_LOG_LEVEL": "WARNING",
           "FUPIN_SECRET_KEY": os.environ.get("FUPIN_SECRET_KEY") or secrets.token_urlsafe(50)}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                               f"127.0.0.1:{args.port}", "--workers", "1", "--access-logfile", "/dev/null"],
                              env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{args.port}"
    password = os.environ.get("FUPIN_DEMO_PASSWORD", "fupin-demo-2016")
    try:
        for _ in range(120):
            try:
                requests.get(base + "/login/", timeout=60)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.5)
        workers = _children(server.pid)
        rows, total, total_w = [], 0.0, 0.0
        for role, spec in ROLES.items():
            s = requests.Session()
            page = s.get(base + "/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            s.post(base + "/login/", {"username": spec["username"], "password": password,
                                      "csrfmiddlewaretoken": token.group(1) if token else ""},
                   headers={"Referer": base + "/login/"})
            csrf = s.cookies.get("csrftoken", "")
            items = s.get(base + "/api/v1/households/?limit=200").json().get("items", [])
            keys = [h["poor_code"] or h["uuid"] for h in items] or [""]
            aw = sum(w for w, _ in spec["actions"])
            for w, reqs in spec["actions"]:
                for method, path, name in reqs:
                    def call(k, method=method, path=path, keys=keys, s=s, csrf=csrf):
                        key = keys[k % len(keys)]
                        p = base + path.format(key=key, surname="王李张刘陈"[k % 5], page=1 + k % 5)
                        if method == "POST":
                            body = visit_body(key, dt.date.today().isoformat(), str(uuid.uuid4()))
                            return s.post(p, data=json.dumps(body), headers={"X-CSRFToken": csrf,
                                                                             "Content-Type": "application/json"})
                        return s.get(p)
                    r = call(0)  # warm-up
                    d0 = {p: _cpu(p) for p in _pg_backends(db)}
                    c0 = sum(_cpu(p) for p in workers)
                    t0 = time.perf_counter()
                    for k in range(1, args.reps + 1):
                        r = call(k)
                    wall = (time.perf_counter() - t0) / args.reps
                    py = (sum(_cpu(p) for p in workers) - c0) / args.reps
                    # a backend started during the runs (the worker's connection reopened after CONN_MAX_AGE)
                    # counts in full; one that ended is lost (its CPU can no longer be read)
                    pgc = sum(_cpu(p) - d0.get(p, 0.0) for p in _pg_backends(db)) / args.reps
                    row = {"role": role, "name": name, "status": r.status_code, "cpu_py_ms": round(1000 * py, 1),
                           "cpu_db_ms": round(1000 * pgc, 1), "cpu_ms": round(1000 * (py + pgc), 1),
                           "wall_ms": round(1000 * wall, 1)}
                    rows.append(row)
                    share = spec["weight"] * w / aw
                    total += share * row["cpu_ms"]
                    total_w += share / len(reqs)
                    print(f"{role:<19} {name:<40} {r.status_code:>3}  CPU {row['cpu_ms']:>6.1f} ms (gunicorn "
                          f"{row['cpu_py_ms']:.1f} + PostgreSQL {row['cpu_db_ms']:.1f})  wall {row['wall_ms']:.1f} ms",
                          flush=True)
        print(f"\nweighted mean server CPU per action of the mix: {total / total_w:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
