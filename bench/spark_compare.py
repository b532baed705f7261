"""The comparison on Spark (local mode) side by side with DuckDB, on the same data (issue 19).

    .venv/bin/python bench/spark_compare.py --scale 0.1 [--master local[2]] [--json out.json] [--spark-trains]

One scale per process: a county from the same generator as bench/exchange_pipeline.py (cached under /tmp), a fresh
SQLite database, every extract imported, then the whole `compare` with DuckDB, then the links dropped (fingerprints
and link files) and the whole `compare` again with Spark, a full run (every rule evaluated on Spark: the previous
runs' inputs are forgotten, else a run whose links came out the same would evaluate none). Both engines' links,
findings and assessments (score, rank, parts, priorities) are compared. Printed per engine: wall time of compare and of its parts
(linkage engine, rule evaluation), the CPU seconds of the run (this process's, plus the Spark JVM's read from
/proc: local mode runs Spark in a child JVM), the Spark session's start (apart: it is paid once per process), whether
both gave the same links, findings and assessments, the load average, and the per-core rates the province projection in
docs/scale.md uses (records per CPU second: on this shared machine wall × cores overstates the cost).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _links():
    from fupin.exchange.models import RecordLink

    return {(r, p): s for r, p, s in RecordLink.objects.values_list("record_id", "person_id", "score")}


def _findings():
    from fupin.eligibility.services import findings_export

    return sorted((f["household"], f["rule"], f["person"] or "", f["source"]) for f in findings_export()["findings"])


def _assessments():
    """Every household's assessment as the engine's run left it (the parts and priorities as values, whatever their
    JSON text): the same scores on both engines are the same dict."""
    from fupin.eligibility.models import Assessment

    def value(v):
        return json.loads(v) if isinstance(v, str) else v

    return {h: (round(score, 9), rank, rank_of, value(parts), value(priorities)) for h, score, rank, rank_of, parts,
            priorities in Assessment.objects.values_list("household_id", "score", "rank", "rank_of", "parts",
                                                          "priorities")}


def _jvm_cpu_seconds() -> float:
    """CPU seconds (user + system) of the local Spark JVM so far; 0 when none runs."""
    from pyspark import SparkContext

    proc = getattr(SparkContext._gateway, "proc", None) if SparkContext._gateway else None
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(scale: float, seed: int, master: str, style: str, spark_trains: bool = False) -> dict:
    from django.core.management import call_command

    from fupin.exchange.testdata import make_county

    out: dict = {"scale": scale, "style": style, "master": master, "cores": os.cpu_count(),
                 "spark_trains_own_model": spark_trains}
    folder = Path(f"/tmp/bench_county_{style}_{scale:g}_{seed}_plain")
    if not (folder / "truth.json").exists():
        make_county(folder, scale=scale, seed=seed, style=style)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    out["people"], out["records"] = truth["roster"]["people"], len(truth["links"])
    devnull = open(os.devnull, "w")
    call_command("migrate", verbosity=0)
    call_command("import_divisions", str(ROOT / "fupin" / "demo" / "fixtures" / "yidu_420581_divisions_2016.csv"),
                 stdout=devnull)
    call_command("import_roster", str(folder / truth.get("roster_file", "roster.xlsx")), stdout=devnull)
    from fupin.exchange.services import import_department

    for source, name in truth["files"].items():
        import_department(actor="bench", source_code=source, path=folder / name)

    from fupin.eligibility.models import ComparisonRun
    from fupin.eligibility.services import compare_run
    from fupin.exchange import cache
    from fupin.exchange.evaluation import linkage_quality
    from fupin.exchange.linkage import default_engine
    from fupin.exchange.models import Snapshot

    results = {}
    for name in ("duckdb", "spark"):
        if name == "spark":
            Snapshot.objects.update(link_fingerprint="")
            for path in cache.folder().glob("*links*"):
                path.unlink()
            # a full run, not an incremental one: with the same links as DuckDB's the rules' inputs are unchanged,
            # and `compare` would evaluate no rule (`_incremental_scope`: until 2026-12-05 this bench's
            # Spark figures timed no rule evaluation on Spark). Without the previous runs' inputs, Spark evaluates
            # every rule, and its findings and assessments are checked against DuckDB's
            for run_ in ComparisonRun.objects.all():
                run_.stats.pop("inputs", None)
                run_.save(update_fields=["stats"])
            # the platform's settings (FUPIN_SPARK_DRIVER_MEMORY, FUPIN_SPARK_CONF, …) as `fupin compare --engine
            # spark` takes them
            engine = default_engine("spark", spark_master=master)
            if spark_trains:  # the model DuckDB trained on the same inputs is not reused: Spark trains its own
                import fupin.exchange.linkage as linkage_module

                linkage_module.reusable_model = lambda *args, **kwargs: None
            t = time.perf_counter()
            engine.session()
            out["spark_session_start_s"] = round(time.perf_counter() - t, 1)
        else:
            engine = default_engine("duckdb")
        load = os.getloadavg()[0]
        t, c, j = time.perf_counter(), time.process_time(), _jvm_cpu_seconds() if name == "spark" else 0.0
        r = compare_run(actor="bench", engine=engine)
        cpu_py = time.process_time() - c
        cpu_jvm = (_jvm_cpu_seconds() - j) if name == "spark" else 0.0
        q = linkage_quality(truth)
        link = r.stats["link"] or {}
        results[name] = {
            "compare_s": round(time.perf_counter() - t, 2), "load_average_before": round(load, 2),
            "cpu_s": round(cpu_py + cpu_jvm, 2), "cpu_python_s": round(cpu_py, 2), "cpu_jvm_s": round(cpu_jvm, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "link_engine_s": link.get("seconds_engine"), "link_total_s": link.get("seconds_total"),
            "probabilistic_s": link.get("seconds_probabilistic"), "training_s": link.get("seconds_training"),
            "residual": link.get("residual"), "splink_pairs": link.get("splink_pairs"),
            "evaluate_s": r.stats["seconds"]["evaluate"], "parts_s": r.stats["seconds"],
            # assessed: the rows the run wrote (none when the digest of the engine's Arrow, its types included,
            # is the previous run's; the engines' types differ, so Spark's run writes them all): the comparison of
            # the assessments below is the one that says whether the scores are the same
            "incremental": r.stats.get("incremental"), "assessed": r.stats.get("assessed"),
            "changes": r.stats.get("changes"),
            "precision": round(q["precision"], 5), "recall": round(q["recall"], 5),
            "links": _links(), "findings": _findings(), "assessments": _assessments(),
        }
    d, s = results["duckdb"], results["spark"]
    same_pairs = d["links"].keys() == s["links"].keys()
    out["same_links"] = same_pairs
    out["max_score_difference"] = max((abs(d["links"][k] - s["links"][k]) for k in d["links"].keys() & s["links"].keys()),
                                      default=0.0)
    out["links_only_duckdb"] = len(d["links"].keys() - s["links"].keys())
    out["links_only_spark"] = len(s["links"].keys() - d["links"].keys())
    out["same_findings"] = d["findings"] == s["findings"]
    out["findings"] = len(d["findings"])
    out["same_assessments"] = d["assessments"] == s["assessments"]
    out["assessments"] = len(d["assessments"])
    out["assessments_differing"] = sum(1 for h in d["assessments"].keys() | s["assessments"].keys()
                                       if d["assessments"].get(h) != s["assessments"].get(h))
    for name, res in results.items():
        res.pop("links")
        res.pop("findings")
        res.pop("assessments")
        out[name] = res
    cores = int(master.split("[")[1].rstrip("]")) if master.startswith("local[") and master[6:-1].isdigit() else (
        os.cpu_count() or 1)
    out["spark_cores"] = cores
    # per-core rates: department records linked (against the whole registry) and households evaluated per second
    # of one core, on the engine's own time (the session start and the Django side apart)
    out["spark_records_per_core_s"] = round(out["records"] / (s["link_engine_s"] * cores), 1)
    out["duckdb_records_per_core_s"] = round(out["records"] / (d["link_engine_s"] * (os.cpu_count() or 1)), 1)
    # the same on CPU seconds of the whole compare (the engine's and the Django side's): what a loaded machine
    # cannot inflate
    out["spark_records_per_cpu_s"] = round(out["records"] / s["cpu_s"], 1)
    out["duckdb_records_per_cpu_s"] = round(out["records"] / d["cpu_s"], 1)
    out["spark_residual_pairs_per_core_s"] = round((s["splink_pairs"] or 0) / (s["probabilistic_s"] * cores), 1)
    out["loadavg"] = Path("/proc/loadavg").read_text().strip()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--style", choices=["new", "regression"], default="new")
    parser.add_argument("--json", default=None)
    parser.add_argument("--spark-trains", action="store_true",
                        help="Spark trains its own model instead of reusing the one DuckDB trained on the same inputs")
    args = parser.parse_args()
    from exchange_pipeline import setup_django

    db = tempfile.mktemp(prefix="fupin-bench-spark-", suffix=".sqlite3")
    setup_django(db)
    result = run(args.scale, args.seed, args.master, args.style, args.spark_trains)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if Path(db).exists():
        Path(db).unlink()


if __name__ == "__main__":
    main()
