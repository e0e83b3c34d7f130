"""Product recommendations: implicit-feedback ALS, content from what people wrote, and the popularity baseline.

Notebook users call the library on their own DataFrames::

    from leadlake.reco import evaluate_recommenders, fit_als, recommend
    metrics = evaluate_recommenders(orders, "customer_id", "product_id", "ts", k=10)

The ``recommend`` stage (:mod:`leadlake.reco.recommend`) writes
``gold.recommendations`` from the lakehouse.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.reco.evaluation import evaluate_recommenders
from leadlake.reco.interactions import ITEM, USER
from leadlake.reco.models import AlsParams, AlsRecommender
from leadlake.reco.models import fit_als as _fit_interest
from leadlake.reco.models import recommend as _recommend

__all__ = ["AlsParams", "AlsRecommender", "evaluate_recommenders", "fit_als", "recommend"]


def fit_als(interactions: DataFrame, user_col: str, item_col: str, weight_col: str | None = None, *,
            rank: int = 16, reg_param: float = 1.0, alpha: float = 10.0, max_iter: int = 10,
            seed: int = 7) -> AlsRecommender:
    """Implicit ALS over (user, item[, weight]) rows of any DataFrame; string ids in, string ids out."""
    weight = F.col(weight_col).cast("double") if weight_col else F.lit(1.0)
    rows = interactions.select(F.col(user_col).cast("string").alias(USER), F.col(item_col).cast("string").alias(ITEM),
                               weight.alias("w")).dropna(subset=[USER, ITEM])
    strength = rows.groupBy(USER, ITEM).agg(F.sum("w").alias("strength")).where("strength > 0")
    return _fit_interest(strength, AlsParams(rank, reg_param, alpha, max_iter, seed))


def recommend(model: AlsRecommender, users: DataFrame, k: int = 10, user_col: str | None = None) -> DataFrame:
    """Top ``k`` (user, item, score, rank) for the users in ``users`` (its ``user_col``, default its first column)."""
    col = user_col or users.columns[0]
    return _recommend(model, users.select(F.col(col).cast("string").alias(USER)), k)
