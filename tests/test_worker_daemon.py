"""The Python worker daemon of the local and cluster profiles: after a task, a reused worker's collection walks
what the task made, and what a worker kept still gets collected once it dies."""

from __future__ import annotations

import gc
import weakref

import pandas as pd
from pyspark.sql import functions as F

from udfs.worker_daemon import FULL_COLLECTION_EVERY, TaskEndCollector


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
