"""Benchmark of the department data exchange at county scale (issue 5).

    .venv/bin/python bench/exchange_pipeline.py [--scale 1] [--growth 0.1,0.3,1,3] [--append-docs]

For each scale: a messy county from the generator (cached under /tmp), a fresh SQLite database (or DATABASE_URL),
`import_divisions`, `import_roster`, every department extract through `import_department` (timed), then
`compare` (linkage + rules + findings; wall time and peak memory of that step), a rerun after one department reloads,
linkage precision and recall against the truth, exact-ID recall, and Splink alone over all records side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(db_path: str | None) -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("FUPIN_DATA_DIR", tempfile.mkdtemp(prefix="fupin-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def run_scale(scale: float, seed: int, *, splink_alone: bool, style: str = "regression",
              quirks: tuple[str, ...] = (), review: int = 0, pairs_file: str | None = None) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from fupin.exchange.testdata import make_county

    out: dict = {"scale": scale, "style": style, "quirks": list(quirks)}
    folder = Path(f"/tmp/bench_county_{scale:g}" if style == "regression"
                  else f"/tmp/bench_county_{style}_{scale:g}_{seed}_{'-'.join(quirks) or 'plain'}")
    if not (folder / "truth.json").exists():
        t = time.perf_counter()
        make_county(folder, scale=scale, seed=seed, style=style, quirks=quirks if style == "new" else None)
        out["generate_s"] = round(time.perf_counter() - t, 1)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    out["people"], out["records"] = truth["roster"]["people"], len(truth["links"])
    call_command("migrate", verbosity=0)
    call_command("import_divisions", str(ROOT / "fupin" / "demo" / "fixtures" / "yidu_420581_divisions_2016.csv"),
                 stdout=open(os.devnull, "w"))
    t = time.perf_counter()
    call_command("import_roster", str(folder / truth.get("roster_file", "roster.xlsx")), stdout=open(os.devnull, "w"))
    out["import_roster_s"] = round(time.perf_counter() - t, 1)

    from fupin.exchange.services import import_department

    t, c = time.perf_counter(), time.process_time()
    for source, name in truth["files"].items():
        import_department(actor="bench", source_code=source, path=folder / name)
    out["import_departments_s"] = round(time.perf_counter() - t, 2)
    out["import_departments_cpu_s"] = round(time.process_time() - c, 2)

    from fupin.eligibility.services import compare_run, findings_export

    _peak_reset()
    t, c = time.perf_counter(), time.process_time()
    run = compare_run(actor="bench")
    out["compare_s"] = round(time.perf_counter() - t, 2)
    out["compare_cpu_s"] = round(time.process_time() - c, 2)
    out["load_average"] = os.getloadavg()[0]
    out["compare_peak_mb"] = round(_peak_mb())
    out["compare_parts_s"] = run.stats["seconds"]
    # the write transaction (on SQLite the one write lock, held this long): everything else is computed before it
    out["compare_write_lock_s"] = run.stats["seconds"].get("write")
    out["link_stats"] = {k: run.stats["link"].get(k) for k in (
        "exact", "valid_unknown", "residual", "probabilistic", "review_pairs", "splink_pairs", "seconds_probabilistic",
        "predict_chunks", "seconds_predict")}
    out["skew"] = run.stats["link"].get("skew")

    from fupin.exchange.evaluation import exact_id_recall, linkage_quality

    q = linkage_quality(truth)
    out["precision"], out["recall"] = round(q["precision"], 5), round(q["recall"], 5)
    out["false_positives"], out["false_negatives"] = q["false_positives"], q["false_negatives"]
    out["exact_id_recall"] = round(exact_id_recall(truth), 4)
    if pairs_file:
        _write_pairs(truth, pairs_file)
    if style == "new":
        from fupin.exchange.evaluation import linkage_quality_by_noise

        out["by_noise"] = {k: {m: v[m] for m in ("expected", "recall", "predicted", "precision")}
                           for k, v in linkage_quality_by_noise(truth).items()}
    out["link_model"] = run.stats.get("link", {}).get("model")
    from fupin.exchange.models import LinkModel

    model = LinkModel.objects.order_by("-id").first()
    out["link_model_figures"] = model.figures if model else None
    out["review_share"] = round(run.stats["link"].get("review_records", 0) / max(out["records"], 1), 5)
    got = {(f["household"], f["rule"], f["person"], f["source"]) for f in findings_export()["findings"]}
    expected = {(f["household"], f["rule"], f["person"], f["source"]) for f in truth["findings"]}
    out["findings_expected"], out["findings_found"] = len(expected), len(got & expected)
    out["findings_extra"] = len(got - expected)
    out["decoys_flagged"] = _decoys_flagged(truth, got)

    if review:
        out["review"] = review_walk(truth, review)

    # a rerun after one department reloads
    source = "vehicle"
    import_department(actor="bench", source_code=source, path=folder / truth["files"][source])
    t, c = time.perf_counter(), time.process_time()
    rerun = compare_run(actor="bench")
    out["rerun_after_reload_s"] = round(time.perf_counter() - t, 2)
    out["rerun_after_reload_cpu_s"] = round(time.process_time() - c, 2)
    out["rerun_parts_s"] = rerun.stats["seconds"]
    out["rerun_write_lock_s"] = rerun.stats["seconds"].get("write")
    out["rerun_model"] = (rerun.stats.get("link") or {}).get("model")
    out["rerun_incremental"] = rerun.stats.get("incremental")  # sources, rules and households evaluated again
    if splink_alone:
        out["splink_alone"] = splink_only(truth)
    connection.close()
    return out


def review_walk(truth: dict, limit: int) -> dict:
    """The review queue as a clerk works it, without a browser: a county user opens the first pair, then for each
    pair the decision is posted (what the Y or N key submits) and the next pair's page is opened (where the
    redirect leads). Server time per decision = the POST + the next page; the clerk's reading time is not measured
    (it is the person's, not the server's). Decisions follow the generator's truth."""
    import re

    from django.conf import settings
    from django.test import Client

    from fupin.core.testing import make_user
    from fupin.exchange.models import LinkReview
    from fupin.geo.models import Division

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    county = Division.objects.filter(level="county").first()
    user = make_user("bench_reviewer", "city_office", division=county)
    client = Client()
    client.force_login(user)
    truth_of = {(t["source"], int(t["seq"])): t["person"] for t in truth["links"]}
    queue = LinkReview.objects.filter(status="open").count()
    page_s, post_s, sizes, decided, keys = [], [], [], 0, 0
    client.get("/exchange/review/")  # the first request of the process loads every app's URLs and templates
    t = time.perf_counter()
    response = client.get("/exchange/review/")
    list_s = time.perf_counter() - t
    cpu0 = time.process_time()
    first = re.search(rb'href="/exchange/review/(\d+)/"', response.content)
    pk = int(first.group(1)) if first else None
    while pk is not None and decided < limit:
        t = time.perf_counter()
        response = client.get(f"/exchange/review/{pk}/")
        page_s.append(time.perf_counter() - t)
        sizes.append(len(response.content))
        body = response.content.decode()
        nxt = re.search(r'name="next" value="(\d*)"', body)
        rv = LinkReview.objects.select_related("record", "person").get(pk=pk)
        raw = rv.record.raw if rv.record else {}
        same = truth_of.get((rv.source_code, int(raw.get("序号", -1)))) == rv.person.id_number
        t = time.perf_counter()
        response = client.post(f"/exchange/review/{pk}/decide/", {"decision": "match" if same else "non_match",
                                                                   "next": nxt.group(1) if nxt else ""})
        post_s.append(time.perf_counter() - t)
        decided += 1
        keys += 1  # Y or N: the decision submits and the next pair opens
        location = response.get("Location", "")
        m = re.match(r"/exchange/review/(\d+)/$", location)
        pk = int(m.group(1)) if m else None

    def ms(values, q):
        values = sorted(values)
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1) if values else None

    cpu = time.process_time() - cpu0
    per = [a + b for a, b in zip(page_s, post_s, strict=True)]
    return {"queue_pairs": queue, "decided": decided, "keys_per_pair": keys / decided if decided else None,
            "list_page_ms": round(1000 * list_s, 1), "pair_page_ms_p50": ms(page_s, 0.5),
            "pair_page_ms_p95": ms(page_s, 0.95), "decide_ms_p50": ms(post_s, 0.5), "decide_ms_p95": ms(post_s, 0.95),
            "per_decision_ms_p50": ms(per, 0.5), "per_decision_ms_p95": ms(per, 0.95),
            "server_s_for_100": round(100 * sum(per) / len(per), 1) if per else None,
            "cpu_ms_per_decision": round(1000 * cpu / decided, 1) if decided else None,
            "pair_page_kb": round(sum(sizes) / len(sizes) / 1024, 1) if sizes else None}


