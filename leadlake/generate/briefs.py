"""``write-briefs`` -> ``gold.insight_briefs``: a short weekly brief per need category and per lead segment.

What a manager reads on Monday: what rose or fell over the last
``briefs.period_days`` against the period before, an example quote, and the
customers and revenue concerned. Every number comes from the tables (text
signals and need insights for needs, lead scores and the leads table for
segments, customer CLV for the revenue), travels as facts to the generator,
and the text is checked against them like every other generated text.

The week is the newest text's (or lead's) day, never the wall clock, so a
rerun on the same input writes the same rows; rows are upserted on
(subject_kind, subject, week), so last week's briefs stay beside this week's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.errors import ConfError
from leadlake.frames import with_overall
from leadlake.generate.runner import generate_texts
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage

log = logging.getLogger("leadlake.generate")

TABLE = catalog.INSIGHT_BRIEFS
INSTRUCTION = ("Write a short weekly brief (three sentences at most) for a sales and marketing manager about "
               "{subject}: what rose or fell, who it concerns, and one example quote. Say only what the facts say.")
QUOTE_CHARS = 160


@dataclass(frozen=True)
class BriefSettings:
    """``briefs`` in conf."""

    period_days: int
    need_template: str
    segment_template: str
    max_segments: int


@dataclass(frozen=True)
class BriefReport:
    needs: int
    segments: int
    week: str | None
    generation: str

    def __str__(self) -> str:
        return (f"insight briefs for the week to {self.week}: {self.needs} need categories, {self.segments} lead "
                f"segments\n  texts: {self.generation}")


def _periods(ts: Column, as_of: Column, days: int) -> Column:
    return (F.when(ts > as_of - F.expr(f"INTERVAL {days} DAYS"), "recent")
            .when(ts > as_of - F.expr(f"INTERVAL {2 * days} DAYS"), "prior").otherwise("older"))


def _direction() -> Column:
    return (F.when(F.col("recent") > F.col("prior"), "up from").when(F.col("recent") < F.col("prior"), "down from")
            .otherwise("the same as"))


def _quote(text: Column) -> Column:
    clipped = F.when(F.length(text) > QUOTE_CHARS, F.concat(F.substring(text, 1, QUOTE_CHARS - 3), F.lit("...")))
    return F.regexp_replace(F.coalesce(clipped.otherwise(text), F.lit("")), '"', "'")


def need_briefs(lh: Lakehouse, days: int) -> DataFrame | None:
    """Per need category: recent and prior mentions, negative share, top topic, a quote, customers and CLV."""
    if not lh.exists(catalog.TEXT_SIGNALS):
        return None
    excluded = [str(c) for c in lh.conf.get("needs.priority.exclude") or ()]
    signals = lh.read(catalog.TEXT_SIGNALS, columns=["need_category", "ts", "text", "sentiment_label",
                                                     "customer_id", "topic_label"]).where(
        F.col("need_category").isNotNull() & ~F.col("need_category").isin(*excluded) & F.col("ts").isNotNull())
    signals = with_overall(signals, F.max("ts").alias("as_of")).withColumn(
        "period", _periods(F.col("ts"), F.col("as_of"), days))
    latest = Window.partitionBy("need_category").orderBy(
        F.desc(F.col("period") == "recent"), F.desc(F.col("sentiment_label") == "negative"), F.desc("ts"), "text")
    quotes = signals.withColumn("_r", F.row_number().over(latest)).where("_r = 1").select(
        "need_category", _quote(F.col("text")).alias("quote"))
    counts = signals.groupBy("need_category").agg(
        F.sum((F.col("period") == "recent").cast("int")).alias("recent"),
        F.sum((F.col("period") == "prior").cast("int")).alias("prior"),
        F.avg(F.when(F.col("period") == "recent", (F.col("sentiment_label") == "negative").cast("double")))
        .alias("negative_share"),
        F.to_date(F.max("as_of")).alias("week"))
    out = counts.join(quotes, "need_category", "left")
    if lh.exists(catalog.NEED_INSIGHTS):
        topic = Window.partitionBy("need_category").orderBy(F.desc("priority"), "need_id")
        top = lh.read(catalog.NEED_INSIGHTS, columns=["need_id", "need_category", "topic_label", "priority"]) \
            .withColumn("_r", F.row_number().over(topic)).where("_r = 1").select(
                "need_category", F.col("topic_label").alias("top_topic"))
        out = out.join(top, "need_category", "left")
    else:
        out = out.withColumn("top_topic", F.lit(None).cast("string"))
    who = signals.where(F.col("customer_id").isNotNull()).select("need_category", "customer_id").distinct()
    if lh.exists(catalog.CUSTOMER_CLV):
        clv = lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "clv_12m", "churn_risk"])
        who = who.join(clv, "customer_id", "left")
    else:
        who = who.withColumn("clv_12m", F.lit(None).cast("double")).withColumn("churn_risk", F.lit(None).cast("string"))
    value = who.groupBy("need_category").agg(F.count(F.lit(1)).alias("customers"),
                                             F.sum("clv_12m").alias("clv_12m"),
                                             F.sum((F.col("churn_risk") == "high").cast("int")).alias("at_risk"))
    out = out.join(value, "need_category", "left")
    return out.select(
        F.lit("need").alias("subject_kind"), F.col("need_category").alias("subject"),
        F.regexp_replace("need_category", "_", " ").alias("subject_label"), "week", "recent", "prior",
        _direction().alias("direction"), F.coalesce("customers", F.lit(0)).alias("customers"),
        F.round(F.coalesce("clv_12m", F.lit(0.0)), 0).alias("clv_12m"),
        F.coalesce("at_risk", F.lit(0)).alias("at_risk"),
        F.concat(F.round(F.coalesce("negative_share", F.lit(0.0)) * 100, 0).cast("int").cast("string"), F.lit("%"))
        .alias("negative_pct"), F.coalesce("top_topic", F.lit("-")).alias("top_topic"), "quote",
        F.lit(None).cast("string").alias("mean_p"), F.lit(None).cast("long").alias("high_tier"),
        F.col("recent").cast("double").alias("weight"))


def segment_briefs(lh: Lakehouse, days: int, limit: int) -> DataFrame | None:
    """Per lead segment: new leads recently and before, mean p_convert, high-tier leads, a lead's quote."""
    leads_table, lead_id, created = (lh.conf.get("leads.table"), lh.conf.get("leads.id"),
                                     lh.conf.get("leads.created_at"))
    if not lh.exists(catalog.LEAD_SCORES) or not lh.exists(leads_table):
        return None
    scores = lh.read(catalog.LEAD_SCORES, columns=["lead_id", "p_convert", "tier", "segment_description"]).where(
        F.col("segment_description").isNotNull())
    leads = lh.read(leads_table, columns=[lead_id, created]).select(
        F.col(lead_id).cast("string").alias("lead_id"), F.col(created).cast("timestamp").alias("created"))
    joined = with_overall(scores.join(leads, "lead_id"), F.max("created").alias("as_of")).withColumn(
        "period", _periods(F.col("created"), F.col("as_of"), days))
    counts = joined.groupBy("segment_description").agg(
        F.sum((F.col("period") == "recent").cast("int")).alias("recent"),
        F.sum((F.col("period") == "prior").cast("int")).alias("prior"),
        F.count(F.lit(1)).alias("leads"), F.avg("p_convert").alias("p"),
        F.sum((F.col("tier") == "high").cast("int")).alias("high_tier"), F.to_date(F.max("as_of")).alias("week"))
    counts = counts.withColumn("_r", F.row_number().over(Window.orderBy(F.desc("leads"), "segment_description"))) \
        .where(F.col("_r") <= limit)
    if lh.exists(catalog.TEXT_SIGNALS):
        texts = lh.read(catalog.TEXT_SIGNALS, columns=["lead_id", "ts", "text"]).where(F.col("lead_id").isNotNull())
        latest = Window.partitionBy("segment_description").orderBy(F.desc("ts"), "text")
        quotes = texts.join(scores.select("lead_id", "segment_description"), "lead_id").withColumn(
            "_q", F.row_number().over(latest)).where("_q = 1").select("segment_description",
                                                                      _quote(F.col("text")).alias("quote"))
        counts = counts.join(quotes, "segment_description", "left")
    else:
        counts = counts.withColumn("quote", F.lit(None).cast("string"))
    return counts.select(
        F.lit("lead_segment").alias("subject_kind"), F.col("segment_description").alias("subject"),
        F.col("segment_description").alias("subject_label"), "week", "recent", "prior", _direction().alias("direction"),
        F.lit(None).cast("long").alias("customers"), F.lit(None).cast("double").alias("clv_12m"),
        F.lit(None).cast("long").alias("at_risk"), F.lit(None).cast("string").alias("negative_pct"),
        F.lit(None).cast("string").alias("top_topic"), F.coalesce("quote", F.lit("")).alias("quote"),
        F.concat(F.round(F.col("p") * 100, 0).cast("int").cast("string"), F.lit("%")).alias("mean_p"),
        F.col("high_tier").cast("long").alias("high_tier"), F.col("recent").cast("double").alias("weight"))


