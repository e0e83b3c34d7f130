"""Find the help article that answers a question: meaning (sentence embeddings) plus words (BM25), side by side.

Embeddings find "the invite button is greyed out" under "Invite teammates
and manage user seats" although the two share one word; keywords find
"429 errors" or "SAML" that a small encoder blurs. The hybrid score is
``semantic_weight`` x cosine + ``keyword_weight`` x BM25 scaled by the
question's best BM25, so neither signal's units dominate. All three
rankings are plain DataFrames, so their quality is measured side by side
on the same questions (:func:`hit_rates`).

Knowledge bases are small next to the questions (hundreds to thousands of
articles), so scoring every question against every article is a broadcast
join; the same holds for the BM25 statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

METHODS = ("semantic", "keyword", "hybrid")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "get", "got", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of",
    "on", "or", "our", "please", "so", "that", "the", "their", "them", "there", "this", "to", "up", "us", "was",
    "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "yes", "hi",
    "hello", "thanks", "thank", "any", "all", "been", "just", "one", "some",
})


@dataclass(frozen=True)
class RetrievalSettings:
    """``service.retrieval`` in conf."""

    semantic_weight: float
    keyword_weight: float
    k: int
    bm25_k1: float
    bm25_b: float


def terms(text: Column) -> Column:
    """Lower-case word stems without stop words: the keyword side's vocabulary.

    A crude suffix strip ("syncing", "synced", "syncs" -> "sync") is enough
    for help-centre English and needs no language model.
    """
    words = F.split(F.trim(F.regexp_replace(F.lower(text), r"[^a-z0-9]+", " ")), " ")
    stems = F.transform(words, lambda w: F.when(F.length(w) > 4, F.regexp_replace(w, r"(ing|ed|es|s)$", ""))
                        .otherwise(w))
    return F.filter(stems, lambda w: (F.length(w) > 1) & ~w.isin(*sorted(STOPWORDS)))


def keyword_scores(questions: DataFrame, articles: DataFrame, k1: float = 1.2, b: float = 0.75) -> DataFrame:
    """(question_key, article_id, bm25) for every pair sharing at least one term.

    ``questions``: question_key, text; ``articles``: article_id, text.
    """
    docs = articles.select("article_id", terms(F.col("text")).alias("_t")).withColumn("_len", F.size("_t"))
    stats = docs.agg(F.count(F.lit(1)).alias("n"), F.avg("_len").alias("avg")).first()
    n_docs, avg_len = stats["n"], stats["avg"] or 1.0
    tf = docs.select("article_id", "_len", F.explode("_t").alias("term")).groupBy("article_id", "_len", "term") \
        .agg(F.count(F.lit(1)).alias("tf"))
    idf = tf.groupBy("term").agg(F.count(F.lit(1)).alias("df")).select(
        "term", F.log(F.lit(1.0) + (F.lit(n_docs) - F.col("df") + 0.5) / (F.col("df") + 0.5)).alias("idf"))
    weights = tf.join(idf, "term").select(
        "article_id", "term",
        (F.col("idf") * F.col("tf") * (k1 + 1) / (F.col("tf") + k1 * (1 - b + b * F.col("_len") / avg_len)))
        .alias("w"))
    asked = questions.select("question_key", F.explode(F.array_distinct(terms(F.col("text")))).alias("term"))
    return asked.join(F.broadcast(weights), "term").groupBy("question_key", "article_id").agg(
        F.sum("w").alias("bm25"))


def cosine(a: Column, b: Column) -> Column:
    """Dot product of two unit-length vectors (the encoder normalises its outputs): their cosine."""
    return F.aggregate(F.zip_with(a, b, lambda x, y: x * y), F.lit(0.0), lambda acc, x: acc + x)


def semantic_scores(questions: DataFrame, articles: DataFrame) -> DataFrame:
    """(question_key, article_id, similarity) for every pair: ``embedding`` columns on both sides."""
    q = questions.select("question_key", F.col("embedding").alias("_q")).where(F.col("_q").isNotNull())
    a = articles.select("article_id", F.col("embedding").alias("_a"))
    return q.crossJoin(F.broadcast(a)).select("question_key", "article_id",
                                              cosine(F.col("_q"), F.col("_a")).cast("double").alias("similarity"))


def scored_pairs(questions: DataFrame, articles: DataFrame, s: RetrievalSettings) -> DataFrame:
    """(question_key, article_id, similarity, keyword, hybrid) for every question and article."""
    sem = semantic_scores(questions, articles)
    kw = keyword_scores(questions, articles, s.bm25_k1, s.bm25_b)
    pairs = sem.join(kw, ["question_key", "article_id"], "full_outer")
    best = F.max("bm25").over(Window.partitionBy("question_key"))
    keyword = F.coalesce(F.col("bm25") / F.when(best > 0, best), F.lit(0.0))
    return pairs.select("question_key", "article_id", F.coalesce("similarity", F.lit(0.0)).alias("similarity"),
                        keyword.alias("keyword")).withColumn(
        "hybrid", F.lit(s.semantic_weight) * F.col("similarity") + F.lit(s.keyword_weight) * F.col("keyword"))


def ranked(pairs: DataFrame, method: str, k: int) -> DataFrame:
    """The top ``k`` articles per question by ``method``'s score, with their rank (1 = best)."""
    column = {"semantic": "similarity", "keyword": "keyword", "hybrid": "hybrid"}[method]
    order = Window.partitionBy("question_key").orderBy(F.desc(column), F.desc("similarity"), "article_id")
    return pairs.where(F.col(column) > 0).withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)


def hit_rates(pairs: DataFrame, truth: DataFrame, methods: Sequence[str] = METHODS) -> dict[str, dict[str, float]]:
    """Per method: hit@1 and hit@3 over the questions that have an answering article (``truth``:
    question_key, article_id; null article_id = unanswerable, left out)."""
    answerable = truth.where(F.col("article_id").isNotNull()).select(
        "question_key", F.col("article_id").alias("_truth"))
    n = answerable.count()
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        top = ranked(pairs, m, 3).join(answerable, "question_key").where(F.col("article_id") == F.col("_truth"))
        row = top.agg(F.sum((F.col("rank") == 1).cast("int")).alias("h1"), F.count(F.lit(1)).alias("h3")).first()
        out[m] = {"hit_at_1": (row["h1"] or 0) / max(1, n), "hit_at_3": (row["h3"] or 0) / max(1, n),
                  "questions": float(n)}
    return out


def format_hit_rates(rates: Mapping[str, Mapping[str, float]]) -> str:
    return "; ".join(f"{m} hit@1 {v['hit_at_1']:.3f}, hit@3 {v['hit_at_3']:.3f}" for m, v in rates.items())
