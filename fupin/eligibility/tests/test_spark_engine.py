"""The Spark engine gives what the DuckDB engine gives: the whole `compare` contract on a generated county with both.

The Spark test is marked `spark` (local mode, two cores, a bounded driver heap and a time bound on every Spark step,
so that a dead or stuck JVM fails it in minutes instead of hanging). It has passed on the 2-core machine, but not
yet three times in a row within CI's budget, so `make test` still deselects it and `make test-spark` runs it. Where the
Spark engine is required (FUPIN_REQUIRE_SPARK=1, set by .ci/run, or CI=true) a missing pyspark or Java fails it;
elsewhere it is skipped with a notice, as the browser tests are without Chromium (conftest.py).
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from fupin.core.testing import own_data_dir
from fupin.exchange.spark_sql import translate
from fupin.exchange.testdata import DIVISIONS_CSV, make_county

SCORE_TOLERANCE = 1e-9  # link probabilities and household scores, absolute: the same floating-point formulas


# one Spark step (the linkage, one rule evaluation) on the test county: the linkage outlasted 300 s at load 35 on the
# shared 2-core machine (the bound failed the test as meant, at once and saying so); a dead JVM fails it at once anyway
SPARK_STEP_SECONDS = 900
# tiny data on two cores: no whole-stage code generation, no adaptive re-planning, two shuffle partitions, a JIT and
# a collector that do not outspend the work (the engine's defaults suit a county or a province)
SMALL_DATA_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.extraJavaOptions": "-XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def _spark_required() -> bool:
    return os.environ.get("FUPIN_REQUIRE_SPARK") == "1" or os.environ.get("CI") == "true"


@pytest.fixture
def spark_ready():
    """pyspark and Java present: a failure where the Spark engine is required, a skip with a notice elsewhere."""
    from fupin.exchange.engine_spark import pyspark_available

    missing = [what for what, ok in (("pyspark (make setup-spark)", pyspark_available()),
                                     ("java (openjdk-17-jre-headless)", bool(shutil.which("java")))) if not ok]
    if missing:
        if _spark_required():
            pytest.fail(f"the Spark engine is required here (FUPIN_REQUIRE_SPARK=1 or CI) but {missing} missing")
        pytest.skip(f"NOTICE: Spark engine test skipped: {', '.join(missing)} not installed")
    yield
    from fupin.exchange.engine_spark import jvm_cpu_seconds, stop_sessions

    cpu = jvm_cpu_seconds()
    print(f"\nSpark JVM CPU seconds: {cpu if cpu is None else round(cpu, 1)}; load {os.getloadavg()[0]:.1f}")
    stop_sessions()  # now and bounded, not at the interpreter's exit


def test_pyspark_is_installed_where_required():
    if not _spark_required():
        return  # a developer's machine may lack the optional extra; CI must not
    from fupin.exchange.engine_spark import pyspark_available

    assert pyspark_available(), "CI runs the Spark engine's tests: .ci/run must run `make setup-spark`"
    assert shutil.which("java"), "CI runs the Spark engine's tests: .ci/run must install openjdk-17-jre-headless"


def test_dialect_rewrites_where_the_engines_differ():
    cols = {"households": ["household_id", "household_code", "score"], "d": ["household_id", "count_vehicle"]}
    st = translate("CREATE TABLE t AS SELECT date_diff('year', DATE '1980-12-31', DATE '2016-01-01') AS age, "
                   "health SIMILAR TO '.*(残疾).*' AS dis FROM households", cols.__getitem__)
    assert st.create == "t"
    assert "YEAR(" in st.sql.upper() and "DATEDIFF" not in st.sql.upper()
    assert "RLIKE '^(?:.*(残疾).*)$'" in st.sql
    sql = translate("SELECT * EXCLUDE (household_code) FROM households", cols.__getitem__).sql
    assert "household_code" not in sql and "household_id" in sql and "score" in sql
    sql = translate("SELECT household_id, to_json(list(DISTINCT rule_code ORDER BY rule_code)) AS p FROM hits "
                    "GROUP BY household_id").sql
    assert "ARRAY_SORT(COLLECT_SET" in sql.upper()
    # a household's parts made in one row: a map keeps a null value, as DuckDB's json_object does
    sql = translate("SELECT CAST(json_object('a', p0, 'b', p1) AS VARCHAR) AS parts FROM scores").sql
    assert "TO_JSON(MAP('a', p0, 'b', p1))" in sql


def _state():
    from fupin.eligibility.models import Assessment
    from fupin.eligibility.services import findings_export
    from fupin.exchange.models import LinkReview, RecordLink

    links = {(r, p): (m, s) for r, p, m, s in RecordLink.objects.values_list("record_id", "person_id", "method",
                                                                              "score")}
    reviews = {(rv.record_key, rv.person_id): rv.score for rv in LinkReview.objects.all()}
    doc = findings_export()
    findings = sorted(json.dumps([f["household"], f["rule"], f["person"], f["source"], f["evidence"]],
                                 ensure_ascii=False, sort_keys=True, default=str) for f in doc["findings"])
    scores = {a.household_id: (a.score, a.rank, a.rank_of, _json(a.parts), _json(a.priorities))
              for a in Assessment.objects.all()}
    return links, reviews, findings, doc["not_understood"], scores


def _close(a: dict, b: dict) -> list:
    diffs = []
    for key in set(a) | set(b):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            diffs.append((key, x, y))
            continue
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) or isinstance(v, float):
                if abs(float(u) - float(v)) > SCORE_TOLERANCE:
                    diffs.append((key, x, y))
            elif isinstance(u, dict):
                if u.keys() != v.keys() or any(abs(float(u[k]) - float(v[k])) > SCORE_TOLERANCE for k in u):
                    diffs.append((key, x, y))
            elif u != v:
                diffs.append((key, x, y))
    return diffs


@pytest.mark.spark
@pytest.mark.django_db
def test_spark_and_duckdb_give_the_same_links_findings_and_scores(spark_ready, tmp_path, settings, monkeypatch):
    # a data directory of this test's own, the Spark staging folder in it (the default place): the search for plain
    # ID numbers below covers exactly what this run wrote
    data = own_data_dir(tmp_path, settings)
    settings.FUPIN_SPARK_STAGING = ""
    # two cores, few shuffle partitions, a 1 GiB heap: CI's machine; a step that outlasts its bound fails the test
    settings.FUPIN_SPARK_MASTER = "local[2]"
    settings.FUPIN_SPARK_DRIVER_MEMORY = "1g"
    settings.FUPIN_SPARK_TIMEOUT = SPARK_STEP_SECONDS
    settings.FUPIN_SPARK_CONF = SMALL_DATA_CONF
    summary = make_county(tmp_path / "county", scale=0.002, seed=5, style="regression")
    truth = json.loads(Path(summary["truth"]).read_text(encoding="utf-8"))
    call_command("import_divisions", str(DIVISIONS_CSV))
    call_command("import_roster", summary["roster"])
    for source, name in truth["files"].items():
        call_command("import_department", str(tmp_path / "county" / name), source=source)

    call_command("compare", out=str(tmp_path / "duckdb.json"), engine="duckdb")
    duck = _state()
    from fupin.eligibility.models import ComparisonRun
    from fupin.exchange.models import LinkRun, Snapshot

    # the Spark run relinks everything (no link file, no fingerprint) and evaluates the rules anew
    Snapshot.objects.update(link_fingerprint="")
    from fupin.exchange import cache

    for path in cache.folder().glob("*links*"):
        path.unlink()
    # ... and a full run, not an incremental one (the same inputs would leave every household unchanged and Spark
    # would evaluate nothing): the previous run's input key is made to differ
    previous = ComparisonRun.objects.order_by("-pk").first()
    previous.stats = {**previous.stats, "inputs": {**(previous.stats.get("inputs") or {}), "key": "before Spark"}}
    previous.save(update_fields=["stats"])
    seen = _watch_spark_files(monkeypatch, data)
    call_command("compare", out=str(tmp_path / "spark.json"), engine="spark", spark_master="local[2]")
    assert LinkRun.objects.order_by("-pk").first().engine == "spark"
    spark = _state()
    _assert_no_plain_id_in_spark_files(seen, data)

    links_d, reviews_d, findings_d, nu_d, scores_d = duck
    links_s, reviews_s, findings_s, nu_s, scores_s = spark
    assert links_d and findings_d and scores_d  # positive controls: there is something to agree on
    assert any(m == "probabilistic" for m, _ in links_d.values())  # Splink ran in both
    assert _close(links_d, links_s) == []
    assert reviews_d.keys() == reviews_s.keys()
    assert all(abs(reviews_d[k] - reviews_s[k]) <= SCORE_TOLERANCE for k in reviews_d)
    assert findings_d == findings_s
    assert nu_d == nu_s
    assert _close(scores_d, scores_s) == []
    run = ComparisonRun.objects.order_by("-pk").first()
    changes = run.stats["changes"]
    assert changes.get("new", 0) == 0 and changes.get("cleared", 0) == 0, changes  # the same hits, nothing moved
    assert json.loads((tmp_path / "spark.json").read_text(encoding="utf-8")) == json.loads(
        (tmp_path / "duckdb.json").read_text(encoding="utf-8"))


def _id_numbers() -> list[str]:
    """Every ID number the run handles in plain: the registry's and the departments' (read through the models,
    which open the sealed columns)."""
    from fupin.exchange.models import StagedRecord
    from fupin.registry.models import Person

    numbers = {*Person.objects.values_list("id_number", flat=True),
               *StagedRecord.objects.values_list("id_number", flat=True)}
    return sorted(n for n in numbers if n and len(n) >= 15)


def _scan(root: Path, values: list[bytes]) -> tuple[list[str], dict[str, list[str]]]:
    """Every file under `root`, whatever its name or kind, and which of `values` each holds in plain."""
    files, hits = [], {}
    for path in root.rglob("*"):
        try:
            data = path.read_bytes() if path.is_file() else None
        except OSError:  # removed by Spark while walking
            continue
        if data is None:
            continue
        files.append(str(path.relative_to(root)))
        for v in values:
            if v in data:
                hits.setdefault(v.decode(), []).append(str(path.relative_to(root)))
    return files, hits


def _watch_spark_files(monkeypatch, data: Path) -> list:
    """At the end of each Spark step, before its run folder is removed, search every file under the data directory
    (the staging folder, Spark's shuffle, spill and block files under spark.local.dir, its checkpoints) for a plain
    ID number. Positive control in each: a plain ID planted in the run folder is found by the same search."""
    from fupin.exchange.engine_spark import SparkEngine

    numbers = [n.encode() for n in _id_numbers()]
    assert len(numbers) >= 20
    seen: list = []
    end = SparkEngine._end

    def watched(spark, folder: Path) -> None:
        planted = folder / "planted-control.txt"
        planted.write_bytes(b"ID " + numbers[0])
        files, hits = _scan(data, numbers)
        planted.unlink()
        seen.append((sys._getframe(1).f_code.co_name, files, hits, str(planted.relative_to(data))))
        end(spark, folder)

    monkeypatch.setattr(SparkEngine, "_end", staticmethod(watched))
    return seen


def _assert_no_plain_id_in_spark_files(seen: list, data: Path) -> None:
    steps = {step for step, _, _, _ in seen}
    assert {"link", "evaluate"} <= steps, f"the search ran at the end of the linkage and the rules: {steps}"
    files = sorted({f for _, step_files, _, _ in seen for f in step_files})
    first = _id_numbers()[0]  # the number planted
    for _step, _files, hits, planted in seen:
        assert planted in hits.get(first, []), "the search of the Spark files finds a planted plain ID number"
    # the search saw Spark's own files: shuffle blocks under spark.local.dir (FUPIN_DATA_DIR/exchange/spark/tmp)
    assert any("/shuffle_" in f and f.startswith("exchange/spark/tmp/") for f in files), files[:20]
    others = {v: paths for _, _, hits, planted in seen for v, paths in hits.items()
              if [p for p in paths if p != planted]}
    assert others == {}, f"plain ID numbers in files a Spark run wrote: {list(others.items())[:3]}"
    _, after = _scan(data, [n.encode() for n in _id_numbers()])
    assert after == {}, f"plain ID numbers under FUPIN_DATA_DIR after the runs: {list(after.items())[:3]}"


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
