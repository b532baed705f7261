"""Benchmark of encryption at rest for the roster import (`fupin import_roster`): a national-layout roster of --rows
members imported into an empty registry (ID numbers sealed with their exact and tail blind indexes, phones, health
and disability card sealed), then the same file imported again (nothing changes: every stored person is read back and
opened to be compared), on vs off.

Each mode runs in a process of its own on a fresh database (same seed, same file): "on" seals as the platform does;
"off" stores the same values plain (registry_common.crypto_off: every sealing entry point of fupin.core.crypto
replaced by the identity). Figures are wall time and the process's CPU time (user+sys): on SQLite the database works
inside the process, so CPU time is the whole cost; the machine is shared, so CPU time is the figure to read.

Usage (from the repository root):
    .venv/bin/python bench/crypto_roster_import.py                  # SQLite, 100,000 rows
    .venv/bin/python bench/crypto_roster_import.py --rows 20000 --postgres postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/crypto_roster_import.py --rows 390000 --rounds 2   # Yidu's size, off, on, off, on

`--rounds N` alternates the modes N times (off, on, off, on, …) so that both see the same load on a shared machine;
each run's figures are printed, the table gives the means.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_common import crypto_off, drop_database, make_county, setup_database

DB_NAME = "fupin_bench_crypto_roster"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(mode: str, rows: int, postgres: str | None) -> dict:
    label = setup_database(postgres, f"{DB_NAME}_{mode}")
    try:
        if mode == "off":
            crypto_off()
        from django.db import connection

        from fupin.registry.importer import import_roster
        from fupin.registry.models import Person
        from fupin.registry.testdata import roster_rows, write_csv

        places = make_county()
        roster = roster_rows(places, households=max(1, round(rows / 3.36)), seed=1)
        out: dict = {"db": label, "rows": len(roster), "load": os.getloadavg()[0]}
        with tempfile.TemporaryDirectory() as tmp:
            path = write_csv(Path(tmp) / "roster.csv", roster)
            for key in ("import", "again"):
                t, c = time.perf_counter(), cpu()
                res = import_roster(actor="bench", path=path)
                out[key] = (time.perf_counter() - t, cpu() - c)
                assert not res.problems or key == "again", res.report(limit=5)
        assert Person.objects.count() == len(roster)
        with connection.cursor() as cur:
            cur.execute("SELECT id_number FROM registry_person WHERE id_number <> '' LIMIT 1")
            out["stored_id"] = cur.fetchone()[0][:12]
        out["load_end"] = os.getloadavg()[0]
        return out
    finally:
        drop_database(postgres, f"{DB_NAME}_{mode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--postgres", default=None)
    ap.add_argument("--rounds", type=int, default=1, help="off and on alternated this many times")
    ap.add_argument("--mode", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode:
        print(json.dumps(child(args.mode, args.rows, args.postgres)))
        return
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for _round in range(args.rounds):
        for mode in ("off", "on"):
            cmd = [sys.executable, __file__, "--mode", mode, "--rows", str(args.rows)]
            if args.postgres:
                cmd += ["--postgres", args.postgres]
            run = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
            runs[mode].append(json.loads(run.stdout.strip().splitlines()[-1]))
            print(mode, runs[mode][-1], flush=True)

    def mean(mode: str, key: str, i: int) -> float:
        return sum(r[key][i] for r in runs[mode]) / len(runs[mode])

    def cpus(mode: str, key: str) -> str:
        return ", ".join(f"{r[key][1]:.1f}" for r in runs[mode])

    off, on = runs["off"][0], runs["on"][0]
    loads = {m: "{:.1f}–{:.1f}".format(min(x for r in runs[m] for x in (r["load"], r["load_end"])),
                                      max(x for r in runs[m] for x in (r["load"], r["load_end"]))) for m in runs}
    print(f"{on['db']}, {on['rows']:,} roster rows, {args.rounds} round(s), load average off {loads['off']}, "
          f"on {loads['on']}")
    print("| what | off wall s | on wall s | off CPU s | on CPU s | on/off (CPU, means) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, what in (("import", "roster import into an empty registry"),
                      ("again", "the same file again (nothing changes)")):
        print(f"| {what} | {mean('off', key, 0):.1f} | {mean('on', key, 0):.1f} | {cpus('off', key)} | "
              f"{cpus('on', key)} | {mean('on', key, 1) / max(mean('off', key, 1), 0.001):.2f} |")
    print(f"stored id_number: off `{off['stored_id']}`, on `{on['stored_id']}`")

if __name__ == "__main__":
    main()
