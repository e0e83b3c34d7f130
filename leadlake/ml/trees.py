"""Gradient-boosted tree settings, read the same way for every model.

The lead classifier, the churn classifier and the spend regressor are all
Spark ML GBTs; they differ in their settings (``leads.model``,
``clv.model`` in conf), not in how those settings become estimator params.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

FEATURES = "features"


@dataclass(frozen=True)
class TreeParams:
    """The tree part of a model's conf section."""

    max_iter: int
    max_depth: int
    step_size: float
    min_leaf_rows: int
    subsampling_rate: float
    max_bins: int
    seed: int

    def spark_params(self, bins_needed: int = 32) -> dict:
        """Keyword arguments of ``GBTClassifier`` / ``GBTRegressor``.

        ``bins_needed`` is the widest categorical feature's arity: Spark
        refuses to fit when a categorical feature has more values than bins.
        """
        return dict(featuresCol=FEATURES, maxIter=self.max_iter, maxDepth=self.max_depth, stepSize=self.step_size,
                    seed=self.seed, maxBins=max(bins_needed, self.max_bins), subsamplingRate=self.subsampling_rate,
                    featureSubsetStrategy="all", minInstancesPerNode=self.min_leaf_rows)


def category_arity(train: DataFrame, categorical: tuple[str, ...] | list[str]) -> int:
    """Values of the widest categorical feature once indexed: its distinct values plus the unseen bucket."""
    if not categorical:
        return 0
    row = train.agg(*[F.countDistinct(c).alias(c) for c in categorical]).first()
    return max(int(row[c]) + 2 for c in categorical)
