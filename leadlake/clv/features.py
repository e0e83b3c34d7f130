"""``silver.customer_features``: one row per customer as they looked on a cut-off day.

Everything here is computed from data dated on or before the cut-off, so the
same function builds training rows (cut-off = as_of - horizon, with the
spend after it as the target) and scoring rows (cut-off = as_of):

- BTYD statistics (frequency, recency, T, monetary_value; ``rfm_summary``);
- purchase rhythm: inter-purchase gaps (mean, spread, longest, last), days
  since the last purchase, tenure, purchases and spend in the last
  ``recent_days``;
- money: gross spend, mean and largest purchase day, refunds and the return
  rate, distinct products, share of spend per product category;
- what they told us: feedback count and ratings, sentiment, urgency and need
  mix (``silver.text_signals``), the mean embedding of their feedback;
- firmographics from the customer record and the lead it came from.

Targets, when a horizon end is given: ``spend_holdout`` (net revenue after
the cut-off: purchases minus refunds, never below 0), ``purchases_holdout``
and ``churned`` (no purchase in the window).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.clv.btyd import rfm_summary
from leadlake.clv.orders import OrderColumns
from leadlake.config import Conf
from leadlake.lakehouse import Lakehouse
from leadlake.text.sources import signal_aggregates
from leadlake.text.store import pooled_embeddings

FEATURES_TABLE = catalog.CUSTOMER_FEATURES
TARGETS = ("spend_holdout", "purchases_holdout", "churned")
KEYS = ("customer_id", "cutoff")


@dataclass(frozen=True)
class CustomerSources:
    """The tables and columns customer features come from (conf ``clv``)."""

    orders: OrderColumns
    products: dict
    customers: dict
    leads: dict
    feedback: dict
    need_categories: tuple[str, ...]
    time_unit: str
    recent_days: int

    @classmethod
    def from_conf(cls, conf: Conf) -> CustomerSources:
        return cls(OrderColumns.from_conf(conf), dict(conf.get("clv.products") or {}),
                   dict(conf.get("clv.customers") or {}), dict(conf.get("clv.leads") or {}),
                   dict(conf.get("clv.feedback") or {}), tuple(conf.get("needs.categories") or ()),
                   str(conf.get("clv.time_unit")), int(conf.get("clv.recent_days")))

    @property
    def categorical(self) -> list[str]:
        return [*map(str, self.customers.get("categorical") or ()), *map(str, self.leads.get("categorical") or ())]


def _purchase_rhythm(days: DataFrame, cutoff: dt.date, recent_days: int) -> DataFrame:
    gap = F.datediff("day", F.lag("day").over(Window.partitionBy("customer_id").orderBy("day")))
    recent = F.col("day") > F.date_sub(F.lit(cutoff), recent_days)
    stats = days.withColumn("_gap", gap).groupBy("customer_id").agg(
        F.avg("spend").alias("avg_day_spend"), F.max("spend").alias("max_day_spend"),
        F.avg("_gap").alias("ipt_mean_days"), F.stddev("_gap").alias("ipt_std_days"),
        F.max("_gap").alias("ipt_max_days"), F.max_by("_gap", "day").alias("ipt_last_days"),
        F.min("day").alias("_first"), F.max("day").alias("_last"),
        F.sum(recent.cast("int")).alias("purchase_days_recent"),
        F.coalesce(F.sum(F.when(recent, F.col("spend"))), F.lit(0.0)).alias("spend_recent"))
    return stats.withColumn("days_since_last", F.datediff(F.lit(cutoff), "_last")) \
        .withColumn("tenure_days", F.datediff(F.lit(cutoff), "_first")).drop("_first", "_last")


def _money(lh: Lakehouse, lines: DataFrame, src: CustomerSources) -> DataFrame:
    buy = F.col("amount") >= 0
    aggs = [F.sum(F.when(buy, F.col("amount")).otherwise(0.0)).alias("gross_spend"),
            F.sum(F.when(~buy, -F.col("amount")).otherwise(0.0)).alias("refund_amount"),
            F.sum((~buy).cast("int")).alias("refund_lines"), F.count(F.lit(1)).alias("order_lines"),
            F.countDistinct("product").alias("distinct_products")]
    table = src.products.get("table")
    if table and lh.exists(str(table)) and "product" in lines.columns:
        pid, pcat = str(src.products.get("id", "product_id")), str(src.products.get("category", "category"))
        products = lh.read(str(table), columns=[pid, pcat]).select(
            F.col(pid).cast("string").alias("product"), F.lower(pcat).alias("_category")).dropDuplicates(["product"])
        categories = sorted(r[0] for r in products.select("_category").distinct().collect() if r[0])
        lines = lines.join(products, "product", "left")
        aggs += [F.sum(F.when(buy & (F.col("_category") == c), F.col("amount")).otherwise(0.0)).alias(f"_cat_{c}")
                 for c in categories]
    else:
        categories = []
    out = lines.groupBy("customer_id").agg(*aggs)
    gross = F.col("gross_spend")
    for c in categories:
        out = out.withColumn(f"spend_share_{c}", F.when(gross > 0, F.col(f"_cat_{c}") / gross)).drop(f"_cat_{c}")
    return out.withColumn("return_rate", F.when(gross > 0, F.col("refund_amount") / gross))


def _feedback(lh: Lakehouse, src: CustomerSources, cutoff: dt.date) -> list[DataFrame]:
    fb = src.feedback
    table = str(fb.get("table") or "")
    if not table or not lh.exists(table):
        return []
    who, ts, text = str(fb.get("customer", "customer_id")), str(fb.get("ts", "ts")), str(fb.get("text", "text"))
    rating = fb.get("rating")
    rows = lh.read(table).select(F.col(who).cast("string").alias("customer_id"), F.col(ts).alias("ts"),
                                 F.col(text).alias("text"),
                                 (F.col(str(rating)) if rating else F.lit(None)).cast("double").alias("rating")) \
        .where(F.to_date("ts") <= F.lit(cutoff))
    frames = [rows.groupBy("customer_id").agg(F.count(F.lit(1)).alias("fb_count"),
                                              F.avg("rating").alias("fb_rating_mean"),
                                              F.min("rating").alias("fb_rating_min"))]
    if lh.exists(catalog.TEXT_SIGNALS):
        signals = lh.read(catalog.TEXT_SIGNALS, columns=["source", "customer_id", "ts", "sentiment_score",
                                                         "sentiment_label", "need_category", "is_urgent"]) \
            .where((F.col("source") == table) & F.col("customer_id").isNotNull()
                   & (F.to_date("ts") <= F.lit(cutoff)))
        frames.append(signals.groupBy("customer_id").agg(*signal_aggregates("fb_", src.need_categories)))
    pooled = pooled_embeddings(lh, rows, "customer_id")
    if pooled is not None:
        frames.append(pooled)
    return frames


def _firmographics(lh: Lakehouse, src: CustomerSources) -> DataFrame | None:
    c = src.customers
    table = str(c.get("table") or "")
    if not table or not lh.exists(table):
        return None
    cid, link = str(c["id"]), c.get("lead_id")
    cats, nums = [str(x) for x in c.get("categorical") or ()], [str(x) for x in c.get("numeric") or ()]
    out = lh.read(table).select(F.col(cid).cast("string").alias("customer_id"),
                                *[F.lower(F.col(x).cast("string")).alias(x) for x in cats],
                                *[F.col(x).cast("double").alias(x) for x in nums],
                                (F.col(str(link)) if link else F.lit(None)).cast("string").alias("_lead")) \
        .dropDuplicates(["customer_id"])
    lt = str(src.leads.get("table") or "")
    lead_cats = [str(x) for x in src.leads.get("categorical") or ()]
    if link and lt and lh.exists(lt) and lead_cats:
        lid = str(src.leads.get("id", "lead_id"))
        leads = lh.read(lt).select(F.col(lid).cast("string").alias("_lead"),
                                   *[F.lower(F.col(x).cast("string")).alias(x) for x in lead_cats]) \
            .dropDuplicates(["_lead"])
        out = out.join(leads, "_lead", "left")
    else:
        out = out.select("*", *[F.lit(None).cast("string").alias(x) for x in lead_cats])
    return out.drop("_lead")


def customer_features(lh: Lakehouse, orders: DataFrame, cutoff: dt.date,
                      horizon_end: dt.date | None = None) -> DataFrame:
    """The feature rows (lazy) of every customer with a purchase on or before ``cutoff``."""
    conf = lh.conf
    src = CustomerSources.from_conf(conf)
    oc = src.orders
    lines = orders.select(
        F.col(oc.customer).cast("string").alias("customer_id"), F.col(oc.ts).alias("ts"),
        F.to_date(oc.ts).alias("day"), F.col(oc.amount).cast("double").alias("amount"),
        (F.col(oc.product).cast("string") if oc.product in orders.columns else F.lit(None).cast("string"))
        .alias("product"))
    summary = rfm_summary(lines, "customer_id", "ts", "amount", cutoff.isoformat(),
                          horizon_end.isoformat() if horizon_end else None, src.time_unit)
    before = lines.where(F.col("day") <= F.lit(cutoff))
    days = before.where(F.col("amount") >= 0).groupBy("customer_id", "day").agg(F.sum("amount").alias("spend"))
    out = summary.join(_purchase_rhythm(days, cutoff, src.recent_days), "customer_id", "left") \
        .join(_money(lh, before, src), "customer_id", "left")
    for frame in _feedback(lh, src, cutoff):
        out = out.join(frame, "customer_id", "left")
    out = out.fillna(0.0, ["fb_count"]) if "fb_count" in out.columns else out
    firm = _firmographics(lh, src)
    if firm is not None:
        out = out.join(firm, "customer_id", "left")
    if horizon_end is not None:
        after = lines.where((F.col("day") > F.lit(cutoff)) & (F.col("day") <= F.lit(horizon_end))) \
            .groupBy("customer_id").agg(F.sum("amount").alias("_net"))
        out = out.join(after, "customer_id", "left").select(
            "*", F.greatest(F.coalesce("_net", F.lit(0.0)), F.lit(0.0)).alias("spend_holdout"),
            F.col("frequency_holdout").alias("purchases_holdout"),
            (F.col("frequency_holdout") == 0).cast("double").alias("churned"),
        ).drop("_net", "frequency_holdout", "monetary_holdout", "duration_holdout")
    return out.withColumn("cutoff", F.lit(cutoff))


def numeric_features(features: DataFrame, categorical: list[str]) -> list[str]:
    """Every numeric column a model may use: not a key, a target, a category or the embedding."""
    skip = {*KEYS, *TARGETS, *categorical, "text_embedding"}
    return [f.name for f in features.schema.fields
            if f.name not in skip and f.dataType.typeName() in ("double", "float", "integer", "long")]
