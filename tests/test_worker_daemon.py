"""The Python worker daemon of the local and cluster profiles: after a task, a reused worker's collection walks
what the task made, and what a worker kept still gets collected once it dies; the daemon imports what its
workers needed, so the workers it forks later start with it; and workers import PySpark compiled."""

from __future__ import annotations

import gc
import os
import sys
import time
import weakref
from pathlib import Path

import pandas as pd
from pyspark.sql import functions as F

from udfs.worker_daemon import FULL_COLLECTION_EVERY, ImportsLearned, TaskEndCollector


class Node:
    pass


def test_a_cycle_frozen_while_alive_is_freed_by_the_periodic_full_collection():
    collector = TaskEndCollector()
    try:
        node = Node()
        node.me = node
        alive = weakref.ref(node)
        collector.collect()  # the end of task 1: the node is alive, so it is frozen
        assert gc.get_freeze_count() > 0
        del node
        for _ in range(FULL_COLLECTION_EVERY - 2):  # tasks 2..49 leave the frozen alone
            collector.collect()
            assert alive() is not None
        collector.collect()  # task 50 thaws everything and collects it once
        assert alive() is None
    finally:
        gc.unfreeze()


def test_spark_starts_workers_from_it_and_they_freeze_what_outlives_a_task(spark):
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "udfs.worker_daemon"

    @F.pandas_udf("string")
    def worker_state(ids: pd.Series) -> pd.Series:
        import sys

        daemon = sys.modules.get("pyspark.daemon")
        state = f"{type(getattr(daemon, 'gc', None)).__name__} {gc.get_freeze_count()}"
        return pd.Series([state] * len(ids))

    # Eight one-row tasks on two cores: every worker runs more than one, and from its second on it has
    # frozen what its first left.
    states = [r.s for r in spark.range(0, 8, numPartitions=8).select(worker_state("id").alias("s")).collect()]
    assert {s.split()[0] for s in states} == {"TaskEndCollector"}, states
    assert max(int(s.split()[1]) for s in states) > 0, states


def test_workers_import_installed_pyspark_and_their_daemon_learns_what_they_imported(spark):
    """PySpark's daemon imports nothing its workers use and leaves them PySpark's source zip; this one maps
    pyarrow's library (which every pandas UDF worker imports) within seconds of a worker reporting it."""

    @F.pandas_udf("string")
    def worker(ids: pd.Series) -> pd.Series:
        import pyspark

        return pd.Series([f"{os.getppid()} {pyspark.__file__}"] * len(ids))

    rows = [r.s.split(" ", 1) for r in spark.range(0, 4, numPartitions=4).select(worker("id").alias("s")).collect()]
    assert all(".zip" not in file for _, file in rows), rows
    daemon = Path(f"/proc/{rows[0][0]}/maps")
    deadline = time.monotonic() + 30
    while "libarrow" not in daemon.read_text():
        assert time.monotonic() < deadline, "the daemon never imported pyarrow"
        time.sleep(0.2)


def test_the_daemon_imports_what_a_forked_worker_reported_and_only_under_its_roots():
    """A real fork: the child imports two modules (one under the learner's roots, one not) and reports; the
    parent, which had neither, imports the first and not the second."""
    wanted, other = "dbm.dumb", "wave"
    for name in (wanted, "dbm", other):  # standard modules nothing here uses: fresh in this process
        sys.modules.pop(name, None)
    learner = ImportsLearned(roots=frozenset({"dbm"}))
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest, whatever happens
        try:
            import dbm.dumb  # noqa: F401
            import wave  # noqa: F401

            learner.report()
            learner.report()  # nothing new: writes nothing
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    try:
        assert wanted not in sys.modules
        assert learner.learn() >= 2  # dbm and dbm.dumb (and what they import)
        assert wanted in sys.modules and other not in sys.modules
        assert learner.learn() == 0  # each name is read once
    finally:
        gc.unfreeze()