FACTS = ("subject_label", "week", "recent", "prior", "direction", "customers", "clv_12m", "at_risk", "negative_pct",
         "top_topic", "quote", "example", "mean_p", "high_tier", "days")


def write_briefs(lh: Lakehouse) -> BriefReport:
    s = lh.conf.section("briefs", BriefSettings)
    if s.period_days < 1:
        raise ConfError(f"briefs.period_days must be at least 1, not {s.period_days}")
    parts = [p for p in (need_briefs(lh, s.period_days), segment_briefs(lh, s.period_days, s.max_segments))
             if p is not None]
    if not parts:
        raise ConfError(f"write-briefs needs {catalog.TEXT_SIGNALS} (run mine-needs) or {catalog.LEAD_SCORES} "
                        "(run score-leads)")
    subjects = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    example = F.when(F.length("quote") > 0, F.concat(F.lit('Example: "'), F.col("quote"), F.lit('"'))).otherwise("")
    subjects = subjects.withColumn("days", F.lit(s.period_days)).withColumn("example", example).withColumn(
        "clv_12m", F.when(F.col("clv_12m").isNotNull(), F.format_number("clv_12m", 0))).persist()
    try:
        facts = F.to_json(F.struct(*[F.col(c) for c in FACTS]))
        template = F.when(F.col("subject_kind") == "need", F.lit(s.need_template)).otherwise(
            F.lit(s.segment_template))
        requests = subjects.select(F.concat_ws(":", "subject_kind", "subject").alias("key"),
                                   F.format_string(INSTRUCTION.replace("{subject}", "%s"), "subject_label")
                                   .alias("instruction"), facts.alias("facts"), template.alias("template"))
        texts, report = generate_texts(lh, requests)
        rows = subjects.join(texts.select("key", F.col("text").alias("brief"), "generator", "grounded",
                                          F.col("reason").alias("brief_note")),
                             F.concat_ws(":", subjects.subject_kind, subjects.subject) == F.col("key")).select(
            "subject_kind", "subject", "week", F.col("days").alias("period_days"), "recent", "prior",
            "customers", "at_risk", "quote", "brief", "generator", "grounded", "brief_note", "weight",
            F.current_timestamp().alias("created_at"))
        with stage(log, f"upsert {TABLE}") as st:
            lh.upsert(rows, TABLE, ["subject_kind", "subject", "week"])
            st.rows = lh.row_count(TABLE)
        counts = {r["subject_kind"]: (int(r["n"]), str(r["week"])) for r in subjects.groupBy("subject_kind").agg(
            F.count(F.lit(1)).alias("n"), F.max("week").alias("week")).collect()}
        week = counts.get("need", counts.get("lead_segment", (0, None)))[1]
        return BriefReport(counts.get("need", (0, None))[0], counts.get("lead_segment", (0, None))[0], week,
                           str(report))
    finally:
        subjects.unpersist()
