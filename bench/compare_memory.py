"""Where `compare`'s resident memory goes, step by step (issue 19: peak ≤ 2 GB at 3x and 10x).

    .venv/bin/python bench/compare_steps.py --dir D --scale N --copy-only     # D/work, registry copy current
    .venv/bin/python bench/compare_memory.py --dir D [--json FILE]            # `compare` alone, a fresh process

Runs one `compare_run` on D/work (as `--reuse-work` does: nothing else in the process), samples the resident memory
every 0.1 s with the wrapped steps running then (and what DuckDB's buffer manager — its memory limit — and
pyarrow's pool held then: `sampled_max`), and prints for each wrapped step its CPU and wall seconds, the resident
MB at its start and end and the highest sampled while it ran, the process's highest (`VmHWM`) at its end
(`peak_so_far_mb`: the linkage's own peak is `linkage_compute`'s), and the Arrow tables it returned (MB). Peak =
`VmHWM`, reset just before `compare`. CPU = user + sys of the process (DuckDB's threads included). The database is
left as the run wrote it: `bench/compare_digests.py D/work` then digests the results.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def _arrow_mb(result) -> float | None:
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result.nbytes / 1024**2
    if isinstance(result, tuple) and result and isinstance(result[0], dict):
        result = result[0]
    if isinstance(result, dict):
        sizes = [v.nbytes for v in result.values() if isinstance(v, pa.Table)]
        return sum(sizes) / 1024**2 if sizes else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir / "work"
    from registry_common import open_work

    open_work(work)
    from fupin.eligibility import services
    from fupin.exchange import engine, linkage, public, registry_copy

    active: list[str] = []
    steps: dict[str, dict] = {}
    lock = threading.Lock()

    @contextlib.contextmanager
    def measured(key: str):
        """One call of a wrapped step: counted, timed, its resident memory at the start, the end and the highest;
        yields a list the caller puts the step's result in (for its Arrow tables' size)."""
        s = steps.setdefault(key, {"calls": 0, "cpu_s": 0.0, "wall_s": 0.0, "rss_start_mb": None,
                                   "rss_max_mb": 0.0, "rss_end_mb": 0.0, "arrow_mb": 0.0})
        s["calls"] += 1
        rss = _status("VmRSS:")
        s["rss_start_mb"] = s["rss_start_mb"] if s["rss_start_mb"] is not None else round(rss)
        s["rss_max_mb"] = max(s["rss_max_mb"], rss)
        t, c = time.perf_counter(), time.process_time()
        with lock:
            active.append(key)
        result: list = []
        try:
            yield result
        finally:
            with lock:
                active.remove(key)
            s["cpu_s"] += time.process_time() - c
            s["wall_s"] += time.perf_counter() - t
            rss = _status("VmRSS:")
            s["rss_end_mb"] = round(rss)
            s["rss_max_mb"] = max(s["rss_max_mb"], rss)
            s["peak_so_far_mb"] = round(_status("VmHWM:"))  # the process's highest up to this step's end
        mb = _arrow_mb(result[0]) if result else None
        if mb is not None:
            s["arrow_mb"] += mb

    def wrap(owner, name: str, label: str | None = None) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return
        key = label or name

        @functools.wraps(fn)
        def timed(*a, **kw):
            with measured(key) as result:
                try:
                    result.append(fn(*a, **kw))
                finally:
                    if name == "evaluate":
                        forget()
            return result[0]

        if name == "link":
            # the records' and persons' only references are handed to the engine, which lets them go once DuckDB
            # holds them: `kw` above would keep them alive for the whole call, so they travel in a box it empties
            @functools.wraps(fn)
            def timed(self, *, records, persons, **kw):
                box = [records, persons]
                del records, persons
                with measured(key):
                    try:
                        return fn(self, records=box.pop(0), persons=box.pop(), **kw)
                    finally:
                        forget()

        setattr(owner, name, timed)

    for name in ("linkage_compute", "linkage_write", "linkage_cache", "planned_links", "load_persons",
                 "registry_households", "snapshot_record_data", "records_for_evidence"):
        wrap(public, name)
    wrap(linkage, "load_records")
    wrap(linkage, "skew_guard")
    wrap(registry_copy, "blocks", "registry_copy.blocks")
    wrap(registry_copy, "persons_into", "registry_copy.persons_into")
    wrap(registry_copy, "blocks_into", "registry_copy.blocks_into")
    wrap(engine.DuckDBEngine, "link", "engine.link")
    wrap(engine.DuckDBEngine, "evaluate", "engine.evaluate")
    for name in ("_compare_compute", "_compare_rules", "_load_tables", "_value_map", "_evaluate", "_reconcile_plan",
                 "_reconcile_apply", "_write_assessments", "_undecided", "_counts", "not_understood_refresh",
                 "_post_tasks", "_insert_findings", "_check_written", "_findings_slice", "_plan_slices"):
        wrap(services, name)

    # what lives inside DuckDB's buffer manager (its memory limit) and in pyarrow's pool, sampled beside the
    # resident size: the rest of the process is outside both (Python objects, DuckDB's allocations outside its
    # buffer manager, allocators' retained pages)
    # The sampler reads DuckDB's figure through a cursor of its own, opened (in the main thread) when the engine
    # connects: it never calls the engine's connection itself (DuckDB refuses a call on a connection busy in another
    # thread), and it is closed as the engine's step that closes the connection returns (a cursor keeps the
    # database alive).
    cursors: list = []
    duck_lock = threading.Lock()
    connect = engine.DuckDBEngine.connect

    def forget() -> None:
        with duck_lock:
            for cur in cursors:
                cur.close()
            cursors.clear()

    def connect_kept(self):
        con = connect(self)
        forget()
        with duck_lock:
            cursors.append(con.cursor())
        return con

    engine.DuckDBEngine.connect = connect_kept

    def inside() -> tuple[float | None, float]:
        import duckdb
        import pyarrow as pa

        duck = None
        with duck_lock:
            if cursors:
                try:
                    duck = cursors[0].execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
                except duckdb.ConnectionException:  # the engine closed its database (the run's end): none to read
                    cursors.pop(0)
        return (None if duck is None else round(duck / 1024**2)), round(pa.total_allocated_bytes() / 1024**2)

    samples: list[tuple] = []
    stop = threading.Event()
    t0 = time.perf_counter()

    known = [None, 0]  # DuckDB's and Arrow's latest figures, read in a thread of their own (a DuckDB query can
    # wait behind the engine's: the resident size is sampled on regardless)

    def sample_inside() -> None:
        while not stop.wait(0.3):
            known[:] = list(inside())

    def sample() -> None:
        while not stop.wait(0.1):
            rss = _status("VmRSS:")
            with lock:
                now = list(active)
            samples.append((round(time.perf_counter() - t0, 1), rss, now, *known))
            for key in now:
                if key in steps:
                    steps[key]["rss_max_mb"] = max(steps[key]["rss_max_mb"], rss)

    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmHWM:")
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    inside_watcher = threading.Thread(target=sample_inside, daemon=True)
    inside_watcher.start()
    t, c = time.perf_counter(), time.process_time()
    run = services.compare_run(actor="bench")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    stop.set()
    watcher.join()
    inside_watcher.join()
    top = max(samples, key=lambda s: s[1]) if samples else (0, 0, [], None, None)
    out = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_average": os.getloadavg(),
           "peak_mb": round(_status("VmHWM:")), "before_mb": round(before),
           "sampled_max": {"mb": round(top[1]), "seconds_in": top[0], "steps": top[2],
                           "duckdb_mb": top[3] if len(top) > 3 else None, "arrow_mb": top[4] if len(top) > 4 else None},
           "changes": run.stats.get("changes"), "hits": run.stats.get("hits"),
           "run_seconds": run.stats.get("seconds"),
           "steps": {k: {**v, "cpu_s": round(v["cpu_s"], 2), "wall_s": round(v["wall_s"], 2),
                         "rss_max_mb": round(v["rss_max_mb"]), "arrow_mb": round(v["arrow_mb"])}
                     for k, v in steps.items()}}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps({**out, "samples": samples}, ensure_ascii=False))


if __name__ == "__main__":
    main()
