"""CPU seconds of the DuckDB linkage engine alone, on the inputs one `compare` gave it (hlink, issues 13 and 19).

    .venv/bin/python bench/link_engine.py --dump DIR --db PREPARED/work   # once: the engine's inputs to DIR
    .venv/bin/python bench/link_engine.py --run DIR [--repeat 3] [--save-out NAME] [--against NAME] [--sql]

`--dump` opens the database of a prepared county (a work folder `bench/compare_steps.py` left, or a copy of a
prepared one: DB/db.sqlite3 and DB/data), computes the linkage once (`linkage_compute(force=True)`, nothing written)
and keeps what the engine was given: records, persons, divisions, decisions (Parquet) and the settings after the
skew guard (JSON), and the skew guard's inputs (its kept registry blocks). `--run` then runs only
`DuckDBEngine.link` (and the skew guard) on them in this process, without Django, `--repeat` times, and prints the
CPU seconds (`time.process_time`: DuckDB's threads included) and wall seconds of each step: the engine's
normalising and exact stage, villages from addresses, training (u, EM), prediction, ranking, explanations. `--sql`
also prints the statements (Splink's too) that took most CPU. `--save-out NAME` keeps the links and reviews;
`--against NAME` compares this run's with them (same rows, scores equal to the last bit, same explanations).
With `--sql` each statement is named by the step it ran in (`train`: `_model`; `predict`: the rest of the
probabilistic step; `engine`: before and after it) and each step's statements are summed. `--training-only` stops
the engine once the model is trained (issue 19: training at 10x costs minutes of a whole run to measure).
`--held` hands the engine the records and persons as `compare` does, already tables of its DuckDB database (loaded
before the timing starts; `--sql` lists those two loading statements too), not as Arrow tables.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "--code" in sys.argv:  # another checkout's engine (an export of the code before, run on the same inputs)
    ROOT = Path(sys.argv[sys.argv.index("--code") + 1]).resolve()
sys.path.insert(0, str(ROOT))


def dump(out: Path, db: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db}/db.sqlite3"
    os.environ["FUPIN_DATA_DIR"] = str(db / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import pyarrow.parquet as pq

    from fupin.exchange import engine, linkage, skew

    out.mkdir(parents=True, exist_ok=True)
    original_link, original_guard = engine.DuckDBEngine.link, skew.guard

    def keep_link(self, *, records, persons, divisions, decisions, settings, con=None):
        if con is not None:  # the linkage's database, the records and persons in it
            records = con.sql("SELECT * FROM records_in").to_arrow_table()
            persons = con.sql("SELECT * FROM persons_in").to_arrow_table()
        for name, table in (("records", records), ("persons", persons), ("divisions", divisions),
                            ("decisions", decisions)):
            pq.write_table(table, out / f"{name}.parquet")
        (out / "settings.json").write_text(json.dumps(settings.to_dict(), ensure_ascii=False, indent=1))
        if con is not None:
            del records, persons
        return original_link(self, records=records if con is None else None,
                             persons=persons if con is None else None, divisions=divisions, decisions=decisions,
                             settings=settings, con=con)

    def keep_guard(*, kept_blocks=None, con=None, **kw):
        if isinstance(kept_blocks, str):  # a table of the linkage's database
            pq.write_table(con.sql(f'SELECT * FROM "{kept_blocks}"').to_arrow_table(),
                           out / "kept_blocks.parquet")
        elif kept_blocks is not None:
            pq.write_table(kept_blocks, out / "kept_blocks.parquet")
        (out / "guard.json").write_text(json.dumps({"rules": kw["rules"], "max_block": kw["max_block"],
                                                    "exact_rule": kw.get("exact_rule", True)}))
        return original_guard(kept_blocks=kept_blocks, con=con, **kw)

    engine.DuckDBEngine.link = keep_link
    linkage.skew_guard = keep_guard
    plan = linkage.linkage_compute(force=True)
    print("dumped", out, "records", plan.records, "persons", plan.persons, "links", plan.links.num_rows)


class TrainingDone(Exception):
    """Raised after `_model` with `--training-only`: the rest of the engine is not run."""


def run(folder: Path, repeat: int, save_out: str | None, against: str | None, show_sql: bool,
        threads: int | None, training_only: bool = False, engine_options: dict | None = None,
        settings_over: dict | None = None, held: bool = False) -> None:
    import pyarrow.parquet as pq

    from fupin.exchange import engine, skew

    inputs = {name: pq.read_table(folder / f"{name}.parquet") for name in ("records", "persons", "divisions",
                                                                            "decisions")}
    # the run's settings as dumped (blocking after the skew guard, the stored model), with the comparisons of the
    # code being run (the dumped ones are the defaults of the code that dumped them)
    settings = engine.LinkSettings.from_dict({**json.loads((folder / "settings.json").read_text()),
                                              "comparisons": engine.default_comparisons(), **(settings_over or {})})
    guard_args = json.loads((folder / "guard.json").read_text())
    kept = pq.read_table(folder / "kept_blocks.parquet") if (folder / "kept_blocks.parquet").exists() else None
    timed: dict[str, list[float]] = {}
    phase = ["engine"]  # the step the statements run in (named in --sql's listing)

    def wrap(owner, name, label):
        fn = getattr(owner, name)
        steps = {"_model": "train", "_probabilistic": "predict"}

        @functools.wraps(fn)
        def timed_fn(*a, **kw):
            t, c = time.perf_counter(), time.process_time()
            before = phase[0]
            phase[0] = steps.get(name, before)
            try:
                out = fn(*a, **kw)
            finally:
                phase[0] = before
                w = timed.setdefault(label, [0.0, 0.0])
                w[0] += time.perf_counter() - t
                w[1] += time.process_time() - c
            if training_only and name == "_model":
                raise TrainingDone
            return out

        setattr(owner, name, staticmethod(timed_fn) if isinstance(owner.__dict__.get(name), staticmethod)
                else timed_fn)

    for name in ("link", "_probabilistic", "_model", "_scored", "_explanations"):
        wrap(engine.DuckDBEngine, name, name)
    statements: list[tuple[float, float, str]] = []
    if show_sql:
        from splink.internals.duckdb.database_api import DuckDBAPI

        orig = DuckDBAPI._execute_sql_against_backend

        def timed_sql(self, final_sql):
            t, c = time.perf_counter(), time.process_time()
            rel = orig(self, final_sql)
            statements.append((time.process_time() - c, time.perf_counter() - t, f"[{phase[0]}] {final_sql}"))
            return rel

        DuckDBAPI._execute_sql_against_backend = timed_sql

        class _Timed:
            """The engine's own statements timed (its connection wrapped; Splink is given the real one)."""

            def __init__(self, con):
                self._con = con

            def _timed(self, method, sql, *a, **kw):
                t, c = time.perf_counter(), time.process_time()
                out = getattr(self._con, method)(sql, *a, **kw)
                statements.append((time.process_time() - c, time.perf_counter() - t, f"[{phase[0]}:engine] {sql}"))
                return out

            def execute(self, sql, *a, **kw):
                return self._timed("execute", sql, *a, **kw)

            def sql(self, sql, *a, **kw):
                rel = self._con.sql(sql, *a, **kw)

                class _Rel:  # the relation runs when its rows are asked for: timed then
                    def to_arrow_table(self_rel):
                        t, c = time.perf_counter(), time.process_time()
                        out = rel.to_arrow_table()
                        statements.append((time.process_time() - c, time.perf_counter() - t,
                                           f"[{phase[0]}:engine] {sql}"))
                        return out

                    def __getattr__(self_rel, name):
                        return getattr(rel, name)

                return _Rel()

            def __getattr__(self, name):
                return getattr(self._con, name)

        original_connect = engine.DuckDBEngine.connect
        engine.DuckDBEngine.connect = lambda self: _Timed(original_connect(self))
        import splink

        real_api = splink.DuckDBAPI
        splink.DuckDBAPI = lambda connection, **kw: real_api(connection=getattr(connection, "_con", connection), **kw)
    results = []
    for i in range(repeat):
        timed.clear()
        statements.clear()
        t, c = time.perf_counter(), time.process_time()
        skew.guard(records=inputs["records"], persons=inputs["persons"],
                                   divisions=inputs["divisions"], rules=guard_args["rules"],
                                   max_block=guard_args["max_block"], exact_rule=guard_args["exact_rule"],
                                   kept_blocks=kept)
        guard_cpu, guard_wall = time.process_time() - c, time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        try:
            duck = engine.DuckDBEngine(threads=threads, **(engine_options or {}))
            if held:  # as `compare` hands them over: the records and persons already tables of the engine's database
                con = duck.connect()
                for name in ("records", "persons"):
                    con.register("arrow_in", inputs[name])
                    con.execute(f"CREATE TABLE {name}_in AS SELECT * FROM arrow_in")
                    con.unregister("arrow_in")
                t, c = time.perf_counter(), time.process_time()  # the engine from here, as without --held
                out = duck.link(records=None, persons=None, divisions=inputs["divisions"],
                                decisions=inputs["decisions"], settings=settings, con=con)
            else:
                out = duck.link(**inputs, settings=settings)
        except TrainingDone:
            cpu, wall = time.process_time() - c, time.perf_counter() - t
            print(json.dumps({"run": i + 1, "load_average": round(os.getloadavg()[0], 2), "training_only": True,
                              "until_trained_cpu_s": round(cpu, 2), "until_trained_wall_s": round(wall, 2),
                              "steps_cpu_s": {k: round(v[1], 2) for k, v in timed.items()}}), flush=True)
            _print_statements(statements, show_sql)
            continue
        cpu, wall = time.process_time() - c, time.perf_counter() - t
        figures = {"run": i + 1, "load_average": round(os.getloadavg()[0], 2),
                   "engine_cpu_s": round(cpu, 2), "engine_wall_s": round(wall, 2),
                   "skew_guard_cpu_s": round(guard_cpu, 2), "skew_guard_wall_s": round(guard_wall, 2),
                   "steps_cpu_s": {k: round(v[1], 2) for k, v in timed.items()},
                   "steps_wall_s": {k: round(v[0], 2) for k, v in timed.items()},
                   "stats": {k: v for k, v in out.stats.items() if k.startswith(("seconds", "residual", "exact",
                                                                               "probabilistic", "review", "predict",
                                                                               "training",
                                                                               "splink_pairs", "training"))},
                   "em_iterations": (out.stats.get("model") or {}).get("em_iterations"),
                   "training": {k: (out.stats.get("model") or {}).get(k) for k in ("seconds_u", "seconds_em", "seconds",
                                                                                  "cpu_seconds")},
                   "links": out.links.num_rows, "reviews": out.reviews.num_rows}
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        _print_statements(statements, show_sql)
        results.append(out)
    if not results:
        return
    out = results[-1]
    if save_out:
        pq.write_table(out.links, folder / f"{save_out}.links.parquet")
        pq.write_table(out.reviews, folder / f"{save_out}.reviews.parquet")
        (folder / f"{save_out}.model.json").write_text(json.dumps((out.stats.get("model") or {}).get(
            "parameters"), indent=1))
    if against:
        print("against", against, json.dumps(compare(folder, against, out)))


