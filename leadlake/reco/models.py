"""Three ways to rank products for a person, all returning (user, item, score, rank) with string ids.

- ALS (Spark ML, implicit feedback): people who bought like you bought this.
  ALS needs integer ids; :class:`IdIndex` maps strings in and out.
- content: what the person wrote, closest to what the product is (the same
  sentence encoder as everywhere else), for people with no purchases and
  products nobody bought yet.
- popularity: what most people buy, the baseline every marketer has.

Each takes ``exclude`` (user, item) pairs that must not be recommended
(products the person owns and does not buy twice).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml.feature import IndexToString, StringIndexer, StringIndexerModel
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake.reco.interactions import ITEM, USER

SCORE, RANK = "score", "rank"


@dataclass(frozen=True)
class AlsParams:
    """``reco.als`` in conf."""

    rank: int
    reg_param: float
    alpha: float
    max_iter: int
    seed: int


@dataclass
class IdIndex:
    """String user and item ids <-> the integers ALS needs, fitted once over every known id."""

    users: StringIndexerModel
    items: StringIndexerModel

    @classmethod
    def fit(cls, users: DataFrame, items: DataFrame) -> IdIndex:
        return cls(StringIndexer(inputCol=USER, outputCol="user_ix", handleInvalid="skip").fit(users.select(USER)),
                   StringIndexer(inputCol=ITEM, outputCol="item_ix", handleInvalid="skip").fit(items.select(ITEM)))

    def encode(self, df: DataFrame) -> DataFrame:
        out = self.users.transform(df) if USER in df.columns else df
        out = self.items.transform(out) if ITEM in out.columns else out
        return out.select(*[F.col(c).cast("int") if c.endswith("_ix") else F.col(c) for c in out.columns])

    def item_labels(self, df: DataFrame, col: str = "item_ix") -> DataFrame:
        return IndexToString(inputCol=col, outputCol=ITEM, labels=self.items.labels).transform(df)

    def user_labels(self, df: DataFrame, col: str = "user_ix") -> DataFrame:
        return IndexToString(inputCol=col, outputCol=USER, labels=self.users.labels).transform(df)


@dataclass
class AlsRecommender:
    model: ALSModel
    index: IdIndex


def fit_als(interest: DataFrame, params: AlsParams, index: IdIndex | None = None,
            strength_col: str = "strength") -> AlsRecommender:
    """Implicit-feedback ALS over (user, item, strength) rows."""
    index = index or IdIndex.fit(interest, interest)
    als = ALS(userCol="user_ix", itemCol="item_ix", ratingCol=strength_col, implicitPrefs=True,
              rank=params.rank, regParam=params.reg_param, alpha=params.alpha, maxIter=params.max_iter,
              seed=params.seed, coldStartStrategy="drop", nonnegative=False)
    return AlsRecommender(als.fit(index.encode(interest.select(USER, ITEM, strength_col))), index)


def _top_k(candidates: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
    """The best ``k`` (user, item, score) per user after removing ``exclude`` pairs; ties broken by item id."""
    if exclude is not None:
        candidates = candidates.join(exclude.select(USER, ITEM), [USER, ITEM], "left_anti")
    order = Window.partitionBy(USER).orderBy(F.desc(SCORE), ITEM)
    return (candidates.withColumn(RANK, F.row_number().over(order)).where(F.col(RANK) <= k)
            .select(USER, ITEM, F.col(SCORE).cast("double").alias(SCORE), RANK))


def _most_excluded(exclude: DataFrame | None) -> int:
    if exclude is None:
        return 0
    row = exclude.groupBy(USER).count().agg(F.max("count")).first()
    return int(row[0] or 0) if row else 0


def recommend(rec: AlsRecommender, users: DataFrame, k: int, exclude: DataFrame | None = None) -> DataFrame:
    """Top ``k`` products per user in ``users`` (a ``user`` column) that ALS knows; unknown users get none."""
    wanted = rec.index.encode(users.select(USER).distinct()).dropna(subset=["user_ix"])
    n = k + _most_excluded(exclude)
    raw = rec.model.recommendForUserSubset(wanted.select("user_ix"), n)
    flat = raw.select("user_ix", F.explode("recommendations").alias("r")).select(
        "user_ix", F.col("r.item_ix").alias("item_ix"), F.col("r.rating").alias(SCORE))
    named = rec.index.item_labels(rec.index.user_labels(flat))
    return _top_k(named.select(USER, ITEM, SCORE), k, exclude)


def popularity(interest: DataFrame) -> DataFrame:
    """(item, score): the share of users who hold each item."""
    users = interest.select(USER).distinct().count() or 1
    return interest.groupBy(ITEM).agg((F.countDistinct(USER) / F.lit(users)).alias(SCORE))


def recommend_popular(popular: DataFrame, users: DataFrame, k: int, exclude: DataFrame | None = None) -> DataFrame:
    n = k + _most_excluded(exclude)
    top = popular.orderBy(F.desc(SCORE), ITEM).limit(n)
    return _top_k(users.select(USER).distinct().crossJoin(F.broadcast(top)), k, exclude)


def _dot(a: Column, b: Column) -> Column:
    return F.aggregate(F.zip_with(a, b, lambda x, y: x * y), F.lit(0.0), lambda acc, x: acc + x)


def _norm(a: Column) -> Column:
    return F.sqrt(_dot(a, a))


def recommend_by_content(user_vectors: DataFrame, item_vectors: DataFrame, k: int,
                         exclude: DataFrame | None = None, vector_col: str = "vector") -> DataFrame:
    """Top ``k`` items per user by cosine similarity of what the user wrote to what the item is.

    ``user_vectors`` is (user, vector), ``item_vectors`` (item, vector); the
    catalogue is broadcast, so this scales with users, not users x items shuffles.
    """
    items = item_vectors.where(F.col(vector_col).isNotNull()).select(ITEM, F.col(vector_col).alias("_iv"))
    users = user_vectors.where(F.col(vector_col).isNotNull()).select(USER, F.col(vector_col).alias("_uv"))
    pairs = users.crossJoin(F.broadcast(items))
    cosine = _dot(F.col("_uv"), F.col("_iv")) / (_norm(F.col("_uv")) * _norm(F.col("_iv")) + F.lit(1e-12))
    return _top_k(pairs.select(USER, ITEM, cosine.alias(SCORE)), k, exclude)
