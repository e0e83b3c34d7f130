"""Needs mining over the lakehouse: silver.text_signals, gold.need_insights, gold.customer_needs.

Every text of the configured sources (feedback, interactions) gets one row of
signals: sentiment, need category, entities, topic and urgent language. Texts
are embedded once (``silver.text_embeddings``); the signals are recomputed
from those vectors each run, because topics are rediscovered over all texts.

A *need* is a need category and a topic within it. Its priority is
importance x urgency (definitions in ``conf/default.yaml`` under
``needs.priority``), each part scaled across the needs of this run, so the
top of ``gold.need_insights`` is what marketing and product should read first.
Gold tables carry ``as_of`` (the newest text's time), never the wall clock, so
a rerun on the same input writes the same content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.frames import with_overall
from leadlake.lakehouse import Lakehouse
from leadlake.ml.store import ModelStore
from leadlake.needs.categories import classify_with, load_needs
from leadlake.needs.entities import entity_patterns
from leadlake.needs.sentiment import load_sentiment, score_sentiment
from leadlake.needs.topics import Topics, discover_topics
from leadlake.progress import stage
from leadlake.text.classify import TextClassifier
from leadlake.text.encoders import EncoderSpec
from leadlake.text.language import detect_language
from leadlake.text.routing import TextEncoders, as_encoders, per_model
from leadlake.text.sources import read_texts, sources_from_conf, with_customers
from leadlake.text.store import embedding_partitions, stored_embeddings, update_text_embeddings

log = logging.getLogger("leadlake.needs")

SIGNALS_TABLE = catalog.TEXT_SIGNALS
_GROUP = "_topic_group"
_HAN = re.compile(r"[\u3400-\u9fff]")
INSIGHTS_TABLE = catalog.NEED_INSIGHTS
CUSTOMER_NEEDS_TABLE = catalog.CUSTOMER_NEEDS


@dataclass(frozen=True)
class MiningReport:
    texts_read: int
    signals_written: int
    without_text: int
    topics: int
    needs: int
    customers: int

    def __str__(self) -> str:
        return (f"{self.texts_read:,} texts read, {self.signals_written:,} signal rows written "
                f"({self.without_text:,} without text), {self.topics} topics, {self.needs} needs, "
                f"{self.customers:,} customers with needs")


def urgent_language(text: Column, terms: Sequence[str]) -> Column:
    """True where the text contains any urgent term (case-insensitive): whole words, or anywhere for Chinese
    terms, since Chinese writes no spaces between words."""
    if not terms:
        return F.lit(False)
    words = [t for t in terms if not _HAN.search(t)]
    chinese = [t for t in terms if _HAN.search(t)]
    parts = ([r"\b(" + "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in words) + r")\b"] if words else []) \
        + (["(" + "|".join(re.escape(t) for t in chinese) + ")"] if chinese else [])
    return F.coalesce(text.rlike("(?i)" + "|".join(parts)), F.lit(False))


def classify_texts(lh: Lakehouse, texts: DataFrame, encoders: TextEncoders | EncoderSpec,
                   sentiment: TextClassifier | Mapping[str, TextClassifier],
                   needs: TextClassifier | Mapping[str, TextClassifier]) -> DataFrame:
    """Texts (with ``lang``) plus their stored embedding (``_emb``), the encoder's ``model_id``, sentiment and need
    category, each from the classifiers of the encoder the text's language goes to."""
    routing = as_encoders(encoders)
    by_sentiment, by_needs = per_model(sentiment, routing), per_model(needs, routing)

    def one(part: DataFrame, spec: EncoderSpec) -> DataFrame:
        return (
            part.join(stored_embeddings(lh, spec.model_id, "_emb"), "text_hash", "left")
            .withColumn("model_id", F.lit(spec.model_id))
            .transform(lambda d: score_sentiment(d, by_sentiment[spec.model_id], spec, embedding_col="_emb"))
            .transform(lambda d: classify_with(d, by_needs[spec.model_id], spec, embedding_col="_emb"))
        )

    return routing.each(texts, F.col("lang"), one)


def load_text_heads(models: ModelStore | str, encoders: TextEncoders,
                    conf: Conf) -> tuple[dict[str, TextClassifier], dict[str, TextClassifier]]:
    """(sentiment, need category) classifiers per encoder's model id: each trained head, or zero-shot."""
    return ({s.model_id: load_sentiment(models, s) for s in encoders.specs},
            {s.model_id: load_needs(models, s, conf) for s in encoders.specs})