def _print_statements(statements: list[tuple[float, float, str]], show_sql: bool) -> None:
    if not show_sql:
        return
    sums: dict[str, list[float]] = {}
    for cpu_s, wall_s, sql in statements:
        s = sums.setdefault(sql[1:sql.index("]")].split(":")[0], [0.0, 0.0, 0])
        s[0] += cpu_s
        s[1] += wall_s
        s[2] += 1
    print("statements by step (cpu, wall, count):", json.dumps({k: [round(v[0], 2), round(v[1], 2), v[2]]
                                                                 for k, v in sums.items()}))
    for cpu_s, wall_s, sql in sorted(statements, reverse=True)[:40]:
        print(f"  {cpu_s:6.2f} cpu {wall_s:6.2f} wall  {' '.join(sql.split())[:300]}")


def compare(folder: Path, name: str, out) -> dict:
    import pyarrow.parquet as pq

    res = {}
    for kind, table in (("links", out.links), ("reviews", out.reviews)):
        ref = pq.read_table(folder / f"{name}.{kind}.parquet")
        keys = ["record_id", "person_id"]
        a = ref.sort_by([(k, "ascending") for k in keys]).to_pylist()
        b = table.sort_by([(k, "ascending") for k in keys]).to_pylist()
        same_pairs = [(r["record_id"], r["person_id"]) for r in a] == [(r["record_id"], r["person_id"]) for r in b]
        diff_cols = {}
        if same_pairs:
            for col in ref.column_names:
                n = sum(1 for x, y in zip(a, b, strict=True) if x.get(col) != y.get(col))
                if n:
                    diff_cols[col] = n
        res[kind] = {"rows_before": len(a), "rows_after": len(b), "same_pairs": same_pairs,
                     "columns_differing": diff_cols}
        if not same_pairs:
            sa = {(r["record_id"], r["person_id"]) for r in a}
            sb = {(r["record_id"], r["person_id"]) for r in b}
            res[kind].update(only_before=len(sa - sb), only_after=len(sb - sa))
    ref_model = json.loads((folder / f"{name}.model.json").read_text())
    now = (out.stats.get("model") or {}).get("parameters") or {}
    worst = 0.0
    for comp, levels in ref_model.items():
        if not isinstance(levels, dict):
            continue
        for label, mu in levels.items():
            for x, y in zip(mu, (now.get(comp) or {}).get(label) or [None, None], strict=True):
                if y is None:
                    worst = float("inf")
                elif x:
                    worst = max(worst, abs(x - y) / abs(x))
    res["model_largest_relative_difference"] = worst
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--run", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--save-out")
    parser.add_argument("--against")
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--held", action="store_true", help="the records and persons handed over as tables of the "
                        "engine's own database (as `compare` does), not as Arrow tables")
    parser.add_argument("--training-only", action="store_true", help="stop once the model is trained")
    parser.add_argument("--settings", default="{}", help="linkage settings over the dumped ones, as JSON")
    parser.add_argument("--engine", default="{}", help="the DuckDB engine's options as JSON (memory_limit, "
                        "predict_chunk_records, predict_chunk_persons, temp_directory)")
    parser.add_argument("--code", type=Path, help="the checkout whose fupin is run (default: this one)")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.db)
    else:
        run(args.run, args.repeat, args.save_out, args.against, args.sql, args.threads, args.training_only,
            json.loads(args.engine), json.loads(args.settings), held=args.held)


if __name__ == "__main__":
    main()
