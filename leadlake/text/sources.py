"""Where customers' words come from, and what models read back from them.

Several stages read the same free text (need mining, lead discovery) and
several models use what was mined from it (lead and CLV features); the
readers live here, in the shared text layer, so no domain imports another
to get them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.text.pii import clean_text, text_key

WHO = ("customer_id", "lead_id")


@dataclass(frozen=True)
class Source:
    table: str
    text_col: str
    id_col: str
    who_col: str
    ts_col: str = "ts"


def sources_from_conf(conf: Conf, key: str) -> list[Source]:
    """The ``[table, text, id, who(, ts)]`` entries under ``key``, checked."""
    out = []
    for entry in conf.get(key) or ():
        if not isinstance(entry, Sequence) or len(entry) not in (4, 5):
            raise ConfError(f"{key} entries are [table, text column, id column, customer_id|lead_id"
                            f"(, timestamp column)], got {entry!r}")
        source = Source(*[str(x) for x in entry])
        if source.who_col not in WHO:
            raise ConfError(f"{key}: who raised the text must be one of {WHO}, got {source.who_col!r}")
        out.append(source)
    if not out:
        raise ConfError(f"{key} is empty: no texts to read")
    return out


def read_texts(lh: Lakehouse, sources: Sequence[Source]) -> DataFrame:
    """One row per source row: source, source_id, lead_id, customer_id, ts, text (PII-masked), text_hash."""
    frames = []
    for src in sources:
        df = lh.read(src.table, columns=[src.id_col, src.who_col, src.ts_col, src.text_col])
        text = clean_text(F.col(src.text_col))
        frames.append(df.select(
            F.lit(src.table).alias("source"),
            F.col(src.id_col).cast("string").alias("source_id"),
            (F.col(src.who_col) if src.who_col == "lead_id" else F.lit(None)).cast("string").alias("lead_id"),
            (F.col(src.who_col) if src.who_col == "customer_id" else F.lit(None)).cast("string").alias("customer_id"),
            F.col(src.ts_col).cast("timestamp").alias("ts"),
            F.when(F.length(text) > 0, text).alias("text"),
        ))
    out = functools.reduce(DataFrame.unionByName, frames)
    return out.withColumn("text_hash", F.when(F.col("text").isNotNull(), text_key(F.col("text"))))


def with_customers(lh: Lakehouse, texts: DataFrame) -> DataFrame:
    """Fill customer_id for texts written by leads that became customers (the customers table of ``clv.customers``).
    """
    c = lh.conf.get("clv.customers") or {}
    table, cid, lead = c.get("table"), c.get("id"), c.get("lead_id")
    if not (table and cid and lead) or not lh.exists(table):
        return texts
    link = lh.read(table, columns=[cid, lead]).where(F.col(lead).isNotNull()).dropDuplicates([lead]) \
        .select(F.col(lead).cast("string").alias("lead_id"), F.col(cid).cast("string").alias("_linked"))
    return texts.join(link, "lead_id", "left").withColumn(
        "customer_id", F.coalesce("customer_id", "_linked")).drop("_linked")


def message_intents(lh: Lakehouse) -> DataFrame | None:
    """(lead_id, main_intent, support_share): what each lead's discovered messages mostly are, and how many ask for
    support; None before discover-leads ran. Campaign features and next-action rules both read it."""
    if not lh.exists(catalog.DISCOVERED_LEADS):
        return None
    msgs = lh.read(catalog.DISCOVERED_LEADS, columns=["lead_id", "message_class"]).where("lead_id is not null")
    ranked = msgs.groupBy("lead_id", "message_class").agg(F.count(F.lit(1)).alias("n")).withColumn(
        "_r", F.row_number().over(Window.partitionBy("lead_id").orderBy(F.desc("n"), "message_class")))
    shares = msgs.groupBy("lead_id").agg(
        F.avg((F.col("message_class") == "support").cast("double")).alias("support_share"))
    return ranked.where("_r = 1").select("lead_id", F.col("message_class").alias("main_intent")).join(
        shares, "lead_id")


def signal_aggregates(prefix: str, categories: Sequence[str]) -> list[Column]:
    """Aggregates of ``silver.text_signals`` rows that models use as features: tone, urgency, need mix."""
    aggs = [F.avg("sentiment_score").alias(f"{prefix}sentiment"),
            F.avg((F.col("sentiment_label") == "negative").cast("double")).alias(f"{prefix}negative_share"),
            F.avg(F.col("is_urgent").cast("double")).alias(f"{prefix}urgent_share")]
    return aggs + [F.avg((F.col("need_category") == c).cast("double")).alias(f"{prefix}need_{c}")
                   for c in categories]