def _topic_group(encoders: TextEncoders) -> Column:
    """Topics are found per need category and encoder: K-Means over one space at a time."""
    if encoders.multilingual is None:
        return F.col("need_category")
    return F.when(F.col("model_id") == encoders.primary.model_id, F.col("need_category")) \
        .otherwise(F.concat_ws(" @ ", "need_category", "model_id"))


def find_topics(classified: DataFrame, conf: Conf, encoders: TextEncoders | None = None) -> Topics:
    excluded = [str(c) for c in conf.get("needs.priority.exclude") or ()]
    grouped = classified.withColumn(_GROUP, _topic_group(encoders) if encoders else F.col("need_category"))
    return discover_topics(grouped.where(~F.col("need_category").isin(*excluded)).dropDuplicates(["text_hash"]),
                           "_emb", "text", group_col=_GROUP,
                           k=int(conf.get("needs.topics.k")),
                           keywords=int(conf.get("needs.topics.keywords")),
                           seed=int(conf.get("needs.topics.seed")))


def with_topics_and_entities(lh: Lakehouse, classified: DataFrame, topics: Topics,
                             encoders: TextEncoders | None = None, partitions: int | None = None) -> DataFrame:
    """The ``silver.text_signals`` rows.

    Entities are read once per distinct text (spaCy, text by text: the
    slow part at scale, where half the texts are repeats) and joined back.
    ``partitions``: how many tasks share that reading; many small tasks let
    the progress lines count rows done and time left.
    """
    conf = lh.conf
    catalogue = conf.get("needs.entities.products_table")
    products = lh.read(catalogue) if catalogue and lh.exists(catalogue) else None
    from udfs.entities import entities_udf

    extract = entities_udf(*entity_patterns(conf, products))
    grouped = classified.withColumn(_GROUP, _topic_group(encoders) if encoders else F.col("need_category"))
    texts = classified.where(F.col("text").isNotNull()).select("text_hash", "text")
    texts = texts.repartition(partitions, "text_hash") if partitions else texts
    entities = texts.dropDuplicates(["text_hash"]).select("text_hash", extract(F.col("text")).alias("entities"))
    return (
        topics.assign(grouped, "_emb", _GROUP)
        .join(entities, "text_hash", "left")
        .withColumn("is_urgent", urgent_language(F.col("text"), conf.get("needs.priority.urgent_terms") or ()))
        .select("source", "source_id", "lead_id", "customer_id", "ts", "text", "text_hash", "lang",
                "sentiment_score", "sentiment_label", "need_category", "need_confidence", "entities",
                F.col("topic_id").cast("int").alias("topic_id"), "topic_label", "is_urgent", "model_id")
    )


def customer_values(lh: Lakehouse) -> DataFrame:
    """What each customer is worth, by ``needs.priority.value_source``.

    Chosen in conf rather than by which tables happen to exist, so that
    mine-needs weighs needs the same way whether or not score-clv ran before it.
    """
    source = str(lh.conf.get("needs.priority.value_source"))
    if source == "clv":
        if not lh.exists(catalog.CUSTOMER_CLV):
            raise ConfError(f"needs.priority.value_source is clv but {catalog.CUSTOMER_CLV} does not exist: "
                            "run score-clv first, or use net_spend")
        return lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "clv_12m"]).select(
            "customer_id", F.col("clv_12m").cast("double").alias("customer_value"))
    if source != "net_spend":
        raise ConfError(f"needs.priority.value_source must be net_spend or clv, not {source!r}")
    orders = lh.conf.get("clv.orders")
    table, who, amount = orders["table"], orders["customer"], orders["amount"]
    if table and lh.exists(table):
        return lh.read(table, columns=[who, amount]).groupBy(F.col(who).alias("customer_id")).agg(
            F.greatest(F.sum(amount), F.lit(0.0)).cast("double").alias("customer_value"))
    return lh.spark.createDataFrame([], "customer_id string, customer_value double")


def _scaled(col: str) -> Column:
    """``col`` over its maximum across all needs (0 where every value is 0); needs ``_max_<col>``."""
    top = F.col(f"_max_{col}")
    return F.when(top > 0, F.col(col) / top).otherwise(F.lit(0.0))


@dataclass(frozen=True)
class PriorityWeights:
    volume: float
    negative: float
    value: float


@dataclass(frozen=True)
class Priority:
    """``needs.priority`` in conf (what it means: conf/default.yaml)."""

    exclude: tuple[str, ...]
    urgent_terms: tuple[str, ...]
    recent_days: int
    weights: PriorityWeights
    value_source: str
    examples: int


