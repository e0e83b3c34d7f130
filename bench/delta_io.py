"""Delta write/read through leadlake vs plain Spark Parquet, side by side in one run.

    python bench/delta_io.py [--rows 1000000] [--repeats 3]

Both sides get the same cached DataFrame (~20 mixed columns) and the same
session and cores. Reads materialise every column through Spark's ``noop``
sink so neither side can skip work. Prints median seconds and the
Delta/Parquet ratios; the target is <= 1.3x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
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

    pq_path = str(work / "parquet")
    results: dict[str, list[float]] = {k: [] for k in ("delta_write", "pq_write", "delta_read", "pq_read")}
    # Warm both paths once (JVM JIT, Python workers) before measuring.
    lh.write(df.limit(1000), "bronze.warm", mode="overwrite")
    lh.read("bronze.warm").write.format("noop").mode("overwrite").save()
    df.limit(1000).write.mode("overwrite").parquet(str(work / "warm"))
    for _ in range(args.repeats):
        results["delta_write"].append(timed(lambda: lh.write(df, "bronze.bench", mode="overwrite")))
        results["pq_write"].append(timed(lambda: df.write.mode("overwrite").parquet(pq_path)))
        results["delta_read"].append(
            timed(lambda: lh.read("bronze.bench").write.format("noop").mode("overwrite").save())
        )
        results["pq_read"].append(
            timed(lambda: spark.read.parquet(pq_path).write.format("noop").mode("overwrite").save())
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    assert lh.read("bronze.bench").count() == args.rows
    print(f"write: delta {med['delta_write']:.2f}s  parquet {med['pq_write']:.2f}s  "
          f"ratio {med['delta_write'] / med['pq_write']:.2f}x")
    print(f"read:  delta {med['delta_read']:.2f}s  parquet {med['pq_read']:.2f}s  "
          f"ratio {med['delta_read'] / med['pq_read']:.2f}x")
    print("target: both ratios <= 1.30x")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
