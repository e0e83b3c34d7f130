"""``score-clv`` -> ``gold.customer_clv``: what each customer is worth, who is slipping, how to treat them.

Per customer with a purchase on or before ``as_of``: ``clv_12m`` (the
champion trees: expected net spend over the horizon, discounted to today),
``clv_btyd_12m`` and ``expected_purchases_12m`` and ``p_alive`` (the BTYD
baseline inside the same pipeline), ``p_churn`` (from ``clv.churn.source``;
with ``auto``, whichever of the churn classifier, BG/NBD's P(no purchase in the
horizon) and BG/NBD's 1 - P(alive) ranked the held-out customers' churn best
at training. BG/NBD lets customers drop out only after a repeat purchase, so
1 - P(alive) is 0 for every one-time buyer; train-clv logs all three
ROC-AUCs), ``churn_risk`` (high / medium / low by
``clv.churn``), ``value_segment``, ``spend_to_date``, ``days_since_last``,
``as_of``, ``model_version``, ``scored_at``. Rows are upserted on
``customer_id``: rescoring replaces a customer's row, never duplicates it.

``value_segment``, first rule that holds (cut-offs in ``clv.segments``):

=============  ==========================================================
new            first purchase fewer than ``new_days`` before as_of: too
               little history to judge, treat with onboarding
at_risk        churn_risk high and spend to date at least the median
               customer's: valuable and slipping, win back now
hibernating    churn_risk high: lapsed, low value, cheap reactivation only
champions      clv_12m in the top ``champions_share`` of the active
               customers (those not new and not high churn risk)
loyal          clv_12m at least the active customers' median
occasional     everyone else: active, below-median expected value
=============  ==========================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.clv.features import CustomerSources, customer_features
from leadlake.clv.model import ChurnTiers, ClvFeatureSpec, churn_probability
from leadlake.clv.orders import resolve_as_of, usable_orders
from leadlake.clv.training import SPEC_FILE, write_features
from leadlake.config import Conf
from leadlake.frames import with_overall
from leadlake.lakehouse import Lakehouse
from leadlake.ml.champion import Champion, load_champion
from leadlake.progress import stage

log = logging.getLogger("leadlake.clv")

CLV_TABLE = catalog.CUSTOMER_CLV
SEGMENTS = ("champions", "loyal", "occasional", "at_risk", "hibernating", "new")


@dataclass(frozen=True)
class ClvScoreReport:
    scored: int
    total: int
    model_version: str
    as_of: object
    segments: list[tuple[str, int, float]]
    serves: str = "model"

    def __str__(self) -> str:
        what = "CLV model" if self.serves == "model" else "the BTYD baseline of CLV model"
        return (f"{self.scored:,} customers scored with {what} v{self.model_version} as of {self.as_of}; "
                f"{self.total:,} in {CLV_TABLE}")


@dataclass(frozen=True)
class SegmentRules:
    """``clv.segments`` in conf."""

    new_days: int
    champions_share: float


def load_clv_champion(conf: Conf) -> tuple[Champion, ClvFeatureSpec, str, str]:
    """The champion, its feature spec, where its p_churn comes from (CHURN_SOURCES) and what it serves (SERVES)."""
    champion = load_champion(conf, "clv", "train-clv")
    saved = champion.artifact(SPEC_FILE)
    return (champion, ClvFeatureSpec(**saved["feature_spec"]), saved.get("churn_source", "gbt"),
            saved.get("serves", "model"))


def churn_risk(p_churn, conf: Conf):
    c = conf.section("clv.churn", ChurnTiers)
    return F.when(p_churn >= c.high, "high").when(p_churn >= c.medium, "medium").otherwise("low")


def value_segments(scored: DataFrame, conf: Conf) -> DataFrame:
    """``scored`` with ``value_segment`` by the rules in this module's docstring."""
    s = conf.section("clv.segments", SegmentRules)
    new = F.col("tenure_days") < s.new_days
    high = F.col("churn_risk") == "high"
    # Value ranks among the active customers only: the lapsed would otherwise fill the bottom half.
    active = ~new & ~high
    clv_pct = F.percent_rank().over(Window.partitionBy(active).orderBy("clv_12m"))
    out = with_overall(scored, F.percentile_approx("spend_to_date", 0.5).alias("_median_spend")) \
        .withColumn("_pct", clv_pct)
    champions = 1.0 - s.champions_share
    segment = (F.when(new, "new")
               .when(high & (F.col("spend_to_date") >= F.col("_median_spend")), "at_risk")
               .when(high, "hibernating")
               .when(F.col("_pct") >= champions, "champions")
               .when(F.col("_pct") >= 0.5, "loyal")
               .otherwise("occasional"))
    return out.withColumn("value_segment", segment).drop("_pct", "_median_spend")


