"""CPU seconds per kind of process over a time span (the load test's question: who spends the machine's CPU).

    python bench/cpu_by_process.py snap FILE          # before
    python bench/cpu_by_process.py diff FILE0 FILE1   # after: seconds per kind (locust, gunicorn, db_worker,
                                                      # postgres, other), processes born in between counted whole
A process that ended in between is not counted (its CPU is lost to /proc): the kinds are long-lived here."""
import json
import os
import sys

HZ = os.sysconf("SC_CLK_TCK")
def snap():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        cpu = (int(f[11]) + int(f[12])) / HZ
        out[pid] = (cmd[:200], cpu)
    return out
def cls(cmd):
    for k in ("locust", "gunicorn", "db_worker", "postgres"):
        if k in cmd:
            return k
    return "other"
if sys.argv[1] == "snap":
    json.dump(snap(), open(sys.argv[2], "w"))
else:
    a = json.load(open(sys.argv[2]))
    b = json.load(open(sys.argv[3]))
    tot = {}
    for pid, (cmd, cpu) in b.items():
        base = a.get(pid, (cmd, 0.0))[1] if pid in a else 0.0
        tot[cls(cmd)] = tot.get(cls(cmd), 0.0) + cpu - base
    print(json.dumps({k: round(v, 1) for k, v in sorted(tot.items(), key=lambda x: -x[1])}))