def _write_pairs(truth: dict, path: str) -> None:
    """The missed and the false pairs of the linkage, one JSON line each, with the row's kinds of noise (to look at
    what went wrong by kind; the bench's database is deleted at the end)."""
    from fupin.exchange.evaluation import predicted_pairs

    got = predicted_pairs()
    by_row = {(t["source"], int(t["seq"])): t for t in truth["links"]}
    expected = {(t["source"], int(t["seq"]), t["person"]) for t in truth["links"] if t["person"]}
    with open(path, "w", encoding="utf-8") as fh:
        for kind, pairs in (("missed", expected - got), ("false", got - expected)):
            for source, seq, person in sorted(pairs):
                row = by_row.get((source, seq), {})
                fh.write(json.dumps({"kind": kind, "source": source, "seq": seq, "person": person,
                                     "truth": row.get("person"), "noise": row.get("noise") or []},
                                    ensure_ascii=False) + "\n")


def _decoys_flagged(truth: dict, got: set) -> int:
    flagged = 0
    by_household_rule = {(h, r) for h, r, _, _ in got}
    for d in truth["decoys"]:
        if "namesakes" in d:
            continue
        for h in d.get("households", []):
            if (h, d["rule"]) in by_household_rule and not any(
                    f["household"] == h and f["rule"] == d["rule"] for f in truth["findings"]):
                flagged += 1
    return flagged


