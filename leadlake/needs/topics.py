"""Topics customers raise, discovered over the sentence embeddings.

K-Means (Spark ML, cosine distance) clusters the texts' embeddings, within
each need category so that a need reads "pricing: renewal · price · increase"; each
cluster is labelled with its most distinctive words by class-based TF-IDF
(the term's share of the cluster's words, weighted by how rare it is across
clusters, as in BERTopic), so a topic reads "export · files · failing"
rather than "topic 7". Chinese texts are cut into words by jieba, since
Chinese puts no spaces between them. Everything runs as Spark jobs: only the k centroids
and the k x keywords labels reach the driver; assigning a text to its
nearest centre is a vectorised pandas UDF over the broadcast centres.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import StopWordsRemover
from pyspark.ml.functions import array_to_vector
from pyspark.ml.stat import Summarizer
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
        centers, offsets = self.centers, self.offsets

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

        group = F.col(group_col) if group_col else F.lit(None).cast("string")
        labels = self.table.select("topic_id", "topic_label")
        return df.withColumn("topic_id", nearest(group, F.col(emb_col))) \
            .join(F.broadcast(labels), "topic_id", "left")


def discover_topics(df: DataFrame, emb_col: str, text_col: str, *, group_col: str | None = None, k: int = 4,
                    keywords: int = 4, seed: int = 7) -> Topics:
    """Up to ``k`` topics per group (e.g. per need category) over the non-null embeddings, labelled by keywords."""
    group = F.col(group_col) if group_col else F.lit(None).cast("string")
    data = df.where(F.col(emb_col).isNotNull()).select(
        group.alias("_group"), array_to_vector(emb_col).alias(_VEC), F.col(text_col).alias("_text")).persist()
    try:
        sizes = {r["_group"]: r["count"] for r in data.groupBy("_group").count().collect()}
        if not sizes:
            raise ValueError("topic discovery needs texts with an embedding, got none")
        centers: dict[str | None, np.ndarray] = {}
        offsets: dict[str | None, int] = {}
        assigned = []
        for i, (name, n) in enumerate(sorted(sizes.items(), key=lambda kv: str(kv[0]))):
            subset = data.where(F.col("_group").eqNullSafe(F.lit(name)))
            offsets[name] = i * 1000
            k_group = max(1, min(k, n // 5))
            if k_group == 1:
                mean = np.asarray(subset.select(Summarizer.mean(F.col(_VEC))).first()[0].toArray())
                centers[name] = (mean / (np.linalg.norm(mean) or 1.0))[None, :]
                assigned.append(subset.select(F.lit(offsets[name]).alias("topic_id"), "_text"))
                continue
            model = KMeans(k=k_group, seed=seed, featuresCol=_VEC, predictionCol="_cluster",
                           distanceMeasure="cosine", maxIter=40).fit(subset)
            found = np.stack([c / (np.linalg.norm(c) or 1.0) for c in model.clusterCenters()])
            centers[name] = found
            assigned.append(model.transform(subset).select(
                (F.col("_cluster") + offsets[name]).cast("int").alias("topic_id"), "_text"))
        table = _label_topics(functools.reduce(DataFrame.unionByName, assigned), keywords).persist()
        log.info("topics: %d over %d group(s) and %s texts", table.count(), len(sizes), f"{sum(sizes.values()):,}")
    finally:
        data.unpersist()
    return Topics(centers, offsets, table)


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
