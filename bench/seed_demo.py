"""Benchmark `fupin seed_demo` on fresh databases: migrate, seed, and read back `fupin stats --json`.

    .venv/bin/python bench/seed_demo.py                       # SQLite, scales 0.05 and 1
    .venv/bin/python bench/seed_demo.py --scale 1 --postgres postgres://postgres@127.0.0.1:5432/test

Each run gets its own database (a temporary SQLite file; on PostgreSQL a database created next to the one in the URL
and dropped afterwards unless --keep). Prints wall seconds, the CPU seconds of the seeding process (wall time on a
shared machine also measures the neighbours) and rows per second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
FUPIN = [sys.executable, "-m", "fupin.cli"]


def run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run a fupin command; return (wall seconds, CPU seconds of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([*FUPIN, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"fupin {' '.join(args)} failed with exit code {proc.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def bench_one(label: str, url: str, scale: float, seed: int, data_dir: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "FUPIN_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
    migrate_s, _, _ = run(["migrate", "--noinput", "-v", "0"], env)
    seed_s, seed_cpu, out = run(["seed_demo", "--scale", str(scale), "--seed", str(seed)], env)
    _, _, stats_out = run(["stats", "--json"], env)
    stats = json.loads(stats_out)
    m = re.search(r"共写入(\d+)行", out)
    rows = int(m.group(1)) if m else stats["households"] + stats["persons"]
    result = {"database": label, "scale": scale, "migrate_s": round(migrate_s, 1), "seed_s": round(seed_s, 1),
              "seed_cpu_s": round(seed_cpu, 1), "rows": rows, "rows_per_s": round(rows / seed_s),
              "persons": stats["persons"], "households": stats["households"],
              "poor_households": stats["poor_households"], "towns": stats["towns"], "villages": stats["villages"],
              "grids": stats["grids"]}
    print(f"{label:<10} scale {scale:<5} migrate {migrate_s:6.1f}s  seed {seed_s:6.1f}s (CPU {seed_cpu:5.1f}s)  "
          f"{rows:>7} rows  {rows / seed_s:8.0f} rows/s  {stats['persons']:>6} persons  "
          f"{stats['poor_households']} poor households  {stats['grids']} grids", flush=True)
    return result


def _pg_admin(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def bench_postgres(url: str, scale: float, seed: int, data_dir: str, keep: bool) -> dict:
    parts = urlsplit(url)
    name = f"fupin_bench_{os.getpid()}_{str(scale).replace('.', '_')}"
    fresh = urlunsplit(parts._replace(path=f"/{name}"))
    with _pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return bench_one("PostgreSQL", fresh, scale, seed, data_dir)
    finally:
        if not keep:
            with _pg_admin(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="0.05,1", help="comma-separated scales (default 0.05,1)")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--postgres", metavar="URL", help="also run on a fresh database of this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases (printed) instead of deleting them")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    scales = [float(s) for s in args.scale.split(",") if s]
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, Python "
          f"{sys.version.split()[0]}", flush=True)
    results = []
    tmp = tempfile.mkdtemp(prefix="fupin-bench-")
    try:
        for scale in scales:
            if not args.no_sqlite:
                db = Path(tmp) / f"seed_{scale}.sqlite3"
                results.append(bench_one("SQLite", f"sqlite:///{db}", scale, args.seed, tmp))
            if args.postgres:
                results.append(bench_postgres(args.postgres, scale, args.seed, tmp, args.keep))
    finally:
        if args.keep:
            print(f"SQLite databases kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