def score_clv(lh: Lakehouse) -> ClvScoreReport:
    conf = lh.conf
    champion, spec, churn_source, serves = load_clv_champion(conf)
    model, version = champion.model, champion.version
    orders, check = usable_orders(lh)
    try:
        log.info("%s", check)
        as_of = resolve_as_of(orders, conf, CustomerSources.from_conf(conf).orders)
        features = write_features(lh, customer_features(lh, orders, as_of), as_of).persist()
    finally:
        orders.unpersist()
    try:
        with stage(log, f"score customers with CLV model v{version}") as st:
            scored = model.transform(spec.align(features))
            scored = scored.withColumn("p_churn", churn_probability(churn_source))
            if serves == "btyd":
                scored = scored.withColumn("clv_12m", F.col("clv_btyd"))
            scored = scored.select(
                "customer_id", F.round("clv_12m", 2).alias("clv_12m"), F.round("clv_btyd", 2).alias("clv_btyd_12m"),
                F.round("expected_purchases", 4).alias("expected_purchases_12m"),
                F.round("p_alive", 4).alias("p_alive"),
                F.round("p_churn", 4).alias("p_churn"), churn_risk(F.col("p_churn"), conf).alias("churn_risk"),
                F.round("gross_spend", 2).alias("spend_to_date"), "days_since_last", "tenure_days")
            rows = value_segments(scored, conf).select(
                "customer_id", "clv_12m", "clv_btyd_12m", "expected_purchases_12m", "p_alive", "p_churn",
                "churn_risk", "value_segment", "spend_to_date", "days_since_last",
                F.lit(as_of).alias("as_of"), F.lit(version).alias("model_version"),
                F.current_timestamp().alias("scored_at"))
            st.rows = n = features.count()
        with stage(log, f"upsert {CLV_TABLE}") as st:
            lh.upsert(rows, CLV_TABLE, ["customer_id"])
            st.rows = total = lh.row_count(CLV_TABLE)
        return ClvScoreReport(n, total, version, as_of, segment_summary(lh), serves)
    finally:
        features.unpersist()


def segment_summary(lh: Lakehouse) -> list[tuple[str, int, float]]:
    """(segment, customers, mean clv_12m), largest value first."""
    rows = lh.read(CLV_TABLE, columns=["value_segment", "clv_12m"]).groupBy("value_segment").agg(
        F.count(F.lit(1)).alias("n"), F.avg("clv_12m").alias("clv")).collect()
    return sorted(((r["value_segment"], int(r["n"]), float(r["clv"] or 0.0)) for r in rows), key=lambda t: -t[2])


def format_segments(segments: list[tuple[str, int, float]]) -> str:
    total = sum(n for _, n, _ in segments) or 1
    lines = ["value segments:", f"  {'segment':<12} {'customers':>9} {'share':>6} {'mean clv_12m':>13}"]
    lines += [f"  {s:<12} {n:>9,} {n / total:>6.1%} {clv:>13,.0f}" for s, n, clv in segments]
    return "\n".join(lines)
