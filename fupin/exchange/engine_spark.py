"""The Spark engine: the same linkage and rule evaluation as `DuckDBEngine`, on a Spark session (local or a cluster).

Chosen per run (`fupin compare --engine spark [--spark-master URL]`, settings FUPIN_ENGINE, FUPIN_SPARK_MASTER);
pyspark is an optional extra (`make setup-spark`). Spark SQL is the engine's language:

- no plain ID number on disk (docs/personal-information.md): the inputs (Arrow tables read by
  fupin.exchange.linkage / fupin.eligibility.services from the snapshots' sealed Parquet copies, opened in memory)
  are handed to Spark from memory (`createDataFrame` of the Arrow table: with `spark.io.encryption.enabled` pyspark
  sends them over an authenticated local socket, not through a temporary file), and the results (links, review
  pairs, hits, scores) come back the same way (`DataFrame.toArrow`), then are written to the database exactly as
  the DuckDB engine's are; what Spark itself puts on disk (shuffle and spill files, cached and locally
  checkpointed blocks, under the staging folder FUPIN_SPARK_STAGING, by default FUPIN_DATA_DIR/exchange/spark) is
  encrypted by Spark with a key that lives only in the session (`spark.io.encryption.enabled`). A JVM that dies
  of an OutOfMemoryError while serving a result exits (below) and the watchdog fails the run, rather than leaving
  Python waiting on its socket;
- every Spark step runs under a watchdog (`_guarded`): a JVM that exits (an OutOfMemoryError makes it exit:
  `-XX:+ExitOnOutOfMemoryError`) or a step that outlasts FUPIN_SPARK_TIMEOUT fails the run at once with a
  `SparkEngineError` saying which, and the session is thrown away, never left hanging;
- linkage: the exact-ID join, the remembered decisions and the residual in Spark SQL, the probabilistic model
  through Splink's Spark backend (`SparkAPI`, with Splink's Scala similarity functions), trained the same way
  (`DuckDBEngine._model`); the comparison levels' SQL is the DuckDB engine's with the two functions Spark names
  differently (`jaro_winkler`, a Hamming distance as a higher-order expression);
- rules: the statements the rule compiler and fact programme write go through `fupin.exchange.spark_sql`
  (the Spark SQL dialect), each table a cached temporary view.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa

from fupin.exchange.engine import (
    RIGHT_IN_SQL,
    DuckDBEngine,
    Engine,
    LinkOutput,
    LinkSettings,
    Load,
    Release,
    decision_sql,
    explain,
    ids_counted,
    ranked_sql,
    source_prior_sql,
    source_priors,
)
from fupin.exchange.places import spark_places

log = logging.getLogger(__name__)

_LOCK = threading.RLock()
_SESSIONS: dict[tuple, object] = {}


class SparkEngineError(RuntimeError):
    """A Spark step failed, its JVM died or it outlasted its time bound (the message says which)."""


def pyspark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def spark_comparisons(comparisons: list[dict]) -> list[dict]:
    """The comparison levels with Spark's names for the two functions DuckDB and Splink's jar name differently."""
    out = []
    for c in comparisons:
        levels = []
        for lv in c["comparison_levels"]:
            cond = lv["sql_condition"]
            cond = cond.replace("jaro_winkler_similarity(", "jaro_winkler(")
            cond = cond.replace(
                "hamming(id_clean_l, id_clean_r)",
                "size(filter(sequence(1, 18), i -> substr(id_clean_l, i, 1) <> substr(id_clean_r, i, 1)))")
            levels.append({**lv, "sql_condition": cond})
        out.append({**c, "comparison_levels": levels})
    return out


class SparkEngine(Engine):
    name = "spark"
    sql_dialect = "spark"

    def __init__(self, *, master: str | None = None, staging: str | os.PathLike | None = None,
                 shuffle_partitions: int | None = None, driver_memory: str | None = None,
                 conf: dict[str, str] | None = None, break_lineage: str = "persist", timeout: float | None = None):
        self.master = master or "local[*]"
        self.staging = Path(staging) if staging else None
        self.shuffle_partitions = shuffle_partitions
        self.driver_memory = driver_memory
        self.conf = dict(conf or {})
        self.break_lineage = break_lineage
        self.timeout = timeout  # seconds one step (link, evaluate) may take; None or 0: no bound

    # -- the session ---------------------------------------------------------------------------------------------
    def staging_dir(self) -> Path:
        if self.staging:
            return self.staging
        from django.conf import settings

        base = getattr(settings, "FUPIN_SPARK_STAGING", "") or Path(settings.DATA_DIR) / "exchange" / "spark"
        return Path(base)

    def session(self):
        """One SparkSession per process and configuration (starting one takes seconds: it is kept)."""
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location

        cores = _local_cores(self.master) or os.cpu_count() or 2
        parts = self.shuffle_partitions or max(2, 2 * cores)
        conf = {
            "spark.jars": similarity_jar_location(),
            "spark.sql.shuffle.partitions": str(parts),
            "spark.default.parallelism": str(parts),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.ansi.enabled": "false",  # NULL for a failed cast or a division by zero, as DuckDB's TRY_CAST
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.adaptive.enabled": "true",
            "spark.sql.warehouse.dir": str(self.staging_dir() / "warehouse"),
            "spark.local.dir": str(self.staging_dir() / "tmp"),
            "spark.driver.memory": self.driver_memory or "2g",
            # an OutOfMemoryError ends the JVM (the watchdog sees it and fails the run) instead of killing one
            # thread and leaving the others waiting for it
            "spark.driver.extraJavaOptions": "-XX:+ExitOnOutOfMemoryError",
            "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
            # what Spark writes to disk (shuffle, spill, cached and checkpointed blocks) encrypted with a key of the
            # session only; the inputs reach it over a socket instead of a plain temporary file
            "spark.io.encryption.enabled": "true",
            "spark.io.encryption.keySizeBits": "256",
            **self.conf,
        }
        key = (self.master, tuple(sorted(conf.items())))
        with _LOCK:
            spark = _SESSIONS.get(key)
            if spark is not None and _jvm_exit(spark) is None and not spark._jsc.sc().isStopped():
                return spark
            _drop_sessions()  # one SparkContext per JVM: a new configuration (or a dead JVM) replaces it
            builder = SparkSession.builder.master(self.master).appName("fupin-compare")
            for k, v in conf.items():
                builder = builder.config(k, v)
            spark = builder.getOrCreate()
            # the JVM's process, kept with the session: pyspark forgets it (a class attribute) once it is reset
            spark._fupin_jvm = getattr(getattr(spark.sparkContext, "_gateway", None), "proc", None)
            spark.sparkContext.setLogLevel("ERROR")
            checkpoints = self.staging_dir() / "checkpoints"
            checkpoints.mkdir(parents=True, exist_ok=True)
            spark.sparkContext.setCheckpointDir(str(checkpoints))
            _SESSIONS[key] = spark
            return spark

    def _begin(self):
        """A clean slate: no temporary view or cached table of an earlier call; a fresh staging folder."""
        spark = self.session()
        for t in spark.catalog.listTables():
            if t.isTemporary:
                spark.catalog.dropTempView(t.name)
        spark.catalog.clearCache()
        folder = self.staging_dir() / "runs" / uuid.uuid4().hex
        folder.mkdir(parents=True, exist_ok=True)
        return spark, folder

    @staticmethod
    def _end(spark, folder: Path) -> None:
        if _jvm_exit(spark) is None:
            try:
                spark.catalog.clearCache()
                # the step's persisted RDDs, its local checkpoints (`_table`) above all, let go now: else they stay
                # in the block manager (in local mode the one heap) until the JVM's collector and Spark's cleaner
                # find them, and the next step (the rules after the linkage) starts beside them
                for rdd in list(spark.sparkContext._jsc.getPersistentRDDs().values()):
                    rdd.unpersist(False)
            except Exception as exc:  # the step's own error is the one to report
                log.warning("Spark: clearing the cache after a step failed: %s", exc)
        shutil.rmtree(folder, ignore_errors=True)

    def _guarded(self, spark, what: str, fn):
        """Run `fn` (the Spark work of one step) in a thread and wait for it, looking every second whether the
        JVM is still alive and whether the step has outlasted `timeout`: either fails at once with a
        `SparkEngineError` (the jobs cancelled, the session thrown away) instead of waiting on a dead JVM."""
        box: dict = {}

        def work():
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc

        worker = threading.Thread(target=work, name=f"fupin-spark-{what}", daemon=True)
        start = time.monotonic()
        worker.start()
        while True:
            worker.join(1.0)
            if not worker.is_alive():
                break
            code = _jvm_exit(spark)
            if code is not None:
                _drop_sessions()
                raise SparkEngineError(f"Spark {what}: the Spark JVM exited (code {code}) during the step; "
                                       "an OutOfMemoryError ends it: raise FUPIN_SPARK_DRIVER_MEMORY")
            if self.timeout and time.monotonic() - start > self.timeout:
                try:
                    spark.sparkContext.cancelAllJobs()
                except Exception as exc:
                    log.warning("Spark: cancelling the jobs of %s failed: %s", what, exc)
                worker.join(10.0)
                _drop_sessions(kill=True)
                raise SparkEngineError(f"Spark {what} did not finish in {self.timeout:g} s "
                                       "(FUPIN_SPARK_TIMEOUT): its jobs were cancelled and its session stopped")
        if "error" in box:
            exc = box["error"]
            # a JVM that died of an OutOfMemoryError breaks the step's connection before its process has ended:
            # the step is failed as the JVM's exit, not as the connection's error, when the JVM ends soon after
            code = _jvm_exit(spark, wait=JVM_EXIT_WAIT_S if _lost_jvm(exc) else 0.0)
            if code is not None:
                _drop_sessions()
                raise SparkEngineError(f"Spark {what}: the Spark JVM exited (code {code}): {exc}; an "
                                       "OutOfMemoryError ends it: raise FUPIN_SPARK_DRIVER_MEMORY") from exc
            raise exc
        return box["value"]

    @staticmethod
    def _fetch(spark, folder: Path, name: str, sql_or_df) -> pa.Table:
        """A result back to Python through memory (Spark's Arrow transfer; order kept: the rows are collected in
        the query's order), never through a file: a rule's result can carry a member's ID number."""
        df = spark.sql(sql_or_df) if isinstance(sql_or_df, str) else sql_or_df
        return df.toArrow().replace_schema_metadata(None)

    @staticmethod
    def _load(spark, folder: Path, name: str, table: pa.Table):
        """An input handed to Spark from memory as a view of that name (no file: its ID numbers stay in memory)."""
        if isinstance(table, pa.RecordBatchReader):  # a `Load` input read a batch at a time: Spark takes it whole
            table = table.read_all()
        table = table.replace_schema_metadata(None)
        df = spark.createDataFrame(table) if table.num_columns else spark.createDataFrame([], "x INT").drop("x")
        df.createOrReplaceTempView(name)
        return df

    @staticmethod
    def _table(spark, name: str, sql: str):
        """A table of the step, computed now and kept on the executors; its plan is cut there (a local checkpoint),
        so that a statement over many such tables is planned over a few scans, not over the whole chain (a chain
        of cached views made Spark's planner the slowest part of the rule evaluation)."""
        df = spark.sql(sql).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return df

    @staticmethod
    def _one(spark, sql: str):
        return spark.sql(sql).collect()[0][0]

    # -- rules ---------------------------------------------------------------------------------------------------
    def evaluate(self, *, tables: dict[str, pa.Table], setup: list[str | Release | Load], queries: dict[str, str]
                 ) -> dict[str, pa.Table]:
        from fupin.exchange.spark_sql import translate

        with _LOCK:
            spark, folder = self._begin()

            def run() -> dict[str, pa.Table]:
                made: dict[str, list[int]] = {}  # a table a statement made: the RDDs its checkpoint persisted
                for name in tables:  # by name: no loop variable holding the last input past its `Release`
                    self._load(spark, folder, name, tables[name])

                def columns(table_name: str) -> list[str]:
                    return spark.table(table_name).columns

                for statement in setup:
                    if isinstance(statement, Load):  # handed to Spark as read; the Arrow goes at once
                        read = statement.read()
                        for name in read:
                            self._load(spark, folder, name, read[name])
                        del read
                        continue
                    if isinstance(statement, Release):  # loaded into Spark above: the Arrow copies go
                        for name in statement.names:
                            tables.pop(name, None)
                            spark.catalog.dropTempView(name)
                            # a table a statement made: its checkpoint goes too (the tables made after it from it
                            # hold their own, their plans cut at it)
                            ids = made.pop(name, ())
                            persisted = spark.sparkContext._jsc.getPersistentRDDs() if ids else {}
                            for rdd_id in ids:
                                if rdd_id in persisted:
                                    persisted[rdd_id].unpersist(False)
                        continue
                    st = translate(statement, columns)
                    if st.create:
                        before = set(spark.sparkContext._jsc.getPersistentRDDs().keys())
                        self._table(spark, st.create, st.sql)
                        made[st.create] = [k for k in spark.sparkContext._jsc.getPersistentRDDs().keys()
                                           if k not in before]
                    else:
                        spark.sql(st.sql)
                return {name: self._fetch(spark, folder, f"q{i}", translate(sql, columns).sql)
                        for i, (name, sql) in enumerate(queries.items())}

            try:
                return self._guarded(spark, "evaluate", run)
            finally:
                self._end(spark, folder)

    # -- linkage -------------------------------------------------------------------------------------------------
    def link(self, *, records: pa.Table, persons: pa.Table, divisions: pa.Table, decisions: pa.Table,
             settings: LinkSettings) -> LinkOutput:
        with _LOCK:
            spark, folder = self._begin()
            try:
                return self._guarded(spark, "link", lambda: self._link(
                    spark, folder, records=records, persons=persons, divisions=divisions, decisions=decisions,
                    settings=settings))
            finally:
                self._end(spark, folder)

    def _link(self, spark, folder, *, records, persons, divisions, decisions, settings) -> LinkOutput:
        t0 = time.perf_counter()
        stats: dict = {}
        self._load(spark, folder, "records_in", records)
        self._load(spark, folder, "persons_in", persons)
        self._load(spark, folder, "divisions_in", divisions)
        self._load(spark, folder, "decisions_in", decisions)
        valid = "('valid', 'legacy15')"
        self._table(spark, "r", """
            SELECT record_id, source_code, NULLIF(id_clean, '') AS id_clean, NULLIF(id_number, '') AS id_number,
                id_status,
                NULLIF(name, '') AS name, NULLIF(name_py, '') AS name_py,
                try_cast(birth_date AS DATE) AS birth_date, NULLIF(sex, '') AS sex,
                NULLIF(address, '') AS address, coalesce(id_kind = 'masked', false) AS id_masked,
                NULLIF(id_area6, '') AS id_area6, NULLIF(CAST(id_birth_year AS STRING), '') AS id_birth_year,
                NULLIF(id_last4, '') AS id_last4,
                md5(concat_ws('|', source_code, coalesce(id_clean, ''), coalesce(name, ''),
                    coalesce(CAST(birth_date AS STRING), ''), coalesce(sex, ''), coalesce(address, ''))) AS record_key
            FROM records_in""")
        self._table(spark, "p", """
            SELECT person_id, NULLIF(name, '') AS name, NULLIF(name_py, '') AS name_py,
                CASE WHEN CAST(id_valid AS BOOLEAN) THEN NULLIF(id_number, '') END AS id_number,
                NULLIF(id_number, '') AS id_any, try_cast(birth_date AS DATE) AS birth_date, NULLIF(sex, '') AS sex,
                NULLIF(substr(area_code, 1, 12), '') AS village_code, NULLIF(substr(area_code, 1, 9), '') AS town_code,
                area_code
            FROM persons_in""")
        # 1. exact IDs: a shuffle join on the ID
        self._table(spark, "exact", f"""
            SELECT r.record_id, p.person_id,
                CASE WHEN r.id_status = 'legacy15' THEN 'legacy_id' ELSE 'exact_id' END AS method,
                CAST(1.0 AS DOUBLE) AS score
            FROM r JOIN p ON r.id_number = p.id_number
            WHERE r.id_status IN {valid} AND {str(bool(settings.exact_rule)).lower()}""")  # noqa: S608
        # the records with a valid ID, and those of them in the registry, per department (the priors: as the DuckDB
        # engine measures them, also without the exact rule)
        ids_counted(stats, [tuple(row) for row in spark.sql(f"""
            SELECT r.source_code, count(*), count(q.id_number) FROM r
            LEFT JOIN (SELECT DISTINCT id_number FROM p WHERE id_number IS NOT NULL) q ON q.id_number = r.id_number
            WHERE r.id_status IN {valid} GROUP BY r.source_code""").collect()])  # noqa: S608
        # 2. remembered decisions
        self._table(spark, "decided", f"""
            SELECT r.record_id, d.person_id, d.status FROM r JOIN decisions_in d ON d.record_key = r.record_key
            WHERE r.id_status NOT IN {valid}""")  # noqa: S608
        self._table(spark, "decided_links", """
            SELECT DISTINCT d.record_id, d.person_id, 'reviewed' AS method, CAST(1.0 AS DOUBLE) AS score
            FROM decided d JOIN p ON p.person_id = d.person_id WHERE d.status = 'match'""")
        # 3. the residual goes to Splink
        exact_rule = str(bool(settings.exact_rule)).upper()
        self._table(spark, "residual", f"""
            SELECT r.record_id, r.source_code, coalesce(r.id_number, r.id_clean) AS id_clean, r.id_number,
                r.id_status, r.name,
                r.name_py, r.birth_date, r.sex, r.address, r.id_masked, r.id_area6, r.id_birth_year, r.id_last4,
                r.record_key
            FROM r LEFT ANTI JOIN decided_links d ON d.record_id = r.record_id
            WHERE (r.id_status NOT IN {valid} OR NOT {exact_rule})
              AND (r.name IS NOT NULL OR r.id_clean IS NOT NULL)""")  # noqa: S608
        stats["residual"] = int(self._one(spark, "SELECT count(*) FROM residual"))
        t1 = time.perf_counter()
        stats["seconds_exact"] = round(t1 - t0, 3)
        self._probabilistic(spark, settings, stats)
        stats["seconds_probabilistic"] = round(time.perf_counter() - t1, 3)
        explanations = self._explanations(spark, folder, settings, stats)
        ex = pa.table({"record_id": pa.array([e[0] for e in explanations], pa.int64()),
                       "person_id": pa.array([e[1] for e in explanations], pa.int64()),
                       "explanation": pa.array([e[2] for e in explanations], pa.string())})
        self._load(spark, folder, "explained", ex)
        links = self._fetch(spark, folder, "links", """
            SELECT l.record_id, l.person_id, l.method, l.score, p.area_code, e.explanation FROM (
                SELECT record_id, person_id, method, score FROM exact
                UNION ALL SELECT record_id, person_id, method, score FROM decided_links
                UNION ALL SELECT record_id, person_id, 'probabilistic' AS method, score FROM prob
                    WHERE decision = 'link'
            ) l JOIN p ON p.person_id = l.person_id
            LEFT JOIN explained e ON e.record_id = l.record_id AND e.person_id = l.person_id
            ORDER BY l.record_id, l.person_id""")
        reviews = self._fetch(spark, folder, "reviews", """
            SELECT x.record_id, x.person_id, x.score, x.weight, x.second_weight, r.record_key, p.area_code,
                e.explanation
            FROM prob x JOIN r ON r.record_id = x.record_id JOIN p ON p.person_id = x.person_id
            LEFT JOIN explained e ON e.record_id = x.record_id AND e.person_id = x.person_id
            WHERE x.decision = 'review'
            ORDER BY x.record_id, x.score DESC, x.person_id""")
        links = _cast(links, {"record_id": pa.int64(), "person_id": pa.int64(), "score": pa.float64()})
        reviews = _cast(reviews, {"record_id": pa.int64(), "person_id": pa.int64(), "score": pa.float64(),
                                  "weight": pa.float64(), "second_weight": pa.float64()})
        stats["probabilistic"] = int(self._one(spark, "SELECT count(*) FROM prob WHERE decision = 'link'"))
        stats["review_pairs"] = reviews.num_rows
        stats["review_records"] = len(set(reviews.column("record_id").to_pylist()))
        stats["reviewed_links"] = int(self._one(spark, "SELECT count(*) FROM decided_links"))
        stats["seconds"] = round(time.perf_counter() - t0, 3)
        return LinkOutput(links=links, reviews=reviews, stats=stats)

    def _explanations(self, spark, folder: Path, settings: LinkSettings, stats: dict
                      ) -> list[tuple[int, int, str]]:
        if "model" not in stats:
            return []
        import json

        out = []
        pairs = self._fetch(spark, folder, "pairs", "SELECT * FROM prob WHERE decision IN ('link', 'review')")
        for row in pairs.to_pylist():
            out.append((row["record_id"], row["person_id"],
                        json.dumps(explain(row, settings.effective_comparisons(), stats.get("prior")),
                                   ensure_ascii=False)))
        return out

    def _probabilistic(self, spark, settings: LinkSettings, stats: dict) -> None:
        """Score the residual against all persons with Splink on Spark; leaves the view `prob` (record, person,
        score, weights, gammas, decision)."""
        names = [c["output_column_name"] for c in settings.comparisons]
        if not stats["residual"]:
            cols = ", ".join(f"CAST(NULL AS INT) AS gamma_{n}, CAST(NULL AS DOUBLE) AS mw_{n}, "
                             f"CAST(NULL AS DOUBLE) AS mw_tf_adj_{n}" for n in names)
            self._table(spark, "prob", f"""
                SELECT CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS BIGINT) AS person_id,
                    CAST(NULL AS DOUBLE) AS score, CAST(NULL AS DOUBLE) AS weight, {cols},
                    CAST(NULL AS DOUBLE) AS second_weight, CAST(NULL AS STRING) AS decision WHERE false""")
            return
        # village and town of a residual record: those its address names (fupin/exchange/places.py), per distinct
        # address
        spark_places(lambda name, sql: self._table(spark, name, sql), "SELECT address FROM residual",
                     "SELECT code, name, level, parent_code FROM divisions_in")
        self._table(spark, "left_in", """
            SELECT x.record_id AS unique_id, x.name, x.name_py, x.id_clean, x.id_masked,
                CASE WHEN length(x.id_clean) >= 17 AND NOT x.id_masked THEN substr(x.id_clean, 1, 17) END AS id17,
                CASE WHEN length(x.id_clean) >= 15 AND NOT x.id_masked THEN substr(x.id_clean, 1, 15) END AS id15,
                try_cast(CASE WHEN length(x.id_clean) >= 15 AND NOT x.id_masked THEN substr(x.id_clean, 1, 15) END
                    AS BIGINT) AS id15n,
                x.id_status = 'truncated' AS id_trunc,
                CASE WHEN x.id_masked THEN x.id_area6 END AS id_area6,
                CASE WHEN x.id_masked THEN x.id_birth_year END AS id_birth_year,
                CASE WHEN x.id_masked THEN x.id_last4 END AS id_last4,
                substr(x.name, 1, 1) AS surname, NULLIF(substr(x.name, 2), '') AS given,
                x.birth_date,
                coalesce(x.sex, CASE WHEN x.id_masked AND substr(x.id_last4, 3, 1) RLIKE '^[0-9]$'
                    THEN CASE WHEN CAST(substr(x.id_last4, 3, 1) AS INT) % 2 = 1 THEN '1' ELSE '2' END
                    WHEN length(x.id_clean) >= 17 AND x.id_status <> 'truncated'
                    AND substr(x.id_clean, 17, 1) RLIKE '^[0-9]$'
                    THEN CASE WHEN CAST(substr(x.id_clean, 17, 1) AS INT) % 2 = 1 THEN '1' ELSE '2' END END) AS sex,
                p.village_code, p.town_code
            FROM residual x LEFT JOIN place_of p ON p.address = x.address""")
        self._table(spark, "right_in", RIGHT_IN_SQL)
        from splink import Linker
        from splink.backends.spark import SparkAPI

        db_api = SparkAPI(spark_session=spark, break_lineage_method=self.break_lineage)
        left = db_api.register("left_in", table_name="fupin_left")
        right = db_api.register("right_in", table_name="fupin_right")
        n_persons = int(self._one(spark, "SELECT count(*) FROM right_in"))
        spark_settings = LinkSettings.from_dict({**settings.to_dict(),
                                                 "comparisons": spark_comparisons(settings.comparisons)})
        # the training is the DuckDB engine's, on this session's tables (it uses only Splink's API)
        parameters, model = DuckDBEngine._model(self, db_api, left, right, spark_settings, stats, n_persons)
        spec = spark_settings.splink_settings(n_persons, parameters=parameters)
        linker = Linker([left, right], spec, log_level=None)
        stats["model"] = model
        stats["prior"] = spec["probability_two_random_records_match"]
        t_pred = time.perf_counter()
        pred = linker.inference.predict(threshold_match_probability=settings.review_threshold / 10)
        stats["seconds_predict"] = round(time.perf_counter() - t_pred, 3)
        columns = set(spark.table(pred.physical_name).columns)
        parts = []
        for name in names:
            parts.append(f"gamma_{name}")
            parts.append(f"mw_{name}")
            parts.append(f"mw_tf_adj_{name}" if f"mw_tf_adj_{name}" in columns else f"0.0D AS mw_tf_adj_{name}")
        # a record whose ID has nothing in common with the person's ID is not that person; a reviewer's
        # non-match stays one
        self._table(spark, "scored", f"""
            SELECT * FROM (
                SELECT CASE WHEN source_dataset_l = 'fupin_left' THEN unique_id_l ELSE unique_id_r END AS record_id,
                       CASE WHEN source_dataset_l = 'fupin_left' THEN unique_id_r ELSE unique_id_l END AS person_id,
                       match_probability AS score, match_weight AS weight, {", ".join(parts)}
                FROM {pred.physical_name}) s
            WHERE gamma_id <> 0 AND NOT EXISTS (SELECT 1 FROM decided d WHERE d.status = 'non_match'
                AND d.record_id = s.record_id AND d.person_id = s.person_id)""")  # noqa: S608
        stats["splink_pairs"] = int(self._one(spark, "SELECT count(*) FROM scored"))
        # the decision, per record once all its candidates are scored: the DuckDB engine's SQL
        self._table(spark, "source_prior", source_prior_sql(source_priors(stats, parameters, settings)))
        self._table(spark, "ranked", ranked_sql(settings))
        self._table(spark, "prob", decision_sql(settings, names, stats["in_registry"]))


def _cast(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    for name, t in types.items():
        i = table.column_names.index(name)
        table = table.set_column(i, name, table.column(i).cast(t))
    return table


def _local_cores(master: str) -> int | None:
    """The cores of a local master (local[2] → 2, local[*] → None: all of them)."""
    if master.startswith("local[") and master.endswith("]") and master[6:-1].isdigit():
        return int(master[6:-1])
    return 1 if master == "local" else None


def _jvm_proc(spark):
    """The session's JVM process (local mode: pyspark started it), else None."""
    proc = getattr(spark, "_fupin_jvm", None)
    return proc if proc is not None else getattr(getattr(spark.sparkContext, "_gateway", None), "proc", None)


def _jvm_exit(spark, wait: float = 0.0) -> int | None:
    """The exit code of the session's JVM when it has ended, else None; `wait`: seconds to wait for it to end."""
    proc = _jvm_proc(spark)
    if proc is None:
        return None
    if wait:
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    return proc.poll()


# how long a step whose connection to the JVM broke waits for the JVM's exit (an OutOfMemoryError ends it,
# `-XX:+ExitOnOutOfMemoryError`, a moment after the connection goes)
JVM_EXIT_WAIT_S = 10.0


def _lost_jvm(exc: BaseException | None) -> bool:
    """The step failed because its connection to the JVM went (refused, or py4j's empty answer), here or in the
    errors it was raised from."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionError) or type(exc).__name__ == "Py4JNetworkError":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def stop_sessions() -> None:
    """Stop the kept Spark sessions now, in bounded time (a test's end; else the JVM stops with the process)."""
    _drop_sessions()


def jvm_cpu_seconds() -> float | None:
    """CPU seconds (user + system) the local Spark JVM has used so far; None when none runs here."""
    with _LOCK:
        sessions = list(_SESSIONS.values())
    for spark in sessions:
        proc = _jvm_proc(spark)
        if proc is not None and proc.poll() is None:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def _drop_sessions(*, kill: bool = False) -> None:
    """Forget (and stop) every kept session; `kill`: end a local JVM that does not stop by itself."""
    with _LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for spark in sessions:
        proc = _jvm_proc(spark)
        if proc is not None and proc.poll() is not None:
            _reset_context()
            continue
        stopper = threading.Thread(target=_stop_quietly, args=(spark,), daemon=True)
        stopper.start()
        stopper.join(30.0 if not kill else 10.0)
        if proc is not None and (kill or stopper.is_alive()) and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _reset_context()


def _stop_quietly(spark) -> None:
    try:
        spark.stop()
    except Exception as exc:
        log.warning("Spark: stopping the session failed: %s", exc)


def _reset_context() -> None:
    """After its JVM has gone, pyspark must start a new one for the next session (not reuse the dead gateway)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    SparkContext._active_spark_context = None
    SparkContext._gateway = None
    SparkContext._jvm = None
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