def splink_only(truth: dict) -> dict:
    """Splink alone over every current record: the same engine with no exact-ID join first (an "ID equal" level
    instead), its own model trained on all the records; the same link decision. Run last: it replaces the links."""
    from fupin.exchange.engine import LinkSettings
    from fupin.exchange.evaluation import linkage_quality
    from fupin.exchange.linkage import linkage_run

    t = time.perf_counter()
    run = linkage_run(actor="bench", force=True, settings=LinkSettings(exact_rule=False, version="splink-alone"))
    seconds = time.perf_counter() - t
    q = linkage_quality(truth)
    return {"seconds": round(seconds, 1), "precision": round(q["precision"], 5), "recall": round(q["recall"], 5),
            "pairs_linked": q["predicted"], "training_s": run.stats.get("seconds_training"),
            "review_records": run.stats.get("review_records"),
            "model": {"trained": run.model.trained, "reason": run.model.reason,
                      "error": run.model.figures.get("error")} if run.model else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-splink-alone", action="store_true")
    parser.add_argument("--style", choices=["new", "regression"], default="new")
    parser.add_argument("--quirks", default="", help="file quirks of the new style (sheets,footers,dates)")
    parser.add_argument("--json", default=None, help="write the figures here too")
    parser.add_argument("--pairs", default=None, help="write the missed and false pairs here (JSON lines)")
    parser.add_argument("--review", type=int, default=0, help="walk up to N pairs of the review queue (server time)")
    args = parser.parse_args()
    db = tempfile.mktemp(prefix="fupin-bench-", suffix=".sqlite3")
    setup_django(db)
    quirks = tuple(q for q in args.quirks.split(",") if q)
    result = run_scale(args.scale, args.seed, splink_alone=not args.no_splink_alone, style=args.style, quirks=quirks,
                       review=args.review, pairs_file=args.pairs)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if db and Path(db).exists():
        Path(db).unlink()


if __name__ == "__main__":
    main()
