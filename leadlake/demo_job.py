"""``leadlake demo``: build the embedded demo lakehouse end to end and show what it holds.

This is what ``make run`` runs. Each capability of leadlake adds its stage
here, so the demo always exercises the whole suite on the same lakehouse.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leadlake.progress import stage
from leadlake.tables_job import format_summaries, summarize_lakehouse

log = logging.getLogger("leadlake.demo")

SOURCES = ["web form", "webinar", "referral", "cold outbound", "trade show", "partner", "paid search"]
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "CA", "AU"]


def sample_leads(spark: SparkSession, n: int, seed: int) -> DataFrame:
    """A deterministic sample of CRM leads, generated in parallel by Spark."""
    pick = lambda values, salt: F.element_at(  # noqa: E731
        F.array(*[F.lit(v) for v in values]),
        (F.abs(F.xxhash64(F.col("id"), F.lit(seed), F.lit(salt))) % len(values) + 1).cast("int"),
    )
    return spark.range(n, numPartitions=max(1, min(8, n // 500))).select(
        F.format_string("L%07d", F.col("id")).alias("lead_id"),
        F.timestamp_seconds(
            F.lit(1_735_689_600) + F.abs(F.xxhash64("id", F.lit(seed), F.lit("t"))) % (300 * 86400)
        ).alias("created_at"),
        pick(SOURCES, "source").alias("source"),
        pick(COUNTRIES, "country").alias("country"),
        (F.abs(F.xxhash64("id", F.lit(seed), F.lit("size"))) % 5000 + 1).cast("int").alias("company_size"),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=2000, help="number of demo leads (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")


def run(ctx, args: argparse.Namespace) -> int:
    lh = ctx.lakehouse
    with stage(log, "write bronze.leads") as st:
        leads = sample_leads(ctx.spark, args.leads, args.seed)
        lh.write(leads, "bronze.leads", mode="overwrite", overwrite_schema=True)
        st.rows = args.leads
    with stage(log, "upsert a day-2 CRM correction batch into bronze.leads") as st:
        fixes = (
            lh.read("bronze.leads", where=F.col("source") == "webinar")
            .where(F.abs(F.xxhash64("lead_id")) % 10 == 0)
            .withColumn("company_size", F.col("company_size") + 1)
        )
        lh.upsert(fixes, "bronze.leads", ["lead_id"])
        st.rows = lh.read("bronze.leads").count()
    print(format_summaries(summarize_lakehouse(str(Path(ctx.conf.lakehouse).resolve()))))
    return 0
