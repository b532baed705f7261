"""The Spark engine's watchdog fails a step at once when the JVM dies or the step outlasts its bound (issue 19: the
equality test once hung for ever in `evaluate` on a JVM thread that had died of an OutOfMemoryError).

No JVM is started here: the session is a stand-in whose "JVM" is an ordinary child process, so the watchdog's two
ways out (the process has exited; the time is up) are tested in a second, on any machine.
"""

import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from fupin.exchange.engine_spark import SparkEngine, SparkEngineError, _local_cores


def _session(proc):
    cancelled = threading.Event()
    context = SimpleNamespace(_gateway=SimpleNamespace(proc=proc), cancelAllJobs=cancelled.set)
    return SimpleNamespace(sparkContext=context), cancelled


def _child():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_step_that_finishes_gives_its_value_and_its_error_as_raised():
    proc = _child()
    try:
        spark, _ = _session(proc)
        engine = SparkEngine(master="local[1]", timeout=30)
        assert engine._guarded(spark, "evaluate", lambda: 42) == 42  # positive control: a live JVM, a quick step
        with pytest.raises(ZeroDivisionError):
            engine._guarded(spark, "evaluate", lambda: 1 / 0)
    finally:
        proc.kill()
        proc.wait()


def test_a_dead_jvm_fails_the_step_at_once():
    proc = _child()
    spark, _ = _session(proc)
    engine = SparkEngine(master="local[1]")  # no time bound: only the JVM's death ends the wait
    release = threading.Event()
    threading.Timer(0.5, proc.kill).start()
    t = time.monotonic()
    with pytest.raises(SparkEngineError, match=r"JVM exited \(code -9\)"):
        engine._guarded(spark, "evaluate", lambda: release.wait(60))
    assert time.monotonic() - t < 10
    release.set()
    proc.wait()


def test_a_step_whose_connection_broke_as_the_jvm_died_fails_as_the_jvm_exit():
    """The 1x rules on Spark with a 2 GB driver (2026-12-05): the JVM died of an OutOfMemoryError, the step's py4j call
    failed with "Connection refused" a moment before the JVM's process had ended, and the run failed with that
    error instead of the JVM's exit and what to do about it."""
    proc = _child()
    spark, _ = _session(proc)
    engine = SparkEngine(master="local[1]")

    def step():
        threading.Timer(0.5, proc.kill).start()  # the process ends after the connection has gone
        try:
            raise RuntimeError("Answer from Java side is empty")  # py4j's Py4JNetworkError, first
        except RuntimeError:
            raise ConnectionRefusedError(111, "Connection refused") from None  # then the reconnection's

    with pytest.raises(SparkEngineError, match=r"JVM exited \(code -9\).*FUPIN_SPARK_DRIVER_MEMORY"):
        engine._guarded(spark, "evaluate", step)
    proc.wait()


def test_a_step_past_its_bound_is_cancelled_and_fails():
    proc = _child()
    try:
        spark, cancelled = _session(proc)
        engine = SparkEngine(master="local[1]", timeout=1)
        t = time.monotonic()
        with pytest.raises(SparkEngineError, match="did not finish in 1 s"):
            engine._guarded(spark, "link", lambda: cancelled.wait(60))  # a step that ends when its jobs are cancelled
        assert cancelled.is_set()
        assert time.monotonic() - t < 15
    finally:
        proc.kill()
        proc.wait()


def test_local_cores():
    assert _local_cores("local[2]") == 2
    assert _local_cores("local") == 1
    assert _local_cores("local[*]") is None
    assert _local_cores("spark://m:7077") is None


def test_the_jvm_is_known_after_pyspark_forgets_it():
    """The timeout stops the session and resets pyspark's gateway (a class attribute); the JVM's exit must still be
    seen (it was not: the step's clean-up then called the dead JVM and logged "Connection refused")."""
    from fupin.exchange.engine_spark import _jvm_exit

    proc = _child()
    spark = SimpleNamespace(sparkContext=SimpleNamespace(_gateway=None), _fupin_jvm=proc)
    assert _jvm_exit(spark) is None  # positive control: alive
    proc.kill()
    proc.wait()
    assert _jvm_exit(spark) == -9
