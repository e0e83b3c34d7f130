"""Recommenders measured the way they are used: fit on the past, judged on what each person bought next.

The holdout is by time (each user's last share of purchases, or everything
after one cut), never random: a random split lets a model "predict" a
purchase from the ones around it. Relevant items are the products a user
bought in the holdout that could be recommended to them (not one-off
products they already held). Every model is scored by Spark ML's
``RankingEvaluator`` on the same users in the same run: precision, recall,
NDCG and MAP at k.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml.evaluation import RankingEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.errors import ConfError
from leadlake.reco.interactions import ITEM, USER, WEIGHT, interest, owned, time_split
from leadlake.reco.models import (
    RANK,
    AlsParams,
    IdIndex,
    fit_als,
    popularity,
    recommend,
    recommend_by_content,
    recommend_popular,
)

log = logging.getLogger("leadlake.reco")

METRICS = {"precision_at_k": "precisionAtK", "recall_at_k": "recallAtK", "ndcg_at_k": "ndcgAtK",
           "map_at_k": "meanAveragePrecisionAtK"}


@dataclass(frozen=True)
class Holdout:
    """``reco.holdout`` in conf."""

    share: float
    min_interactions: int
    split_at: str | None = None


def exclusions(events_df: DataFrame, repurchasable: Sequence[str]) -> DataFrame:
    """(user, item) pairs not to recommend: held products that are not bought twice."""
    held = owned(events_df)
    return held.where(~F.col(ITEM).isin(list(repurchasable))) if repurchasable else held


def ranking_metrics(recs: DataFrame, truth: DataFrame, index: IdIndex, k: int) -> dict[str, float]:
    """Precision, recall, NDCG and MAP at ``k`` of ``recs`` (user, item, rank) against ``truth`` (user, item)."""
    def as_ix(df: DataFrame) -> DataFrame:
        return index.items.transform(df).withColumn("item_ix", F.col("item_ix").cast("double"))

    labels = as_ix(truth.select(USER, ITEM).distinct()).groupBy(USER).agg(F.collect_set("item_ix").alias("label"))
    ranked = as_ix(recs.select(USER, ITEM, RANK)).groupBy(USER).agg(
        F.sort_array(F.collect_list(F.struct(RANK, "item_ix"))).alias("_r"))
    preds = ranked.select(USER, F.transform("_r", lambda x: x["item_ix"]).alias("prediction"))
    joined = labels.join(preds, USER, "left").select(
        "label", F.coalesce("prediction", F.array().cast("array<double>")).alias("prediction")).persist()
    try:
        return {name: float(RankingEvaluator(metricName=metric, k=k).evaluate(joined))
                for name, metric in METRICS.items()}
    finally:
        joined.unpersist()


@dataclass
class SplitData:
    """One time split, with everything every model needs: train interest, exclusions, truth, the id index."""

    train: DataFrame
    exclude: DataFrame
    truth: DataFrame
    users: DataFrame
    index: IdIndex

    @classmethod
    def build(cls, events_df: DataFrame, holdout: Holdout, half_life_days: float, repurchasable: Sequence[str],
              items: DataFrame | None = None) -> SplitData:
        train_events, test_events = time_split(events_df, holdout.share, holdout.min_interactions, holdout.split_at)
        exclude = exclusions(train_events, repurchasable).persist()
        truth = (test_events.where(F.col(WEIGHT) > 0).select(USER, ITEM).distinct()
                 .join(exclude, [USER, ITEM], "left_anti").persist())
        all_items = events_df.select(ITEM) if items is None else events_df.select(ITEM).union(items.select(ITEM))
        index = IdIndex.fit(events_df.select(USER), all_items.distinct())
        train = interest(train_events, half_life_days).persist()
        return cls(train, exclude, truth, truth.select(USER).distinct(), index)

    def release(self) -> None:
        for df in (self.train, self.exclude, self.truth):
            df.unpersist()


def evaluate_split(split: SplitData, params: AlsParams, k: int, user_vectors: DataFrame | None = None,
                   item_vectors: DataFrame | None = None) -> dict[str, dict[str, float]]:
    """Every model on one split: ALS, popularity, and content when vectors are given."""
    users = split.users.count()
    if users == 0:
        raise ValueError("no user has purchases in both periods of the holdout: nothing to evaluate "
                         "(fewer than reco.holdout.min_interactions each, or split_at outside the data)")
    als = fit_als(split.train, params, split.index)
    out = {"als": ranking_metrics(recommend(als, split.users, k, split.exclude), split.truth, split.index, k),
           "popularity": ranking_metrics(recommend_popular(popularity(split.train), split.users, k, split.exclude),
                                         split.truth, split.index, k)}
    if user_vectors is not None and item_vectors is not None:
        wanted = user_vectors.join(split.users, USER)
        recs = recommend_by_content(wanted, item_vectors, k, split.exclude)
        out["content"] = ranking_metrics(recs, split.truth, split.index, k)
    for model in out.values():
        model["users"] = float(users)
    return out


def search_als(events_df: DataFrame, holdout: Holdout, half_life_days: float, repurchasable: Sequence[str],
               base: AlsParams, grid: dict[str, Sequence], k: int,
               sample: float = 1.0) -> tuple[AlsParams, list[tuple[dict, float]]]:
    """The grid point with the best NDCG@k on a time split of ``events_df`` (pass the training period only, so the
    reported holdout stays unseen); returns it and every point's NDCG.

    ``sample`` < 1 searches on that share of the users (by a hash of the id,
    so the same users every run): each point costs one ALS fit, and the
    ordering of a handful of settings shows on a fraction of a large table.
    """
    if not 0 < sample <= 1:
        raise ConfError(f"reco.search.sample must be a share of users in (0, 1], got {sample}")
    if sample < 1:
        events_df = events_df.where((F.abs(F.xxhash64(USER)) % 1000) < round(sample * 1000))
    split = SplitData.build(events_df, holdout, half_life_days, repurchasable)
    tried: list[tuple[dict, float]] = []
    try:
        if split.users.isEmpty():
            log.warning("no buyer in the searched sample has %d+ purchases before the holdout: ALS parameters "
                        "stay as reco.als says (reco.search.sample)", holdout.min_interactions)
            return base, tried
        keys = [key for key in ("rank", "reg_param", "alpha") if grid.get(key)]
        for values in itertools.product(*[grid[key] for key in keys]):
            point = dict(zip(keys, values, strict=True))
            params = AlsParams(**{**base.__dict__, **point})
            als = fit_als(split.train, params, split.index)
            ndcg = ranking_metrics(recommend(als, split.users, k, split.exclude), split.truth, split.index,
                                   k)["ndcg_at_k"]
            log.info("ALS %s: NDCG@%d %.4f", point, k, ndcg)
            tried.append((point, ndcg))
    finally:
        split.release()
    best = max(tried, key=lambda t: t[1])[0] if tried else {}
    return AlsParams(**{**base.__dict__, **best}), tried


def evaluate_recommenders(interactions: DataFrame, user_col: str, item_col: str, ts_col: str,
                          weight_col: str | None = None, split_at: str | None = None, k: int = 10, *,
                          product_texts: DataFrame | None = None, user_texts: DataFrame | None = None,
                          share: float = 0.2, min_interactions: int = 5, half_life_days: float = 180.0,
                          repurchasable: Sequence[str] = (), als: AlsParams | None = None,
                          spec=None) -> dict[str, dict[str, float]]:
    """ALS, popularity (and content, when ``product_texts`` (item, text) and ``user_texts`` (user, text) are
    given) on a time holdout of the user's own DataFrame; each with precision/recall/NDCG/MAP at ``k``."""
    from leadlake.reco.interactions import InteractionColumns, events

    cols = InteractionColumns("interactions", user_col, item_col, ts_col, weight_col)
    ev = events(interactions, cols).persist()
    items = product_texts.select(F.col(product_texts.columns[0]).cast("string").alias(ITEM)) \
        if product_texts is not None else None
    split = SplitData.build(ev, Holdout(share, min_interactions, split_at), half_life_days, repurchasable, items)
    try:
        user_vec = item_vec = None
        if product_texts is not None and user_texts is not None:
            user_vec, item_vec = _text_vectors(user_texts, product_texts, spec)
        return evaluate_split(split, als or AlsParams(16, 1.0, 10.0, 10, 7), k, user_vec, item_vec)
    finally:
        split.release()
        ev.unpersist()


def _text_vectors(user_texts: DataFrame, product_texts: DataFrame, spec) -> tuple[DataFrame, DataFrame]:
    """(user, vector) as the mean embedding of each user's texts, and (item, vector) per product text."""
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.ml.stat import Summarizer

    from leadlake.text import embed

    u_id, u_text = user_texts.columns[:2]
    i_id, i_text = product_texts.columns[:2]
    users = embed(user_texts.select(F.col(u_id).cast("string").alias(USER), F.col(u_text).alias("text")),
                  spec=spec).where(F.col("embedding").isNotNull())
    pooled = users.groupBy(USER).agg(Summarizer.mean(array_to_vector("embedding")).alias("_m"))
    items = embed(product_texts.select(F.col(i_id).cast("string").alias(ITEM), F.col(i_text).alias("text")),
                  spec=spec)
    return (pooled.select(USER, vector_to_array("_m").alias("vector")),
            items.select(ITEM, F.col("embedding").alias("vector")))


__all__ = ["Holdout", "SplitData", "evaluate_recommenders", "evaluate_split", "exclusions", "ranking_metrics",
           "search_als"]
