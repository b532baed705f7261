"""CPU seconds of each step of `compare` and of the rerun after one department reloads (issues 13 and 19).

    .venv/bin/python bench/compare_steps.py --dir /tmp/me/s0.3 --scale 0.3 [--prepare]

`--prepare` generates the county (independent generator, sheets, footers and dates) under DIR/county and imports it
into DIR/db.sqlite3 (data files in DIR/data) once; every run then copies that database and data folder to
DIR/work, runs `compare_run`, re-imports the vehicle extract (the same file) and runs `compare_run` again. Each step
is timed by wrapping its function: wall and CPU seconds (`time.process_time`, which counts DuckDB's threads too) —
CPU is the figure to read on a shared machine. A step run in another thread (the links' transaction beside the rules) is named "… (alongside)" and
counts that thread's CPU seconds. Nested steps count in their callers too (`linkage_write` contains
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
is then brought up to date incrementally inside it. The snapshots' columnar copies (fupin/exchange/cache.py) are likewise
taken over into the work copy's folder first (`snapshot_copies_at_import`: where each department import leaves them);
`--restore-in-compare` leaves that to `compare`, which then takes each copy over itself (`cache._restored`, as after a
restore: verified against the database and copied, 0.2 s at 1x and 1.4 s at 10x here), as every run did before
2026-12-05 14:00 UTC.

`--crypto off` (for `--prepare` and the runs alike) stores values, indexes and files plain
(bench/registry_common.py `crypto_off`), for an on-vs-off comparison of two counties prepared from the same files:

    .venv/bin/python bench/compare_steps.py --dir /tmp/me/c1off --scale 1 --prepare --crypto off
    .venv/bin/python bench/compare_steps.py --dir /tmp/me/c1off --scale 1 --crypto off

`--quality` adds, for the first `compare`: the peak resident memory of the process during it (`VmHWM`, reset just
before), the largest size DuckDB's spill folder (FUPIN_DUCKDB_TEMP) reached during it (sampled twice a second),
the linkage's precision and recall against the generator's truth (in all and per kind of noise) and the findings
found / expected (issue 19's growth runs at 3x and 10x), where the resident memory was highest (sampled with the
spill folder: the wrapped steps running then) and each wrapped step's resident memory at its end. `--no-rerun` stops after the first `compare`; `--json FILE` writes the figures there too.
`--copy-only` copies the prepared county to DIR/work and brings the registry copy up to date (what the last import
does), then stops; `--reuse-work` then runs `compare` on DIR/work in a process of its own, as `fupin compare` runs
after the imports, so that its peak memory is not raised by what building the copy left in the process.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import os
import shutil
import sys
import threading
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
    parser.add_argument("--restore-in-compare", action="store_true",
                        help="leave the snapshots' copies in the prepared database's folder: compare takes them over "
                             "itself, as after a restore (the figures before 2026-12-05 14:00 UTC)")
    parser.add_argument("--registry-edit", type=int, default=0, help="persons to change before a third compare")
    parser.add_argument("--quality", action="store_true",
                        help="peak memory, spill size, precision, recall and findings of the first compare")
    parser.add_argument("--no-rerun", action="store_true", help="stop after the first compare")
    parser.add_argument("--copy-only", action="store_true",
                        help="copy the prepared county to DIR/work, bring the registry copy up to date, and stop")
    parser.add_argument("--reuse-work", action="store_true",
                        help="use DIR/work as a --copy-only run left it (compare then runs in a process of its own)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--changed-reload", type=float, default=0.0,
                        help="percent of the vehicle extract's data rows dropped before one more reload and compare")
    parser.add_argument("--crypto", choices=["on", "off"], default="on",
                        help="off: values, indexes and files stored plain (a county prepared with --crypto off)")
    parser.add_argument("--accuracy", dest="quality", action="store_true", help="the same as --quality")
    args = parser.parse_args()
    base: Path = args.dir
    base.mkdir(parents=True, exist_ok=True)
    work = base / "work" if not args.prepare else base
    if not args.prepare and not args.reuse_work:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        shutil.copy(base / "db.sqlite3", work / "db.sqlite3")
        shutil.copytree(base / "data", work / "data")
    from registry_common import open_work

    open_work(work)
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
    # the generator's truth (a million links at 3x) is read in a child process for what the runs need, so that its
    # Python objects do not sit in this process's memory during `compare`; --quality reads it whole afterwards
    truth = _truth_summary(folder / "truth.json")
    timed: dict[str, list[float]] = {}
    sizes: dict[str, dict] = {}  # the Arrow tables the wrapped steps returned (--quality): rows and MB
    active: list[str] = []  # the wrapped steps running now, outermost first (where the sampled peak happened)
    ends: list[list] = []  # (--quality) each wrapped step's end: label, resident MB, peak so far MB

    main_thread = threading.main_thread()

    @contextlib.contextmanager
    def step(label: str):
        # a step in another thread (the links' transaction runs beside the rules: eligibility/services.py
        # `_LinksAlongside`) is counted with that thread's CPU seconds (the process's would count the rules' too),
        # named "… (alongside)", and left out of `active` (the main thread's steps)
        here = threading.current_thread() is main_thread
        cpu = time.process_time if here else time.thread_time
        key = label if here else f"{label} (alongside)"
        t, c = time.perf_counter(), cpu()
        if here:
            active.append(label)
        try:
            yield
        finally:
            if here:
                active.pop()
            w = timed.setdefault(key, [0.0, 0.0])
            w[0] += time.perf_counter() - t
            w[1] += cpu() - c
            if args.quality:
                ends.append([key, round(_rss_mb()), round(_peak_mb())])

    profiled = set(filter(None, os.environ.get("FUPIN_PROFILE_STEPS", "").split(",")))

    def wrap(owner, name: str, label: str | None = None) -> None:
        fn = getattr(owner, name)
        key = label or name

        @functools.wraps(fn)
        def timed_fn(*a, **kw):
            with step(key):
                if key in profiled:  # FUPIN_PROFILE_STEPS=name,name: cProfile those steps into FUPIN_PROFILE_DIR
                    import cProfile

                    # FUPIN_PROFILE_CPU=1: the process's CPU seconds as the profiler's clock (a shared machine's
                    # wall clock counts the other processes' turns too)
                    prof = cProfile.Profile(time.process_time) if os.environ.get("FUPIN_PROFILE_CPU") else \
                        cProfile.Profile()
                    result = prof.runcall(fn, *a, **kw)
                    prof.dump_stats(str(Path(os.environ.get("FUPIN_PROFILE_DIR", ".")) / f"{key}.prof"))
                else:
                    result = fn(*a, **kw)
                if args.quality and hasattr(result, "nbytes") and hasattr(result, "num_rows"):  # an Arrow table held
                    sizes[key] = {"rows": result.num_rows, "mb": round(result.nbytes / 1024**2)}
                return result

        if name == "link":
            # the engine's link: linkage_compute hands over the records' only reference and the engine lets it go
            # once DuckDB holds them; `timed_fn(*a, **kw)` would keep them alive in its `kw` for the whole call. Here
            # they travel in a box the call empties, every argument passed by keyword (no other reference is held)
            @functools.wraps(fn)
            def timed_fn(self, *, records, persons, divisions, decisions, settings, con=None):
                box = [records]
                del records
                with step(key):
                    return fn(self, records=box.pop(), persons=persons, divisions=divisions, decisions=decisions,
                              settings=settings, con=con)

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
    # the linkage's reads of the copy and the block counts into its DuckDB database
    wrap(registry_copy, "persons_into", "link.persons_into (the copy into DuckDB)")
    wrap(registry_copy, "blocks_into", "link.registry_blocks_into (kept with the copy, into DuckDB)")
    wrap(registry_copy, "households", "registry_copy.households (the rules' households)")
    for name, label in (("load_records", "link.load_records"), ("visible_id_parts", "link.visible_id_parts"),
                        ("skew_guard", "link.skew_guard (block sizes)"), ("load_divisions", "link.load_divisions"),
                        *([("skew_guard_records", "link.skew_guard_records (the records' keys)")]
                          if hasattr(linkage, "skew_guard_records") else [])):
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

    report: dict = {"scale": args.scale, "people": truth["people"], "records": truth["records"]}

    def run(label: str) -> None:
        timed.clear()
        sizes.clear()
        ends.clear()
        spill = _SpillWatch(active) if args.quality else None
        _peak_reset()
        rss_before = _peak_mb()
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
        if spill is not None:
            figures["peak_mb"], figures["rss_before_mb"] = round(_peak_mb()), round(rss_before)
            figures["spill_max_mb"] = round(spill.stop() / 1024**2)
            # where the resident memory was highest (sampled twice a second) and each step's end
            figures["rss_sampled_max"] = {"mb": round(spill.rss_max), "steps": spill.rss_max_at,
                                          "seconds_in": spill.rss_max_t}
            figures["step_ends_mb"] = list(ends)
            figures["link_stats"] = {k: (result.stats.get("link") or {}).get(k) for k in (
                "exact", "residual", "probabilistic", "review_pairs", "predict_chunks", "seconds_predict")}
            figures["skew"] = (result.stats.get("link") or {}).get("skew")
            figures["arrow_tables"] = dict(sizes)
        print(label, json.dumps(figures, ensure_ascii=False, indent=1), flush=True)
        report[label] = figures

    if not args.cold and not args.reuse_work:
        t, c = time.perf_counter(), time.process_time()
        info = registry_copy.refresh(table=False)[1]
        print("registry_copy_at_import", json.dumps({"wall_s": round(time.perf_counter() - t, 2),
                                                     "cpu_s": round(time.process_time() - c, 2),
                                                     "load_average": os.getloadavg()[0], **info}), flush=True)
    if not args.reuse_work and not args.restore_in_compare:
        # the snapshots' columnar copies, where each department import leaves them: in this database's own folder
        # (the work copy is at a new path, so its folder is new; without this `compare` takes each copy over from
        # the prepared database's folder itself, `cache._restored`: a restore's cost, not a run's)
        from fupin.exchange.cache import snapshot_records_read
        from fupin.exchange.public import current_snapshots

        t, c = time.perf_counter(), time.process_time()
        taken = sum(snapshot_records_read(s, columns=["record_id"]) is not None for s in current_snapshots())
        print("snapshot_copies_at_import", json.dumps({"wall_s": round(time.perf_counter() - t, 2),
                                                      "cpu_s": round(time.process_time() - c, 2),
                                                      "snapshots": taken}), flush=True)
    if args.copy_only:
        return
    run("compare")
    if args.quality:
        report["quality"] = _quality(json.loads((folder / "truth.json").read_text(encoding="utf-8")))
        print("quality", json.dumps(report["quality"], ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    if args.no_rerun:
        return
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
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1))


def _truth_summary(path: Path) -> dict:
    import subprocess

    code = ("import json, sys; t = json.load(open(sys.argv[1], encoding='utf-8')); "
            "print(json.dumps({'files': t['files'], 'people': t['roster']['people'], 'records': len(t['links'])}))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _peak_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
    except OSError:
        pass


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _SpillWatch:
    """The largest total size of DuckDB's spill folder while it runs (sampled every half second)."""

    def __init__(self, active: list[str] | None = None) -> None:
        from django.conf import settings

        self.folder = Path(settings.FUPIN_DUCKDB_TEMP)
        self.largest = 0
        self.active = active if active is not None else []
        self.rss_max, self.rss_max_at, self.rss_max_t, self.t0 = 0.0, [], 0.0, time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _size(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_blocks * 512  # allocated, not apparent
                except OSError:
                    pass
        return total

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.largest = max(self.largest, self._size())
            rss = _rss_mb()
            if rss > self.rss_max:
                self.rss_max, self.rss_max_at = rss, list(self.active)
                self.rss_max_t = round(time.perf_counter() - self.t0, 1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.largest, self._size())


def _quality(truth: dict) -> dict:
    from fupin.eligibility.services import findings_export
    from fupin.exchange.evaluation import linkage_quality, linkage_quality_by_noise, predicted_pairs

    pairs = predicted_pairs()
    q = linkage_quality(truth, pairs)
    by_noise = linkage_quality_by_noise(truth, pairs)
    got = {(f["household"], f["rule"], f["person"], f["source"]) for f in findings_export()["findings"]}
    expected = {(f["household"], f["rule"], f["person"], f["source"]) for f in truth["findings"]}
    return {"precision": round(q["precision"], 5), "recall": round(q["recall"], 5),
            "false_positives": q["false_positives"], "false_negatives": q["false_negatives"],
            "findings_expected": len(expected), "findings_found": len(got & expected),
            "findings_extra": len(got - expected),
            "findings_recall": round(len(got & expected) / len(expected), 5) if expected else None,
            "by_noise": {k: {x: v[x] for x in ("expected", "found", "recall", "precision")}
                         for k, v in by_noise.items()}}


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
