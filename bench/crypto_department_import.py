"""Benchmark of encryption at rest for a department's records: importing an extract into staging (the raw and
canonical values, the ID as received, cleaned and normalised sealed, the exact-search index filled) and the linkage's
read of the staged records from the database (its fallback when the columnar copy is missing), on vs off.

Each mode runs in a process of its own on a fresh database (same seed, same file): "on" seals as the platform does;
"off" stores the same values plain (crypto.encrypt and crypto.blind_index replaced by the identity, as
bench/crypto_fields.py does). Figures are wall time and the process's CPU time (user+sys): on SQLite the database
works inside the process, so CPU time is the whole cost; the machine is shared, so CPU time is the figure to read.

Usage (from the repository root):
    .venv/bin/python bench/crypto_department_import.py                  # SQLite, 100,000 records
    .venv/bin/python bench/crypto_department_import.py --records 400000 --postgres postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_common import cpu_seconds as cpu
from registry_common import crypto_modes, fresh_database, on_off_table

DB_NAME = "fupin_bench_crypto_dept"


def write_extract(path: Path, records: int, seed: int = 7) -> None:
    from fupin.core import idnumber

    rng = random.Random(seed)
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("序号,车主,身份证明号码,车辆类型,机动车状态,购置价格\n")
        for i in range(1, records + 1):
            body = f"420581{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
            number = body + idnumber.check_char(body)
            name = rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.randint(1, 2)))
            fh.write(f"{i},{name},{number},{rng.choice(['小型轿车', '摩托车', '货车'])},正常,{rng.randint(3, 30)}0000\n")


def child(mode: str, records: int, postgres: str | None) -> dict:
    with fresh_database(postgres, f"{DB_NAME}_{mode}", crypto=mode) as label:
        from fupin.exchange import cache
        from fupin.exchange.linkage import load_records
        from fupin.exchange.models import StagedRecord
        from fupin.exchange.services import import_department, sources_ensure_defaults

        sources_ensure_defaults()
        out: dict = {"db": label}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "vehicle.csv"
            write_extract(path, records)
            t, c = time.perf_counter(), cpu()
            snap = import_department(actor="bench", source_code="vehicle", path=path)
            out["import"] = (time.perf_counter() - t, cpu() - c)
        assert StagedRecord.objects.filter(snapshot=snap).count() == records
        for f in cache.folder().glob("snapshot-*"):  # the read from the database, as when the copy is missing
            f.unlink()
        t, c = time.perf_counter(), cpu()
        table = load_records([snap])
        out["read"] = (time.perf_counter() - t, cpu() - c)
        assert table.num_rows == records and len(table.column("id_number")[0].as_py()) == 18
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(f'SELECT id_number FROM "{StagedRecord._meta.db_table}" LIMIT 1')
            out["stored_id"] = cur.fetchone()[0][:12]
        return out


def main() -> None:
    args, off, on = crypto_modes(__doc__, "records", 100_000, child)
    print(f"{on['db']}, {args.records:,} department records, load average {os.getloadavg()[0]:.1f}")
    print("\n".join(on_off_table(off, on, [("import", "department import into staging"),
                                           ("read", "linkage read from the database")])))
    print(f"stored id_number: off `{off['stored_id']}`, on `{on['stored_id']}`")


if __name__ == "__main__":
    main()
