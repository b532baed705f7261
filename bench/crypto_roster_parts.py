"""Where the extra CPU of the roster import with encryption on goes, without a profiler: the first import of
bench/crypto_roster_import.py (a national-layout roster of --rows members into an empty registry), on vs off, each
in a process of its own, with the CPU time (this thread's) of its parts summed around the calls:

- index: the blind indexes of a chunk (`BlindIndexField.index_many`, three per ID number: whole, last 4, last 6);
- seal: the sealed columns of a chunk (`EncryptedTextField/EncryptedJSONField.seal_many`);
- finish, own: the rest of the bulk writer's per-chunk step (`BulkWriter._finish` less index and seal);
- executemany: SQLite writing the rows; execute: every other statement (the indexes rebuilt after the load among
  them); commit: the commits;
- the rest: parsing, checking and planning the file (the same work in both modes).

cProfile inflates Python calls several times over and so misreads cheap C calls against Python loops; these
timers add one call per chunk. The process's CPU time (user+sys) is the total, as in crypto_roster_import.py.

Usage (from the repository root):
    .venv/bin/python bench/crypto_roster_parts.py --rows 390000 --rounds 2
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_common import cpu_seconds as cpu
from registry_common import crypto_modes, fresh_database, make_county, modes_heading

DB_NAME = "fupin_bench_crypto_parts"
PARTS = ["index", "seal", "finish, own", "executemany", "execute", "commit", "the rest"]


def child(mode: str, rows: int, postgres: str | None) -> dict:
    with fresh_database(postgres, f"{DB_NAME}_{mode}", crypto=mode) as label:
        from django.db.backends.base.base import BaseDatabaseWrapper
        from django.db.backends.utils import CursorWrapper

        from fupin.core import bulk, fields
        from fupin.registry.importer import import_roster
        from fupin.registry.testdata import roster_rows, write_csv

        spent: dict[str, float] = defaultdict(float)

        def timed(name, fn):
            def wrapper(*args, **kwargs):
                start = time.thread_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[name] += time.thread_time() - start
            return wrapper

        fields.BlindIndexField.index_many = timed("index", fields.BlindIndexField.index_many)
        fields.EncryptedTextField.seal_many = timed("seal", fields.EncryptedTextField.seal_many)
        fields.EncryptedJSONField.seal_many = timed("seal", fields.EncryptedJSONField.seal_many)
        bulk.BulkWriter._finish = timed("finish", bulk.BulkWriter._finish)
        CursorWrapper.executemany = timed("executemany", CursorWrapper.executemany)
        CursorWrapper.execute = timed("execute", CursorWrapper.execute)
        BaseDatabaseWrapper._commit = timed("commit", BaseDatabaseWrapper._commit)

        places = make_county()
        roster = roster_rows(places, households=max(1, round(rows / 3.36)), seed=1)
        out: dict = {"db": label, "rows": len(roster), "load": os.getloadavg()[0]}
        with tempfile.TemporaryDirectory() as tmp:
            path = write_csv(Path(tmp) / "roster.csv", roster)
            t, c = time.perf_counter(), cpu()
            import_roster(actor="bench", path=path)
            wall, total = time.perf_counter() - t, cpu() - c
        parts = {"index": spent["index"], "seal": spent["seal"],
                 "finish, own": spent["finish"] - spent["index"] - spent["seal"],
                 "executemany": spent["executemany"], "execute": spent["execute"], "commit": spent["commit"]}
        parts["the rest"] = total - sum(parts.values())
        out["import"] = (wall, total)
        for name, seconds in parts.items():
            out[f"part {name}"] = (seconds, seconds)  # a pair, so that the rounds are averaged like the total
        return out


def main() -> None:
    _args, off, on = crypto_modes(__doc__, "rows", 100_000, child)
    print(modes_heading(off, on, f"{on['rows']:,} roster rows, first import, {on['rounds']} round(s)"))
    print("| part | off CPU s | on CPU s | on − off |")
    print("| --- | ---: | ---: | ---: |")
    for name in PARTS:
        a, b = off[f"part {name}"][1], on[f"part {name}"][1]
        print(f"| {name} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    a, b = off["import"][1], on["import"][1]
    print(f"| **whole import** (process CPU; wall off {off['import'][0]:.1f} s, on {on['import'][0]:.1f} s) | "
          f"{a:.2f} | {b:.2f} | {b - a:+.2f} ({b / max(a, 0.001):.2f}×) |")


if __name__ == "__main__":
    main()
