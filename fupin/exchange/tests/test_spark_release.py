"""A Spark step lets go of what it persisted (issue 19): the rules' tables are local checkpoints kept in the block
manager, in local mode the one JVM heap. Left there, they stayed until the JVM's collector and Spark's cleaner found
them, and the rules on the 1x county started beside the linkage's (about 450 MB of live heap at the rules' start;
a 4 GB driver then ran out of memory in one run of two)."""

import pyarrow as pa
import pytest

from fupin.eligibility.tests.test_spark_engine import SMALL_DATA_CONF, spark_ready  # noqa: F401 - the fixture
from fupin.exchange.engine import Load


@pytest.mark.spark
@pytest.mark.usefixtures("spark_ready")
def test_a_step_leaves_no_persisted_rdd(tmp_path):
    from fupin.exchange.engine_spark import SparkEngine

    engine = SparkEngine(master="local[1]", staging=tmp_path, driver_memory="1g", conf=SMALL_DATA_CONF)
    spark = engine.session()
    during = []

    def read():  # a step inside the evaluation: the table made before it is persisted then (positive control)
        during.append(len(spark.sparkContext._jsc.getPersistentRDDs()))
        return {"c": pa.table({"z": [5]})}

    out = engine.evaluate(tables={"a": pa.table({"x": [1, 2, 3]})},
                          setup=["CREATE TABLE b AS SELECT x * 2 AS x FROM a", Load(read)],
                          queries={"b": "SELECT sum(x) AS s FROM b"})
    assert out["b"].column("s").to_pylist() == [12]
    assert during == [1]
    assert len(spark.sparkContext._jsc.getPersistentRDDs()) == 0


@pytest.mark.spark
@pytest.mark.usefixtures("spark_ready")
def test_a_released_table_lets_its_checkpoint_go_at_its_release(tmp_path):
    """The rules' tables were kept to the step's end (a table's `Release` dropped its view only): at 1x the live heap
    grew to 3.2 GB by the rules' last statement. A table made from a released one keeps its own rows."""
    from fupin.exchange.engine import Release
    from fupin.exchange.engine_spark import SparkEngine

    engine = SparkEngine(master="local[1]", staging=tmp_path, driver_memory="1g", conf=SMALL_DATA_CONF)
    spark = engine.session()
    during = []

    def read():
        during.append(len(spark.sparkContext._jsc.getPersistentRDDs()))
        return {}

    out = engine.evaluate(tables={"a": pa.table({"x": [1, 2, 3]})},
                          setup=["CREATE TABLE b AS SELECT x * 2 AS x FROM a", "CREATE TABLE c AS SELECT x + 1 AS x FROM b",
                                 Load(read), Release(("b",)), Load(read)],
                          queries={"c": "SELECT sum(x) AS s FROM c"})
    assert during == [2, 1]  # b's and c's checkpoints (positive control), then c's alone
    assert out["c"].column("s").to_pylist() == [15]