def need_insights(signals: DataFrame, values: DataFrame, conf: Conf) -> DataFrame:
    """One row per need (category x topic): volume, trend, sentiment, importance, urgency, priority, examples."""
    p = conf.section("needs.priority", Priority)
    days, n_examples, excluded = p.recent_days, p.examples, list(p.exclude)
    w_vol, w_neg, w_val = p.weights.volume, p.weights.negative, p.weights.value
    total_w = w_vol + w_neg + w_val or 1.0
    mined = signals.where(F.col("need_category").isNotNull() & ~F.col("need_category").isin(*excluded))
    mined = with_overall(mined, F.max("ts").alias("as_of")).withColumn(
        "_period", F.when(F.col("ts") > F.col("as_of") - F.expr(f"INTERVAL {days} DAYS"), "recent")
        .when(F.col("ts") > F.col("as_of") - F.expr(f"INTERVAL {2 * days} DAYS"), "prior"))
    keys = ["need_category", "topic_id", "topic_label"]
    rank = Window.partitionBy(*keys).orderBy(F.desc(F.col("sentiment_label") == "negative"),
                                             F.desc("need_confidence"), "text_hash")
    examples = mined.dropDuplicates([*keys, "text_hash"]).withColumn("_r", F.row_number().over(rank)) \
        .where(F.col("_r") <= n_examples).groupBy(*keys).agg(
            F.transform(F.array_sort(F.collect_list(F.struct("_r", "text"))), lambda s: s["text"])
            .alias("example_texts"))
    value = mined.where(F.col("customer_id").isNotNull()).select(*keys, "customer_id").distinct() \
        .join(values, "customer_id", "left").groupBy(*keys) \
        .agg(F.coalesce(F.sum("customer_value"), F.lit(0.0)).alias("customer_value"))
    agg = mined.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("volume"),
        F.countDistinct("customer_id").alias("customers"),
        F.round(F.avg("sentiment_score"), 4).alias("avg_sentiment"),
        F.avg((F.col("sentiment_label") == "negative").cast("double")).alias("negative_share"),
        F.avg(F.col("is_urgent").cast("double")).alias("urgent_share"),
        F.sum((F.col("_period") == "recent").cast("int")).alias("recent_volume"),
        F.sum((F.col("_period") == "prior").cast("int")).alias("prior_volume"),
        F.max("as_of").alias("as_of"),
    )
    growth = (F.col("recent_volume") - F.col("prior_volume")) / F.greatest(F.col("prior_volume"), F.lit(1))
    needs = agg.join(value, keys, "left").join(examples, keys, "left") \
        .withColumn("customer_value", F.coalesce("customer_value", F.lit(0.0)))
    out = (
        with_overall(needs, *[F.max(c).alias(f"_max_{c}") for c in ("volume", "customer_value", "urgent_share")])
        .withColumn("growth", F.round(F.least(F.greatest(growth, F.lit(-1.0)), F.lit(1.0)), 4))
        .withColumn("importance", (F.lit(w_vol) * _scaled("volume") + F.lit(w_neg) * F.col("negative_share")
                                   + F.lit(w_val) * _scaled("customer_value")) / F.lit(total_w))
        .withColumn("urgency", (_scaled("urgent_share") + (F.col("growth") + 1) / 2) / 2)
        .withColumn("priority", F.round(F.lit(100.0) * F.col("importance") * F.col("urgency"), 1))
    )
    return out.select(
        F.concat_ws(":", "need_category", F.col("topic_id").cast("string")).alias("need_id"),
        *keys, "volume", "customers", "recent_volume", "prior_volume", "growth",
        F.when(F.col("growth") >= 0.2, "rising").when(F.col("growth") <= -0.2, "falling").otherwise("steady")
        .alias("trend"),
        "avg_sentiment", F.round("negative_share", 4).alias("negative_share"),
        F.round("urgent_share", 4).alias("urgent_share"), F.round("customer_value", 2).alias("customer_value"),
        F.round("importance", 4).alias("importance"), F.round("urgency", 4).alias("urgency"), "priority",
        "example_texts", "as_of",
    )


