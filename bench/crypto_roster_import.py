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

`--rounds N` (every on-vs-off bench) alternates the modes N times (off, on, off, on, …) so that both see the same
load on a shared machine; each run's figures are printed, the table gives the means and each round's CPU seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_common import cpu_seconds as cpu
from registry_common import crypto_modes, fresh_database, make_county, modes_heading, on_off_table

DB_NAME = "fupin_bench_crypto_roster"


def child(mode: str, rows: int, postgres: str | None) -> dict:
    with fresh_database(postgres, f"{DB_NAME}_{mode}", crypto=mode) as label:
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
        return out


def main() -> None:
    _args, off, on = crypto_modes(__doc__, "rows", 100_000, child)
    print(modes_heading(off, on, f"{on['rows']:,} roster rows"))
    print("\n".join(on_off_table(off, on, [("import", "roster import into an empty registry"),
                                           ("again", "the same file again (nothing changes)")])))
    print(f"stored id_number: off `{off['stored_id']}`, on `{on['stored_id']}`")


if __name__ == "__main__":
    main()
