"""How long do the long imports keep other users' writes waiting? (issue 12: "long imports never hold the database
so long that other work fails").

On SQLite one transaction at a time holds the write lock; another user's write waits for it at most the busy timeout
(`PRAGMA busy_timeout`, 20 s in config/settings.py) and then fails with "database is locked". This script runs the
long writes of a county at --scale (the roster import, every department extract, the comparison) against a SQLite
file while a second connection, as another user would, asks for the write lock every 0.2 s and records how long it
waited. It prints, per step, the step's time and the longest wait, and whether that stays under the busy timeout.
On PostgreSQL writers lock rows, not the database, so these steps do not hold other users' writes at all.

    .venv/bin/python bench/write_lock.py [--scale 1] [--steps roster,roster_again,departments,compare]

Each step also prints the process's CPU seconds (this machine is shared: wall time is inflated by other work).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Probe(threading.Thread):
    """Another user's write: BEGIN IMMEDIATE (takes the write lock), COMMIT; records the wait."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.waits, self.failures = path, threading.Event(), [], 0
        self.lock = threading.Lock()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=20, isolation_level=None)
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("COMMIT")
                with self.lock:
                    self.waits.append(time.perf_counter() - t)
            except sqlite3.OperationalError:  # waited the whole busy timeout: this write would have failed
                with self.lock:
                    self.failures += 1
                    self.waits.append(time.perf_counter() - t)
            time.sleep(0.2)
        conn.close()

    def take(self) -> tuple[float, int, int]:
        with self.lock:
            waits, failures = self.waits, self.failures
            self.waits, self.failures = [], 0
        return (max(waits) if waits else 0.0), len(waits), failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--steps", default="roster,departments,compare",
                        help="comma-separated: roster, roster_again (the same file a second time), departments, compare "
                             "(departments and compare need roster)")
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="fupin-bench-lock-"))
    db = tmp / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["FUPIN_DATA_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from fupin.exchange.testdata import make_county

    folder = Path(f"/tmp/bench_county_{args.scale:g}")
    if not (folder / "truth.json").exists():
        make_county(folder, scale=args.scale, seed=42)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    call_command("migrate", verbosity=0)
    call_command("import_divisions", str(ROOT / "fupin" / "demo" / "fixtures" / "yidu_420581_divisions_2016.csv"),
                 stdout=open(os.devnull, "w"))
    probe = Probe(str(db))
    probe.start()
    rows = []

    def step(name: str, fn) -> None:
        probe.take()
        t, cpu = time.perf_counter(), time.process_time()
        fn()
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        worst, n, failed = probe.take()
        rows.append((name, took, worst, n, failed))
        print(f"{name:<40} {took:7.1f} s (CPU {cpu:6.1f} s)   longest wait of another writer {worst:6.2f} s "
              f"({n} writes, {failed} failed)   load {os.getloadavg()[0]:.1f}", flush=True)

    from fupin.registry.importer import import_roster

    roster = folder / truth.get("roster_file", "roster.xlsx")
    held: dict[str, float] = {}

    def roster_import(label: str) -> None:
        result = import_roster(actor="bench", path=roster)
        held[label] = getattr(result, "write_seconds", 0.0)  # the write transaction, where the import reports it

    for label in ("roster", "roster_again"):  # the first import into an empty registry, then the same file again
        if label in steps:
            step(f"import_roster {'again ' if label == 'roster_again' else ''}({truth['roster']['people']} people)",
                 lambda label=label: roster_import(label))
            if held.get(label):
                print(f"{'':<40} write transaction {held[label]:.1f} s", flush=True)
    from fupin.exchange.services import import_department

    for source, name in truth["files"].items() if "departments" in steps else ():
        step(f"import_department {source}",
             lambda source=source, name=name: import_department(actor="bench", source_code=source,
                                                                 path=folder / name))
    from fupin.eligibility.services import compare_run

    if "compare" in steps:
        step("compare", lambda: compare_run(actor="bench"))
    probe.stop.set()
    worst = max(r[2] for r in rows)
    failed = sum(r[4] for r in rows)
    print(f"\nlongest wait {worst:.2f} s (busy timeout 20 s); writes failed: {failed}; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
