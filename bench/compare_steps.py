"""CPU seconds of each step of `compare` and of the rerun after one department reloads (issues 13 and 19).

    .venv/bin/python bench/compare_steps.py --dir /tmp/me/s0.3 --scale 0.3 [--prepare]

`--prepare` generates the county (independent generator, sheets, footers and dates) under DIR/county and imports it
into DIR/db.sqlite3 (data files in DIR/data) once; every run then copies that database and data folder to
DIR/work, runs `compare_run`, re-imports the vehicle extract (the same file) and runs `compare_run` again. Each step
is timed by wrapping its function: wall and CPU seconds (`time.process_time`, which counts DuckDB's threads too) —
CPU is the figure to read on a shared machine. Nested steps count in their callers too (`linkage_write` contains
the links' `BulkWriter.write`; `_reconcile_apply` contains `_post_tasks`; `linkage_compute` contains the linkage's
sub-steps, named `link.*`: reading the department records, the skew guard's block sizes, the engine's normalising
and exact joins (`link.engine` minus `link.probabilistic`), the probabilistic part with its training
(`link.training`) and prediction (`link.predict_chunk`), and the explanations).

The registry's columnar copy (fupin/exchange/registry_copy.py) is kept current by each department import after it
commits and by the nightly step. The prepared database was copied to DIR/work, under a new name, so the copy kept
at the preparation is not this database's: by default it is built first, as the last import would have (timed
apart as `registry_copy_at_import`), and `compare` finds it current (`load_persons`, the read of the kept copy).
`--cold` skips that: `compare` then builds the copy itself, as before the copy was kept. `--registry-edit N`
changes N persons (as a roster update does: version moved) after the rerun and runs `compare` once more: the copy
is then brought up to date incrementally inside it.

`--crypto off` (for `--prepare` and the runs alike) stores values, indexes and files plain
(bench/registry_common.py `crypto_off`), for an on-vs-off comparison of two counties prepared from the same files:

    .venv/bin/python bench/compare_steps.py --dir /tmp/me/c1off --scale 1 --prepare --crypto off
    .venv/bin/python bench/compare_steps.py --dir /tmp/me/c1off --scale 1 --crypto off
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--cold", action="store_true", help="no registry copy kept before the first compare")
    parser.add_argument("--registry-edit", type=int, default=0, help="persons to change before a third compare")
    parser.add_argument("--changed-reload", type=float, default=0.0,
                        help="percent of the vehicle extract's data rows dropped before one more reload and compare")
    parser.add_argument("--crypto", choices=["on", "off"], default="on",
                        help="off: values, indexes and files stored plain (a county prepared with --crypto off)")
    parser.add_argument("--accuracy", action="store_true",
                        help="after the first compare: linkage precision and recall against the county's truth")
    args = parser.parse_args()
    base: Path = args.dir
    base.mkdir(parents=True, exist_ok=True)
    work = base / "work" if not args.prepare else base
    if not args.prepare:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        shutil.copy(base / "db.sqlite3", work / "db.sqlite3")
        shutil.copytree(base / "data", work / "data")
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/db.sqlite3"
    os.environ["FUPIN_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if args.crypto == "off":
        from registry_common import crypto_off

        crypto_off()
    from django.core.management import call_command

    from fupin.exchange.services import import_department

    folder = base / "county"
    if args.prepare:
        from fupin.exchange.testdata import make_county

        if not (folder / "truth.json").exists():
            make_county(folder, scale=args.scale, seed=42, style="new", quirks=("sheets", "footers", "dates"))
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        call_command("migrate", verbosity=0)
        call_command("import_divisions", str(ROOT / "fupin/demo/fixtures/yidu_420581_divisions_2016.csv"),
                     stdout=open(os.devnull, "w"))
        call_command("import_roster", str(folder / truth.get("roster_file", "roster.xlsx")),
                     stdout=open(os.devnull, "w"))
        for source, name in truth["files"].items():
            import_department(actor="bench", source_code=source, path=folder / name)
        print("prepared", base)
        return
    call_command("migrate", verbosity=0)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    timed: dict[str, list[float]] = {}

    def wrap(owner, name: str, label: str | None = None) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed_fn(*a, **kw):
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                w = timed.setdefault(label or name, [0.0, 0.0])
                w[0] += time.perf_counter() - t
                w[1] += time.process_time() - c

        static = isinstance(inspect.getattr_static(owner, name), staticmethod)
        setattr(owner, name, staticmethod(timed_fn) if static else timed_fn)

    from fupin.core.bulk import BulkWriter
    from fupin.eligibility import services
    from fupin.exchange import engine, linkage, public, registry_copy

    for name in ("linkage_compute", "linkage_write", "planned_links", "load_persons", *(
            ["linkage_cache"] if hasattr(public, "linkage_cache") else [])):
        wrap(public, name)
    wrap(registry_copy, "build_full", "registry_copy.build_full")
    wrap(registry_copy, "build_incremental", "registry_copy.build_incremental")
    # the skew guard's registry side and the rules' households, kept with the copy (read, or made when missing)
    wrap(registry_copy, "blocks", "link.registry_blocks (kept with the copy)")
    wrap(registry_copy, "households", "registry_copy.households (the rules' households)")
    for name, label in (("load_records", "link.load_records"), ("visible_id_parts", "link.visible_id_parts"),
                        ("skew_guard", "link.skew_guard (block sizes)"), ("load_divisions", "link.load_divisions")):
        wrap(linkage, name, label)
    for name, label in (("link", "link.engine (normalise, exact joins, probabilistic)"),
                        ("_probabilistic", "link.probabilistic (blocking, training, prediction)"),
                        ("_model", "link.training"), ("_scored", "link.predict_chunk (scored pairs kept)"),
                        ("_explanations", "link.explanations")):
        wrap(engine.DuckDBEngine, name, label)
    wrap(BulkWriter, "write", "BulkWriter.write")
    for name in ("_load_tables", "_value_map", "_evaluate", "_reconcile_plan", "_reconcile_apply",
                 "_write_assessments", "_counts", "not_understood_refresh", "_post_tasks", "_changed_households",
                 "_assessments_merged"):
        wrap(services, name)

    def run(label: str) -> None:
        timed.clear()
        t, c = time.perf_counter(), time.process_time()
        result = services.compare_run(actor="bench")
        figures = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - c, 2),
                   "load_average": os.getloadavg()[0], "changes": result.stats["changes"],
                   "incremental": result.stats.get("incremental"),
                   # the run's own figures: write_links, write_findings, write_lock (the two transactions)
                   "seconds": result.stats.get("seconds"),
                   "link": {k: (result.stats.get("link") or {}).get(k) for k in (
                       "records", "links", "links_carried", "carried")},
                   "steps_cpu_s": {k: round(v[1], 2) for k, v in sorted(timed.items(), key=lambda x: -x[1][1])},
                   "steps_wall_s": {k: round(v[0], 2) for k, v in timed.items()},
                   "engine_seconds": {k: v for k, v in ((result.stats.get("link") or {}).items())
                                      if k.startswith("seconds")}}
        print(label, json.dumps(figures, ensure_ascii=False, indent=1), flush=True)

    if not args.cold:
        t, c = time.perf_counter(), time.process_time()
        info = registry_copy.refresh(table=False)[1]
        print("registry_copy_at_import", json.dumps({"wall_s": round(time.perf_counter() - t, 2),
                                                     "cpu_s": round(time.process_time() - c, 2),
                                                     "load_average": os.getloadavg()[0], **info}), flush=True)
    run("compare")
    if args.accuracy:
        from fupin.exchange.evaluation import linkage_quality

        q = linkage_quality(truth)
        print("accuracy", json.dumps({"precision": round(q["precision"], 5), "recall": round(q["recall"], 5),
                                      **{k: q[k] for k in ("false_positives", "false_negatives", "predicted")}}),
              flush=True)
    import_department(actor="bench", source_code="vehicle", path=folder / truth["files"]["vehicle"])
    run("rerun_after_vehicle_reload")
    if args.changed_reload:
        changed = work / ("vehicle_changed" + Path(truth["files"]["vehicle"]).suffix)
        dropped = _drop_rows(folder / truth["files"]["vehicle"], changed, args.changed_reload)
        import_department(actor="bench", source_code="vehicle", path=changed)
        run(f"rerun_after_vehicle_reload_with_{dropped}_rows_dropped")
    if args.registry_edit:
        from fupin.core.bulk import update_rows
        from fupin.registry.models import Person

        rows = list(Person.objects.order_by("pk").values_list("pk", "version")[:args.registry_edit])
        update_rows(Person, ["labour_skill", "version"], [(pk, "5", v + 1) for pk, v in rows])
        run(f"compare_after_{len(rows)}_persons_changed")


def _drop_rows(src: Path, dst: Path, percent: float) -> int:
    """A copy of an extract with every n-th data row removed (n = 100 / percent): the department resends its file with
    some records gone. The header (first row) and the last ten rows of each sheet (footers) are kept as they are."""
    step = max(1, round(100 / percent))
    dropped = 0
    if src.suffix == ".csv":
        lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        kept = [ln for i, ln in enumerate(lines) if i == 0 or i >= len(lines) - 10 or i % step]
        dropped = len(lines) - len(kept)
        dst.write_text("".join(kept), encoding="utf-8-sig")
        return dropped
    import openpyxl

    book = openpyxl.load_workbook(src)
    for sheet in book.worksheets:
        doomed = [r for r in range(2, sheet.max_row - 9) if r % step == 0]
        for r in reversed(doomed):
            sheet.delete_rows(r)
        dropped += len(doomed)
    book.save(dst)
    return dropped


if __name__ == "__main__":
    main()
