"""SIGKILL a roster import, a department import, a comparison and the nightly run at 20 random points each: no
partial batch, nothing duplicated, and a rerun equals an uninterrupted run (tests/crash_harness.py does the work in
its own process and database; on PostgreSQL a database named after FUPIN_TEST_DB_SUFFIX)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sigkill_at_random_points_leaves_no_partial_work():
    env = {**os.environ, "CRASH_POINTS": os.environ.get("CRASH_POINTS", "20"), "CRASH_SEED": "12",
           "CRASH_DATABASE_URL": os.environ.get("DATABASE_URL", "")}
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "crash_harness.py")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    last = (r.stdout.strip().splitlines() or ["{}"])[-1]
    assert r.returncode == 0, last + "\n" + r.stderr[-3000:]
    report = json.loads(last)
    assert set(report) == {"roster_import", "department_import", "comparison", "nightly"}
    for name, figures in report.items():
        assert figures["points"] >= 20, name
        assert figures["killed_mid_run"] >= 5, (name, figures)  # the kills really landed while it worked
