"""Peak memory and time of the guarded upload reader on each hostile file (issue 12).

Each file is made by fupin/core/hostile_files.py, then checked as an upload (`uploads.check_table_file`, what
`save_upload` does) and read with `tabular.read_table` (what every importer calls) in a fresh Python process; the child reports whether the file was refused, the message, the seconds and its peak resident
memory (ru_maxrss). A fresh process per file keeps one file's peak from hiding another's.

Usage (from the repository root):
    .venv/bin/python bench/hostile_uploads.py            # prints a Markdown table
    .venv/bin/python bench/hostile_uploads.py --zip-mb 2048 --csv-rows 2000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from fupin.core import tabular, uploads
from fupin.core.errors import ImportRefused
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
spec = tabular.TableSpec(columns={"name": ["姓名"], "id": ["证件号码"]}, required=["name", "id"])
t0 = time.perf_counter()
try:
    uploads.check_table_file(sys.argv[1])  # what save_upload does with an upload, before any importer reads it
    rows = sum(1 for _ in tabular.read_table(sys.argv[1], spec)[1])
    outcome, message = "read", f"{rows} rows"
except ImportRefused as exc:
    outcome, message = "refused", exc.problems[0].problem if exc.problems else exc.message
print(json.dumps({"outcome": outcome, "message": message, "seconds": round(time.perf_counter() - t0, 3),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "baseline_mb": round(base / 1024, 1)}, ensure_ascii=False))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zip-mb", type=int, default=2048, help="unpacked size of the zip bomb's sheet")
    ap.add_argument("--csv-rows", type=int, default=1_400_000, help="rows of the huge CSV (1.4 M ≈ 49 MB, under the size limit)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from fupin.core import hostile_files as hostile

    with tempfile.TemporaryDirectory(prefix="fupin-hostile-") as tmp:
        d = Path(tmp)
        good = hostile.xlsx(d / "good.xlsx", [hostile.ROSTER_HEAD] + [["1", "张三", "420581199001011234", "户主"]] * 2000)
        files = [
            ("merged range A2:ZZZZZZZ3", hostile.merged_range_bomb(d / "merged.xlsx")),
            ("cell at row 1,048,576", hostile.far_cell(d / "far.xlsx")),
            (f"zip bomb ({args.zip_mb} MB sheet)", hostile.zip_bomb(d / "zip.xlsx", args.zip_mb)),
            ("zip bomb (300 MB sheet, under the unpacked limit)", hostile.zip_bomb(d / "zip300.xlsx", 300)),
            (f"huge CSV ({args.csv_rows:,} rows)", hostile.huge_csv(d / "huge.csv", args.csv_rows)),
            ("mixed encodings CSV", hostile.mixed_encoding_csv(d / "mixed.csv")),
            ("PNG renamed .xlsx", hostile.renamed(d / "png.xlsx")),
            ("truncated xlsx", hostile.truncated(d / "cut.xlsx", good)),
            ("control: a good xlsx (2,000 rows)", good),
        ]
        print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
        print("| file | size on disk | outcome | message | seconds | peak RSS (MB) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for label, path in files:
            r = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ}, timeout=600)
            if r.returncode != 0:
                print(f"| {label} | {path.stat().st_size:,} B | CRASH | {r.stderr.strip().splitlines()[-1][:120]} | | |")
                continue
            out = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"| {label} | {path.stat().st_size:,} B | {out['outcome']} | {out['message'][:70]} | "
                  f"{out['seconds']} | {out['peak_mb']} |")


if __name__ == "__main__":
    main()
