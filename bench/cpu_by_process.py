"""CPU seconds per kind of process over a time span (the load test's question: who spends the machine's CPU).

    python bench/cpu_by_process.py watch OUT.json [--db NAME] [--every 1]   # until SIGTERM/SIGINT, then writes OUT
    python bench/cpu_by_process.py report OUT.json [--per N] [--from T0 --to T1]
        # seconds per kind (and ms per request) over the watch, or between two times (seconds since the epoch)
    python bench/cpu_by_process.py snap FILE; ...; python bench/cpu_by_process.py diff FILE0 FILE1 [--per N]

Kinds: locust, gunicorn, db_worker, "postgres NAME" (the backends serving database NAME, from their process title),
"postgres" (every other PostgreSQL process: other databases' backends, the postmaster and its helpers), other.

`watch` reads /proc every --every seconds and follows each process (pid and start time) from the first reading to its
last: a process that ends in between (a PostgreSQL backend ends when a gunicorn worker reopens its connection after
CONN_MAX_AGE) keeps what it had spent at its last reading, so at most --every seconds of its CPU are lost. Those lost
tails, and processes that lived less than one interval, are found in the parents' reaped-children time
(cutime/cstime): "KIND (ended children, unseen)" is that growth, by the parent's kind, less the CPU of the ended
children that was seen. `snap`/`diff` compare two readings only (processes that ended in between are lost).
"""

import json
import os
import signal
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
KINDS = ("locust", "gunicorn", "db_worker", "postgres")


def read() -> dict:
    """{"pid:start": [cmd, own CPU s, reaped children's CPU s, ppid]} of every process now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2 :].split()
        out[f"{pid}:{f[19]}"] = [cmd[:200], (int(f[11]) + int(f[12])) / HZ, (int(f[13]) + int(f[14])) / HZ, f[1]]
    return out


def kind(cmd: str, db: str = "") -> str:
    if db and cmd.startswith("postgres:") and f" {db} " in f" {cmd} ":
        return f"postgres {db}"
    for k in KINDS:
        if k in cmd:
            return k
    return "other"


def watch(path: str, db: str, every: float) -> None:
    first = read()
    last = dict(first)
    timeline = [(time.time(), {})]  # cumulative seconds per kind since the first reading
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while True:
        if not stop:
            time.sleep(every)
        now = read()
        for k, v in now.items():
            if k in last and not v[0]:  # a process ending has an empty command line: keep its name
                v[0] = last[k][0]
            last[k] = v
        timeline.append((time.time(), totals(first, last, set(now), db)))
        if stop:
            break
    with open(path, "w") as fh:
        json.dump({"db": db, "timeline": timeline}, fh)


def window(timeline: list, start: float | None, end: float | None) -> dict:
    """Seconds per kind between the readings nearest to start and end (the whole watch without them)."""
    def at(t: float | None, default: int) -> dict:
        if t is None:
            return timeline[default][1]
        return min(timeline, key=lambda row: abs(row[0] - t))[1]

    a, b = at(start, 0), at(end, -1)
    tot = {k: b.get(k, 0.0) - a.get(k, 0.0) for k in b}
    return dict(sorted(tot.items(), key=lambda x: -x[1]))


def totals(first: dict, last: dict, alive: set, db: str) -> dict:
    tot: dict[str, float] = {}
    reaped_by: dict[str, float] = {}  # children reaped in between, by the parent's kind, less the part seen above
    by_pid = {k.split(":")[0]: v for k, v in last.items() if k in alive}
    for k, (cmd, own, reaped, ppid) in last.items():
        name = kind(cmd, db)
        own0, reaped0 = (first[k][1], first[k][2]) if k in first else (0.0, 0.0)
        tot[name] = tot.get(name, 0.0) + own - own0
        reaped_by[kind(cmd)] = reaped_by.get(kind(cmd), 0.0) + reaped - reaped0
        if k not in alive:  # ended: counted above as far as seen; once reaped, its parent's reaped time holds all
            parent = kind(by_pid[ppid][0]) if ppid in by_pid else "other"  # of it again, with what it had reaped
            reaped_by[parent] = reaped_by.get(parent, 0.0) - own - reaped
    for name, v in reaped_by.items():
        if round(v, 1) > 0:
            tot[f"{name} (ended children, unseen)"] = v
    return dict(sorted(tot.items(), key=lambda x: -x[1]))


def show(tot: dict, argv: list[str]) -> None:
    out = {k: round(v, 1) for k, v in tot.items()}
    if "--per" in argv:
        n = int(argv[argv.index("--per") + 1])
        if n:
            out["ms_per_request"] = {k: round(1000 * v / n, 1) for k, v in tot.items()}
            out["ms_per_request"]["all"] = round(1000 * sum(tot.values()) / n, 1)
    print(json.dumps(out, ensure_ascii=False))


def opt(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def main(argv: list[str]) -> None:
    cmd = argv[1]
    if cmd == "watch":
        watch(argv[2], opt(argv, "--db", ""), float(opt(argv, "--every", "1")))
    elif cmd == "report":
        with open(argv[2]) as fh:
            w = json.load(fh)
        start, end = opt(argv, "--from", ""), opt(argv, "--to", "")
        show(window(w["timeline"], float(start) if start else None, float(end) if end else None), argv)
    elif cmd == "snap":
        with open(argv[2], "w") as fh:
            json.dump(read(), fh)
    elif cmd == "diff":
        with open(argv[2]) as fh:
            a = json.load(fh)
        with open(argv[3]) as fh:
            b = json.load(fh)
        show(totals(a, b, set(b), opt(argv, "--db", "")), argv)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
