"""Topics customers raise, discovered over the sentence embeddings.

Spherical K-Means (cosine) clusters the texts' embeddings, within each need
category so that a need reads "pricing: renewal · price · increase"; each
cluster is labelled with its most distinctive words by class-based TF-IDF
(the term's share of the cluster's words, weighted by how rare it is across
clusters, as in BERTopic), so a topic reads "export · files · failing"
rather than "topic 7". Chinese texts are cut into words by jieba, since
Chinese puts no spaces between them.

The centres are fitted on the driver, on at most ``FIT_SAMPLE`` texts per
group chosen by hash (a fixed sample, so a rerun finds the same topics):
a few thousand 384-dimensional vectors fit in milliseconds there, while
Spark ML's KMeans ran a distributed job per iteration per group (about 70
jobs, a third of the mine-needs stage on a small CRM, whatever the rows).
Assigning every text to its nearest centre, and the labels, run as Spark
jobs: a vectorised pandas UDF over the centres.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.feature import StopWordsRemover
from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from leadlake.frames import with_overall

log = logging.getLogger("leadlake.needs")

# Words that say nothing about a topic in business mail, beyond Spark's English stop words.
EXTRA_STOP_WORDS = [
    "hi", "hello", "hey", "thanks", "thank", "thx", "regards", "best", "cheers", "dear", "team", "please", "would",
    "could", "also", "just", "get", "got", "us", "we're", "i'm", "it's", "don't", "can't", "one", "still", "really",
    "email", "phone", "card", "message", "notes", "call", "good", "morning", "like", "know", "let", "want", "need",
]
# Chinese function words and business-mail filler that jieba keeps as words of their own.
CHINESE_STOP_WORDS = [
    "我们", "你们", "他们", "这个", "那个", "什么", "怎么", "可以", "能不能", "没有", "就是", "还是", "已经", "因为",
    "所以", "但是", "如果", "一下", "一个", "非常", "真的", "现在", "希望", "需要", "谢谢", "您好", "你好", "请问",
    "问题", "时候", "觉得", "还有", "这样", "以后", "这么", "有点", "不是", "的话", "一直", "自己",
]
_VEC = "_topic_features"
# Texts per group the centres are fitted on (a hash sample above it): ~30 MB of 384-d vectors on the driver.
FIT_SAMPLE = 20_000
_SAMPLE_SALT = "topics"
_HAN = r"\p{IsHan}"


@pandas_udf(T.ArrayType(T.StringType()))
def _segmented(texts: pd.Series) -> pd.Series:
    """Chinese text cut into words by jieba (dictionary-based); null in, null out."""
    import logging as _logging

    import jieba

    jieba.setLogLevel(_logging.WARNING)
    return pd.Series([None if t is None else [w.strip().lower() for w in jieba.lcut(t) if w.strip()]
                      for t in texts], dtype=object)


def _words(text: Column) -> Column:
    """Lower-cased words: split on non-letters, or jieba's segmentation where the text has Han characters."""
    masked = F.regexp_replace(text, r"\[(EMAIL|PHONE|CARD)\]", " ")
    han = masked.rlike(_HAN)
    return F.when(han, _segmented(F.when(han, masked))).otherwise(F.split(F.lower(masked), r"[^a-z0-9'&+-]+"))


@dataclass(frozen=True)
class Topics:
    """Unit-length K-Means centres per group, and one row per topic: topic_id, topic_label, keywords, texts.

    Topic ids are ``group index * 1000 + cluster``, unique across groups.
    """

    centers: dict[str | None, np.ndarray]
    offsets: dict[str | None, int]
    table: DataFrame

    def assign(self, df: DataFrame, emb_col: str, group_col: str | None = None) -> DataFrame:
        """``df`` with ``topic_id`` and ``topic_label``: the nearest centre (cosine) of the row's group.

        Rows with no embedding, or of a group that had no texts at fit time, get null.
        """
        group = F.col(group_col) if group_col else F.lit(None).cast("string")
        labels = self.table.select("topic_id", "topic_label")
        return df.withColumn("topic_id", _nearest_topic(self.centers, self.offsets)(group, F.col(emb_col))) \
            .join(F.broadcast(labels), "topic_id", "left")


def _nearest_topic(centers: dict[str | None, np.ndarray], offsets: dict[str | None, int]):
    """A column function (group, embedding) -> topic id of the nearest centre of that group."""

    @pandas_udf(T.IntegerType())
    def nearest(groups: pd.Series, vectors: pd.Series) -> pd.Series:
        keys = [None if pd.isna(g) else g for g in groups]
        out = pd.Series(pd.NA, index=range(len(keys)), dtype="Int32")
        for key in set(keys) & set(centers):
            rows = [i for i, (g, v) in enumerate(zip(keys, vectors, strict=True)) if g == key and v is not None]
            if rows:
                matrix = np.stack([np.asarray(vectors.iloc[i], dtype=np.float32) for i in rows])
                out.iloc[rows] = (matrix @ centers[key].T).argmax(axis=1) + offsets[key]
        return out

    return nearest


