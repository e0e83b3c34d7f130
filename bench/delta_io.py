"""Delta write/read through leadlake vs plain Spark Parquet, side by side in one run.

    python bench/delta_io.py [--rows 1000000] [--repeats 3] [--small-rows 2000] [--queries 30]

Both sides get the same cached DataFrame (~20 mixed columns) and the same
session and cores. Reads materialise every column through Spark's ``noop``
sink so neither side can skip work; leadlake's reads are measured both ways
it reads a table: Spark's Parquet reader (a plain table on a local disk, the
default) and the delta-rs data source (every other table). Prints median
seconds and the Delta/Parquet ratios; the target is <= 1.3x.

Then the cost of one small query (a count, a grouped count, a filtered
projection collected) on a ``--small-rows`` table, the size of most tables
in tests and of many a CRM's dimension tables, through each of leadlake's
two readers, alternating query by query: wall and CPU (all processes) per
query and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leadlake.config import load_conf
from leadlake.lakehouse import Lakehouse
from leadlake.progress import setup_logging
from leadlake.session import get_spark


def mixed_frame(spark: SparkSession, rows: int) -> DataFrame:
    """About 20 columns of the kinds our tables hold: ids, strings, numbers, times, arrays."""
    h = lambda salt: F.abs(F.xxhash64("id", F.lit(salt)))  # noqa: E731
    return spark.range(rows).select(
        F.col("id").alias("lead_id"),
        F.format_string("Company %d", h(1) % 50_000).alias("company"),
        F.element_at(F.array(*[F.lit(s) for s in ["web", "referral", "partner", "event"]]),
                     (h(2) % 4 + 1).cast("int")).alias("source"),
        F.element_at(F.array(*[F.lit(c) for c in ["US", "DE", "FR", "IN", "BR"]]),
                     (h(3) % 5 + 1).cast("int")).alias("country"),
        (h(4) % 10_000).cast("int").alias("company_size"),
        (h(5) % 1_000_000 / 100).alias("amount"),
        (h(6) % 1000 / 1000).cast("float").alias("p_convert"),
        (h(7) % 100).cast("short").alias("score"),
        (h(8) % 2 == 0).alias("is_junk"),
        F.timestamp_seconds(F.lit(1_700_000_000) + h(9) % 31_536_000).alias("created_at"),
        F.date_add(F.lit("2024-01-01").cast("date"), (h(10) % 365).cast("int")).alias("closed_on"),
        F.sha2(F.col("id").cast("string"), 256).alias("text_hash"),
        F.concat_ws(" ", F.lit("we need a quote for"), (h(11) % 500).cast("string"), F.lit("seats"))
        .alias("text"),
        (h(12) % 10_000).cast("long").alias("visits"),
        (h(13) % 3600).cast("double").alias("dwell_s"),
        F.array(*[(h(20 + k) % 1000 / 1000).cast("float") for k in range(8)]).alias("embedding"),
        (h(14) % 100_000 / 100).cast("decimal(12,2)").alias("clv_12m"),
        F.when(h(15) % 10 == 0, None).otherwise(F.lit("note")).alias("note"),
        (h(16) % 7).cast("byte").alias("weekday"),
        F.lit("v1").alias("model_version"),
    )


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def machine_cpu_s() -> float:
    """CPU seconds the whole machine spent busy (Python workers and the JVM are other processes)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def small_queries(readers: dict[str, Lakehouse], table: str, queries: int) -> dict[str, tuple[float, float]]:
    """Median wall and mean CPU seconds of one small query through each reader, alternating."""
    shapes = [
        lambda lh: lh.read(table).count(),
        lambda lh: lh.read(table).groupBy("source").count().collect(),
        lambda lh: lh.read(table, columns=["lead_id", "amount"], where=F.col("amount") > 5000).collect(),
    ]
    for lh in readers.values():  # warm each path's code once
        for q in shapes:
            q(lh)
    walls: dict[str, list[float]] = {name: [] for name in readers}
    cpus: dict[str, float] = dict.fromkeys(readers, 0.0)
    for i in range(queries):
        for name, lh in readers.items():
            cpu = machine_cpu_s()
            walls[name].append(timed(partial(shapes[i % len(shapes)], lh)))
            cpus[name] += machine_cpu_s() - cpu
    return {name: (statistics.median(walls[name]), cpus[name] / queries) for name in readers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small-rows", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    setup_logging("WARNING")
    work = Path(tempfile.mkdtemp(prefix="leadlake-bench-"))
    conf = load_conf(lakehouse=str(work / "lakehouse"))
    spark = get_spark(conf)
    lh = Lakehouse(spark, conf)
    df = mixed_frame(spark, args.rows).repartition(spark.sparkContext.defaultParallelism).cache()
    df.count()
    print(f"leadlake Delta ({lh.engine}) vs Spark Parquet: {args.rows:,} rows, {len(df.columns)} columns, "
          f"{os.cpu_count()} cores, {df.rdd.getNumPartitions()} partitions, median of {args.repeats}")

    through_source = Lakehouse(spark, load_conf(lakehouse=str(work / "lakehouse"),
                                                overrides={"delta": {"spark_parquet_reads": False}}))
    pq_path = str(work / "parquet")
    results: dict[str, list[float]] = {k: [] for k in ("delta_write", "pq_write", "delta_read", "source_read",
                                                       "pq_read")}
    # Warm every path once (JVM JIT, Python workers) before measuring.
    lh.write(df.limit(1000), "bronze.warm", mode="overwrite")
    for reader in (lh, through_source):
        reader.read("bronze.warm").write.format("noop").mode("overwrite").save()
    df.limit(1000).write.mode("overwrite").parquet(str(work / "warm"))
    for _ in range(args.repeats):
        results["delta_write"].append(timed(lambda: lh.write(df, "bronze.bench", mode="overwrite")))
        results["pq_write"].append(timed(lambda: df.write.mode("overwrite").parquet(pq_path)))
        results["delta_read"].append(
            timed(lambda: lh.read("bronze.bench").write.format("noop").mode("overwrite").save())
        )
        results["source_read"].append(
            timed(lambda: through_source.read("bronze.bench").write.format("noop").mode("overwrite").save())
        )
        results["pq_read"].append(
            timed(lambda: spark.read.parquet(pq_path).write.format("noop").mode("overwrite").save())
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    assert lh.read("bronze.bench").count() == through_source.read("bronze.bench").count() == args.rows
    print(f"write: delta {med['delta_write']:.2f}s  parquet {med['pq_write']:.2f}s  "
          f"ratio {med['delta_write'] / med['pq_write']:.2f}x")
    print(f"read:  delta {med['delta_read']:.2f}s  parquet {med['pq_read']:.2f}s  "
          f"ratio {med['delta_read'] / med['pq_read']:.2f}x (Spark's Parquet reader)")
    print(f"read:  delta {med['source_read']:.2f}s  parquet {med['pq_read']:.2f}s  "
          f"ratio {med['source_read'] / med['pq_read']:.2f}x (delta-rs data source)")
    print("target: every ratio <= 1.30x")

    lh.write(df.limit(args.small_rows).coalesce(1), "bronze.small", mode="overwrite")
    per_query = small_queries({"Spark's Parquet reader": lh, "delta-rs data source": through_source},
                              "bronze.small", args.queries)
    (fast_wall, fast_cpu), (slow_wall, slow_cpu) = per_query.values()
    print(f"one small query on {args.small_rows:,} rows ({args.queries} each, alternating): " + "; ".join(
        f"{name} {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU" for name, (wall, cpu) in per_query.items()))
    print(f"data source / Parquet reader: {slow_wall / fast_wall:.2f}x wall, {slow_cpu / fast_cpu:.2f}x CPU")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
