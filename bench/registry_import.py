"""Benchmark of the roster import (`fupin import_roster`): rows per second for CSV and xlsx; then the export.

A synthetic county (10 towns × 12 villages) and a national-layout roster of --rows members (23 columns, labels as a
county's export has them) are made up; the CSV is imported into an empty registry, then imported again (nothing
changes: the idempotent path), then an xlsx roster of as many other members is imported into the same registry.
Wall-clock and CPU seconds are both reported: on a shared machine the wall clock includes waiting for a core.

Usage (from the repository root):
    .venv/bin/python bench/registry_import.py                          # SQLite in a temporary directory
    .venv/bin/python bench/registry_import.py --postgres postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/registry_import.py --rows 20000             # a quick run
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from registry_common import append_doc, bench_parser, fresh_database, load_note, make_county

DB_NAME = "fupin_bench_registry_import"


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    args = bench_parser(__doc__, "rows", 100_000).parse_args()
    with fresh_database(args.postgres, DB_NAME) as label:
        run(args, label)


def run(args, label: str) -> None:
    from fupin.registry.importer import import_roster
    from fupin.registry.models import Person
    from fupin.registry.testdata import roster_rows, write_csv, write_xlsx

    places = make_county()
    households = max(1, round(args.rows / 3.36))
    tmp = Path(tempfile.mkdtemp(prefix="fupin-bench-roster-"))
    rows = roster_rows(places, households=households, seed=1)  # about --rows members
    csv_path = write_csv(tmp / "roster.csv", rows)
    xrows = roster_rows(places, households=households, seed=2, start=households * 2, code_prefix="X")
    t0 = time.perf_counter()
    xlsx_path = write_xlsx(tmp / "roster.xlsx", xrows, title="宜都市建档立卡贫困人口花名册")
    print(f"files made: {len(rows)} CSV rows, {len(xrows)} xlsx rows (xlsx written in {time.perf_counter() - t0:.1f}s)")

    results = []
    for name, path, n in (("CSV, empty registry", csv_path, len(rows)),
                          ("CSV again (nothing changes)", csv_path, len(rows)),
                          ("xlsx, registry already holding the CSV", xlsx_path, len(xrows))):
        res, wall, cpu = timed(lambda p=path: import_roster(actor="bench", path=p))
        assert not res.problems or name.startswith("CSV again"), res.report(limit=5)
        results.append((name, n, wall, cpu))
        print(f"{label} {name}: {n} rows in {wall:.1f}s wall ({n / wall:,.0f} rows/s), {cpu:.1f}s CPU "
              f"({n / cpu:,.0f} rows/s); created {res.persons_created}, unchanged {res.persons_unchanged}")
    assert Person.objects.count() == len(rows) + len(xrows)

    # the export (/households/export.xlsx and .csv) of everything just imported, as a county user sees it
    from fupin.accounts.models import User
    from fupin.registry import exporter, selectors

    everyone = User(is_superuser=True, username="bench")
    for fmt in ("xlsx", "csv"):
        out = tmp / f"export.{fmt}"

        def export(fmt=fmt, out=out):
            rows_out = exporter.export_rows(everyone, selectors.household_list(everyone))
            if fmt == "xlsx":
                return exporter.write_xlsx(out, rows_out)
            with open(out, "w", encoding="utf-8") as fh:
                return sum(1 for line in exporter.csv_lines(rows_out) if fh.write(line)) - 1

        n, wall, cpu = timed(export)
        results.append((f"export to {fmt} (roster layout)", n, wall, cpu))
        print(f"{label} export {fmt}: {n} rows in {wall:.1f}s wall ({n / wall:,.0f} rows/s), {cpu:.1f}s CPU")
    if args.write_doc:
        lines = [f"## Roster import and export ({label}, bench/registry_import.py, {args.rows:,} rows, 23 columns)", "",
                 "| file | rows | wall s | rows/s (wall) | CPU s | rows/s (CPU) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {name} | {n:,} | {wall:.1f} | {n / wall:,.0f} | {cpu:.1f} | {n / cpu:,.0f} |"
                  for name, n, wall, cpu in results]
        lines += ["", f"Measured {load_note()}."]
        append_doc("\n".join(lines))


if __name__ == "__main__":
    main()
