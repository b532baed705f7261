"""How the exchange pipeline's time grows with the county: runs bench/exchange_pipeline.py at each scale in a fresh
process and database, and prints one line per scale.

    .venv/bin/python bench/exchange_growth.py [--scales 0.1,0.3,1,3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="0.1,0.3,1,3")
    args = parser.parse_args()
    print("scale  people  records  import_s  compare_s  compare_cpu_s  peak_mb  rerun_s  precision  recall  load  chunks")
    for scale in [float(s) for s in args.scales.split(",")]:
        out = Path(tempfile.mkdtemp()) / "r.json"
        subprocess.run([sys.executable, str(HERE / "exchange_pipeline.py"), "--scale", str(scale),
                        "--no-splink-alone", "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
        r = json.loads(out.read_text())
        print(f"{scale:<6} {r['people']:>7} {r['records']:>8} {r['import_departments_s']:>9} {r['compare_s']:>10} "
              f"{r['compare_cpu_s']:>14} {r['compare_peak_mb']:>8} {r['rerun_after_reload_s']:>8} "
              f"{r['precision']:>10} {r['recall']:>7} {r['load_average']:>5.1f} {r['link_stats'].get('predict_chunks', '')}",
              flush=True)


if __name__ == "__main__":
    main()