def customer_needs(signals: DataFrame, insights: DataFrame) -> DataFrame:
    """One row per customer and need category they raised, with the priority of the need behind it."""
    needs = insights.select("need_category").distinct()
    raised = signals.where(F.col("customer_id").isNotNull()).join(needs, "need_category")
    latest = Window.partitionBy("customer_id", "need_category").orderBy(F.desc("ts"), "text_hash")
    with_priority = raised.join(insights.select("need_category", "topic_id", "priority"),
                                ["need_category", "topic_id"], "left")
    return (
        with_priority.withColumn("_latest", F.row_number().over(latest) == 1)
        .groupBy("customer_id", "need_category").agg(
            F.count(F.lit(1)).alias("mentions"),
            F.sum((F.col("sentiment_label") == "negative").cast("int")).alias("negative_mentions"),
            F.round(F.avg("sentiment_score"), 4).alias("avg_sentiment"),
            F.max(F.col("is_urgent")).alias("urgent"),
            F.max("ts").alias("last_mentioned_at"),
            F.max("priority").alias("need_priority"),
            F.max(F.when(F.col("_latest"), F.col("topic_label"))).alias("latest_topic"),
            F.max(F.when(F.col("_latest"), F.col("text"))).alias("latest_text"),
        )
        .select("customer_id", "need_category", "mentions", "negative_mentions", "avg_sentiment", "urgent",
                "need_priority", "latest_topic", "latest_text", "last_mentioned_at")
    )


def mine_needs(lh: Lakehouse, encoders: TextEncoders | EncoderSpec,
               sentiment: TextClassifier | Mapping[str, TextClassifier],
               needs: TextClassifier | Mapping[str, TextClassifier]) -> MiningReport:
    """Signals for every text, the needs they add up to and each customer's needs.

    ``encoders``: the conf's routing (``text_encoders``), or one encoder for
    every text; ``sentiment`` and ``needs``: one classifier, or one per
    encoder's model id (``load_text_heads``).
    """
    conf = lh.conf
    routing = as_encoders(encoders)
    sources = sources_from_conf(conf, "needs.sources")
    present = [s for s in sources if lh.exists(s.table)]
    for s in sources:
        if s not in present:
            log.warning("needs source %s does not exist; skipped", s.table)
    if not present:
        raise ConfError("none of the needs.sources tables exist: " + ", ".join(s.table for s in sources))
    update_text_embeddings(lh, routing, [(s.table, s.text_col) for s in present])
    with stage(log, "read texts") as st:
        texts = with_customers(lh, read_texts(lh, present)).withColumn("lang", detect_language(F.col("text"))) \
            .persist()
        st.rows = read = texts.count()
    classified = signals = topics = None
    try:
        methods = ", ".join(f"{model}: sentiment {s.method}, need category {per_model(needs, routing)[model].method}"
                            for model, s in per_model(sentiment, routing).items())
        with stage(log, f"sentiment and need category ({methods})") as st:
            classified = classify_texts(lh, texts, routing, sentiment, needs).persist()
            st.rows = classified.count()
        with stage(log, "discover topics per need category") as st:
            topics = find_topics(classified, conf, routing)
            st.rows = n_topics = topics.table.count()
        with stage(log, f"entities, topics and urgency -> {SIGNALS_TABLE}", total=read) as st:
            lh.write(with_topics_and_entities(lh, classified, topics, routing, embedding_partitions(lh, read)),
                     SIGNALS_TABLE, mode="overwrite", overwrite_schema=True)
            # Read back what was committed: the counts reconcile the table itself, and the gold
            # stages plan over a short lineage instead of re-analysing the whole mining plan.
            signals = lh.read(SIGNALS_TABLE).persist()
            st.rows = written = signals.count()
            without = signals.where(F.col("text").isNull()).count()
            st.detail = f"{without:,} rows without text"
        if written != read:
            raise RuntimeError(f"text_signals has {written:,} rows for {read:,} texts read")
        with stage(log, "need insights and customer needs") as st:
            insights = need_insights(signals, customer_values(lh), conf).persist()
            lh.write(insights, INSIGHTS_TABLE, mode="overwrite", overwrite_schema=True)
            per_customer = customer_needs(signals, insights)
            lh.write(per_customer, CUSTOMER_NEEDS_TABLE, mode="overwrite", overwrite_schema=True)
            n_needs = insights.count()
            customers = lh.read(CUSTOMER_NEEDS_TABLE, columns=["customer_id"]).distinct().count()
            insights.unpersist()
            st.rows = n_needs
        return MiningReport(read, written, without, n_topics, n_needs, customers)
    finally:
        for df in (signals, classified, topics.table if topics else None, texts):
            if df is not None:
                df.unpersist()
