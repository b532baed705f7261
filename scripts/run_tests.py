"""Run the whole suite on SQLite and, when a PostgreSQL server answers at TEST_DATABASE_URL, on PostgreSQL too.

In CI (CI=true or FUPIN_REQUIRE_POSTGRES=1) an unreachable PostgreSQL is a failure, not a skip.
"""

import argparse
import os
import subprocess
import sys

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"


def pg_answers(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return True
    except Exception as exc:
        print(f"PostgreSQL at {url} does not answer: {exc}")
        return False


def run(label: str, env: dict, extra: list[str]) -> int:
    print(f"\n===== test suite on {label} =====", flush=True)
    # The Spark equality test (marked `spark`, local mode) joins the SQLite run: it passed in 2 min 45 s of wall at
    # load 11 on this 2-core machine (2026-12-04, docs/performance.md). It does not run on PostgreSQL as well: the
    # engine reads the snapshots' Parquet copies, not the database, so a second run would test nothing new.
    # FUPIN_TEST_SPARK=0 leaves it out (a machine without Java and pyspark, outside CI).
    with_spark = label == "SQLite" and os.environ.get("FUPIN_TEST_SPARK", "1") != "0"
    marks = [] if with_spark else ["-m", "not spark"]
    cmd = [sys.executable, "-m", "pytest", "-n", os.environ.get("FUPIN_TEST_WORKERS", "2"), "-q", *marks, *extra]
    return subprocess.call(cmd, env=env)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args, extra = parser.parse_known_args()
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    require_pg = os.environ.get("CI") == "true" or os.environ.get("FUPIN_REQUIRE_POSTGRES") == "1"
    codes = []
    if args.only in (None, "sqlite"):
        codes.append(run("SQLite", base, extra))
    if args.only in (None, "postgres"):
        url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        if pg_answers(url):
            codes.append(run("PostgreSQL", {**base, "DATABASE_URL": url}, extra))
        elif require_pg or args.only == "postgres":
            print("FAILED: the PostgreSQL run is required here but PostgreSQL does not answer")
            codes.append(1)
        else:
            print("NOTICE: PostgreSQL run skipped (no server answers at TEST_DATABASE_URL)")
    return max(codes) if codes else 0


if __name__ == "__main__":
    sys.exit(main())
