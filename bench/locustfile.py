"""Load test (issue 12): concurrent users of mixed roles against the production server with the demo county.

One command sets everything up and prints the figures (PostgreSQL, the full demo county, `serve --production`):

    bench/load_run.sh --users 200 --minutes 5            # see its header for the database and the options

Roles and their requests: bench/load_mix.py (grid workers search, open households and record visits 50 %, town
staff on lists, the lights and the CSV export 25 %, leaders on the map and dashboards 15 %, a department handler on
orders 10 %). Each user signs in once, at the start of its session (as staff do: a session lasts the working day),
then acts with a think time between actions (FUPIN_LOAD_THINK="5-15" seconds by default, stated in load_mix.py).

Figures (printed at the end and written to $FUPIN_LOAD_OUT/summary.json):
- sign-in: the session starts (login page, password check, the first household list), on their own;
- steady state: every other request that STARTED FUPIN_LOAD_SETTLE seconds (default 30) after all users were
  spawned and all had signed in (the ramp-up's sign-ins queue on two cores for a minute or more), i.e. without the
  ramp-up; p50/p95/p99, failures, requests/s, per request name and in all. With FUPIN_LOAD_STEADY=<seconds> the run
  stops once the steady state has lasted that long (bench/load_run.sh sets it from --minutes).
Every request is written to $FUPIN_LOAD_OUT/samples.csv (start, name, ms, failed) for a look at its course.
Pass (issue 12): zero failures, steady-state p95 ≤ 300 ms and p99 ≤ 1 s. Only 127.0.0.1 may be targeted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_mix import ROLES, SURNAMES, THINK_DEFAULT, visit_body

PASSWORD = os.environ.get("FUPIN_DEMO_PASSWORD", "fupin-demo-2016")
THINK = tuple(float(x) for x in os.environ["FUPIN_LOAD_THINK"].split("-")) if os.environ.get(
    "FUPIN_LOAD_THINK") else THINK_DEFAULT
SETTLE = float(os.environ.get("FUPIN_LOAD_SETTLE", "30"))
STEADY = float(os.environ.get("FUPIN_LOAD_STEADY", "0"))  # seconds of steady state, then stop (0: run until -t)
OUT = Path(os.environ.get("FUPIN_LOAD_OUT", "bench/out/load"))

_samples: list[tuple[float, str, float, bool]] = []  # (start, name, ms, failed)
_spawned_at: list[float] = []
_sessions_started: list[float] = []  # when each user's sign-in sequence ended


@events.test_start.add_listener
def _only_loopback(environment, **_kw):
    host = urlparse(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the load test targets only this machine (127.0.0.1), not {host!r}")


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, start_time=None, **_kw):
    _samples.append((start_time or (time.time() - response_time / 1000), name, response_time, exception is not None))


@events.spawning_complete.add_listener
def _spawned(user_count, **_kw):
    if not _spawned_at:
        _spawned_at.append(time.time())


def _steady_from(users: int) -> float | None:
    """SETTLE seconds after every user was spawned and every user's session had started (its sign-in answered):
    the sign-ins of the ramp-up (0.6 s of CPU each, 200 of them in 20 s at -r 10) queue for a minute or more on two
    cores, and the requests behind them are the ramp-up's, not the steady state's."""
    if not _spawned_at or len(_sessions_started) < users:
        return None
    return max(_spawned_at[0], max(_sessions_started)) + SETTLE


@events.test_start.add_listener
def _stop_after_steady(environment, **_kw):
    """With FUPIN_LOAD_STEADY, stop (as -t does) once the steady state has lasted that long."""
    if not STEADY or environment.runner is None:
        return

    def watch():
        while True:
            gevent.sleep(1)
            start = _steady_from(environment.parsed_options.num_users)
            if start is not None and time.time() >= start + STEADY:
                environment.runner.quit()
                return

    gevent.spawn(watch)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _figures(rows: list[tuple[float, str, float, bool]], seconds: float) -> dict:
    ms = [r[2] for r in rows]
    return {"requests": len(rows), "failures": sum(r[3] for r in rows), "p50_ms": round(_pct(ms, 50)),
            "p95_ms": round(_pct(ms, 95)), "p99_ms": round(_pct(ms, 99)), "max_ms": round(max(ms, default=0)),
            "per_second": round(len(rows) / seconds, 1) if seconds > 0 else 0.0}


@events.quitting.add_listener
def _report(environment, **_kw):
    end = time.time()
    users = environment.parsed_options.num_users if environment.parsed_options else 0
    steady_from = _steady_from(users) or end
    signin = [r for r in _samples if r[1].startswith("sign-in")]
    steady = [r for r in _samples if not r[1].startswith("sign-in") and r[0] >= steady_from]
    names = sorted({r[1] for r in steady})
    summary = {
        "users": environment.runner.user_count if environment.runner else None,
        "sessions_started": len(_sessions_started),
        "last_session_started_s": round(max(_sessions_started) - _spawned_at[0], 1) if (
            _sessions_started and _spawned_at) else None,
        "think_seconds": list(THINK), "settle_seconds": SETTLE,
        "steady_seconds": round(max(0.0, end - steady_from), 1),
        "steady_from_epoch": round(steady_from, 3), "end_epoch": round(end, 3),
        "sign_in": {n: _figures([r for r in signin if r[1] == n], 1) for n in sorted({r[1] for r in signin})},
        "steady": _figures(steady, end - steady_from),
        "steady_by_name": {n: _figures([r for r in steady if r[1] == n], end - steady_from) for n in names},
        "ramp_up_excluded": sum(1 for r in _samples if not r[1].startswith("sign-in") and r[0] < steady_from),
    }
    s = summary["steady"]
    summary["pass"] = s["requests"] > 0 and s["failures"] == 0 and s["p95_ms"] <= 300 and s["p99_ms"] <= 1000
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "samples.csv").open("w", encoding="utf-8") as fh:  # every request: when it started, its time
        fh.write("start_epoch,name,ms,failed\n")
        fh.writelines(f"{r[0]:.3f},{r[1]},{r[2]:.1f},{int(r[3])}\n" for r in _samples)
    (OUT / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nthink time {THINK[0]:g}–{THINK[1]:g} s; steady state over {summary['steady_seconds']} s "
          f"(from {SETTLE:g} s after the last user was spawned and signed in: "
          f"{summary['last_session_started_s']} s after the last spawn; "
          f"{summary['ramp_up_excluded']} ramp-up requests left out)")
    print(f"{'request':<44} {'n':>6} {'fail':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>6}")
    for n, f in [*summary["steady_by_name"].items(), ("STEADY STATE (all but sign-in)", s)]:
        print(f"{n[:44]:<44} {f['requests']:>6} {f['failures']:>5} {f['p50_ms']:>5}ms {f['p95_ms']:>5}ms "
              f"{f['p99_ms']:>5}ms {f['per_second']:>6}")
    for n, f in summary["sign_in"].items():
        print(f"{n[:44]:<44} {f['requests']:>6} {f['failures']:>5} {f['p50_ms']:>5}ms {f['p95_ms']:>5}ms "
              f"{f['p99_ms']:>5}ms")
    print(f"target (zero failures, p95 ≤ 300 ms, p99 ≤ 1 s in the steady state): {'MET' if summary['pass'] else 'NOT MET'}")


class FupinUser(FastHttpUser):  # geventhttpclient: cheaper than requests (the load generator shares the cores)
    abstract = True
    # FastHttpUser gives up after 60 s (requests' HttpUser waits for ever): a sign-in queued behind 200 others on a
    # busy machine can take longer, and a timeout would count as a failure of the server
    network_timeout = connection_timeout = 600.0
    keys: list[str] = []
    csrf = ""
    role = ""
    wait_time = between(*THINK)

    def on_start(self):
        try:
            page = self.client.get("/login/", name="sign-in: /login/ (get)")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text or "")
            self.client.post("/login/", {"username": ROLES[self.role]["username"], "password": PASSWORD,
                                         "csrfmiddlewaretoken": token.group(1) if token else ""},
                             headers={"Referer": f"{self.host}/login/"}, name="sign-in: /login/ (post)")
            self.csrf = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
            self.keys = []
            with self.client.get("/api/v1/households/?limit=200", name="sign-in: /api/v1/households/?limit=200",
                                 catch_response=True) as resp:
                try:
                    self.keys = [h["poor_code"] or h["uuid"] for h in json.loads(resp.text or "").get("items", [])]
                except ValueError:
                    resp.failure("not signed in (no JSON)")
        finally:  # a sign-in that failed (or timed out) has ended too: the steady state must not wait for it
            _sessions_started.append(time.time())

    def act(self, requests: list[tuple[str, str, str]]) -> None:
        for method, path, name in requests:
            if "{key}" in path and not self.keys:
                return
            path = path.format(key=random.choice(self.keys) if self.keys else "", surname=random.choice(SURNAMES),
                               page=random.randint(1, 5))
            if method == "POST":
                if not self.keys:
                    return
                self.client.post(path, json=visit_body(random.choice(self.keys), dt.date.today().isoformat(),
                                                       str(uuid.uuid4())),
                                 headers={"X-CSRFToken": self.csrf}, name=name)
            else:
                self.client.get(path, name=name)


def _role_class(role: str) -> type:
    spec = ROLES[role]
    tasks = {f"action_{i}": task(weight)(lambda self, reqs=reqs: self.act(reqs))
             for i, (weight, reqs) in enumerate(spec["actions"])}
    return type(role.title().replace("_", ""), (FupinUser,), {"role": role, "weight": spec["weight"], **tasks})


GridWorker = _role_class("grid_worker")
TownStaff = _role_class("town_staff")
Leader = _role_class("leader")
DepartmentHandler = _role_class("department_handler")