def spherical_kmeans(x: np.ndarray, k: int, seed: int, max_iter: int = 40) -> np.ndarray:
    """``k`` unit-length centres of the unit rows of ``x``: k-means++ seeding, then Lloyd steps on the cosine.

    A cluster left empty is re-seeded with the row furthest from its centre, so
    ``k`` centres always come back when ``x`` has at least ``k`` distinct rows.
    """
    rng = np.random.default_rng(seed)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    centres = [x[rng.integers(len(x))]]
    gap = np.maximum(2.0 - 2.0 * (x @ centres[0]), 0.0)
    for _ in range(1, k):
        total = gap.sum()
        pick = rng.choice(len(x), p=gap / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
        gap = np.minimum(gap, np.maximum(2.0 - 2.0 * (x @ x[pick]), 0.0))
    c = np.stack(centres)
    members = None
    for _ in range(max_iter):
        sims = x @ c.T
        nearest = sims.argmax(axis=1)
        if members is not None and np.array_equal(nearest, members):
            break
        members = nearest
        for j in range(k):
            mine = x[members == j]
            if len(mine):
                c[j] = mine.mean(axis=0)
            else:
                c[j] = x[int(sims[np.arange(len(x)), members].argmin())]
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return c


def discover_topics(df: DataFrame, emb_col: str, text_col: str, *, group_col: str | None = None, k: int = 4,
                    keywords: int = 4, seed: int = 7) -> Topics:
    """Up to ``k`` topics per group (e.g. per need category) over the non-null embeddings, labelled by keywords."""
    group = F.col(group_col) if group_col else F.lit(None).cast("string")
    emb = F.col(emb_col)
    if isinstance(df.schema[emb_col].dataType, VectorUDT):
        emb = vector_to_array(emb_col, "float32")
    data = df.where(F.col(emb_col).isNotNull()).select(
        group.alias("_group"), emb.alias(_VEC), F.col(text_col).alias("_text")).persist()
    try:
        sizes = {r["_group"]: r["count"] for r in data.groupBy("_group").count().collect()}
        if not sizes:
            raise ValueError("topic discovery needs texts with an embedding, got none")
        centers: dict[str | None, np.ndarray] = {}
        offsets: dict[str | None, int] = {}
        for name, vectors in _fit_samples(data, sizes).items():
            n = sizes[name]
            k_group = max(1, min(k, n // 5, len(vectors)))
            centers[name] = spherical_kmeans(vectors, k_group, seed)
        for i, name in enumerate(sorted(sizes, key=str)):
            offsets[name] = i * 1000
        assigned = data.select(_nearest_topic(centers, offsets)(F.col("_group"), F.col(_VEC)).alias("topic_id"),
                               "_text")
        table = _label_topics(assigned, keywords).persist()
        log.info("topics: %d over %d group(s) and %s texts", table.count(), len(sizes), f"{sum(sizes.values()):,}")
    finally:
        data.unpersist()
    return Topics(centers, offsets, table)


def _fit_samples(data: DataFrame, sizes: dict[str | None, int]) -> dict[str | None, np.ndarray]:
    """Per group, the vectors the centres are fitted on: all of them up to ``FIT_SAMPLE``, else a sample of
    about that many chosen by the text's hash (one Spark job for every group; the same sample on a rerun)."""
    share = {name: min(1.0, FIT_SAMPLE / n) for name, n in sizes.items()}
    keep = F.lit(False)
    for name, p in share.items():
        keep = F.when(F.col("_group").eqNullSafe(F.lit(name)),
                      (F.abs(F.xxhash64("_text", F.lit(_SAMPLE_SALT))) % 1_000_000) < int(p * 1_000_000)) \
            .otherwise(keep)
    rows = data.where(keep).select("_group", _VEC).toPandas()
    out: dict[str | None, np.ndarray] = {}
    for name in sizes:
        mine = rows[rows["_group"].isna()] if name is None else rows[rows["_group"] == name]
        if len(mine):
            out[name] = np.stack(mine[_VEC].to_numpy()).astype(np.float32)
    return out


def _label_topics(assigned: DataFrame, keywords: int) -> DataFrame:
    tokens = assigned.select("topic_id", _words(F.col("_text")).alias("_w"))
    stop = StopWordsRemover.loadDefaultStopWords("english") + EXTRA_STOP_WORDS + CHINESE_STOP_WORDS
    tokens = StopWordsRemover(inputCol="_w", outputCol="_terms", stopWords=stop).transform(tokens)
    term = F.col("term")
    # A word is three letters or more, or two Han characters or more (most Chinese words are two).
    word = ((F.length(term) >= 3) & term.rlike(r"^[a-z0-9'&+-]+$")) \
        | ((F.length(term) >= 2) & term.rlike(r"^\p{IsHan}+$"))
    terms = tokens.select("topic_id", F.explode("_terms").alias("term")).where(word & ~term.rlike(r"^[0-9'&+-]+$"))
    counts = terms.groupBy("topic_id", "term").count()
    per_topic = Window.partitionBy("topic_id")
    topics = counts.select("topic_id").distinct().count()
    scored = (
        with_overall(counts, (F.sum("count") / F.lit(max(topics, 1))).alias("avg_words"))
        .withColumn("tf", F.col("count") / F.sum("count").over(per_topic))
        .withColumn("term_total", F.sum("count").over(Window.partitionBy("term")))
        .withColumn("score", F.col("tf") * F.log(1 + F.col("avg_words") / F.col("term_total")))
        .withColumn("rank", F.row_number().over(per_topic.orderBy(F.desc("score"), "term")))
        .where(F.col("rank") <= keywords)
    )
    labels = scored.groupBy("topic_id").agg(
        F.transform(F.array_sort(F.collect_list(F.struct("rank", "term"))), lambda s: s["term"]).alias("keywords"))
    sizes = assigned.groupBy("topic_id").agg(F.count(F.lit(1)).alias("texts"))
    return sizes.join(labels, "topic_id", "left").select(
        "topic_id",
        F.coalesce(F.array_join("keywords", " · "), F.concat(F.lit("topic "), F.col("topic_id"))).alias("topic_label"),
        F.coalesce("keywords", F.array().cast("array<string>")).alias("keywords"),
        "texts",
    )
