"""Gradient-boosted trees, built the same way for every model.

The lead classifier, the churn classifier, the spend regressor and the
uplift classifiers differ in their settings (``leads.model``, ``clv.model``,
``campaigns.model`` in conf), not in how those settings become a Spark ML
estimator. Each section's ``trainer`` picks the implementation: ``auto``
(xgboost where it is installed, fitted as leadlake/ml/boosting.py explains),
``xgboost``, or ``gbt`` (Spark ML's own GBT, nothing beyond Spark). How
xgboost runs (device, rows fitted on the driver, tasks beyond) is one
section for all of them: ``xgboost``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import Estimator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.errors import EnvironmentProblem
from leadlake.ml.boosting import CLASSIFY, REGRESS, BoostedTrees, BoostingParams

FEATURES = "features"
TRAINERS = ("auto", "gbt", "xgboost")


@dataclass(frozen=True)
class XGBoostSettings:
    """``xgboost`` in conf: where xgboost's trees are fitted, for every model that uses them."""

    device: str
    driver_max_rows: int
    num_workers: int


# For library callers without a conf (notebooks calling fit_uplift): CPU, on the driver up to a million rows.
LOCAL_XGBOOST = XGBoostSettings(device="cpu", driver_max_rows=1_000_000, num_workers=1)


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
    trainer: str

    def __post_init__(self) -> None:
        """Refuses what no trainer can fit; the message starts with the field, so conf prefixes its section."""
        if self.trainer.lower() not in TRAINERS:
            raise ValueError(f"trainer must be one of {', '.join(TRAINERS)}, not {self.trainer!r}")

    @property
    def algorithm(self) -> str:
        """The trainer that fits: ``auto`` is xgboost where it is installed, Spark's GBT elsewhere."""
        chosen = self.trainer.lower()
        if chosen != "auto":
            return chosen
        try:
            import xgboost  # noqa: F401
        except ImportError:
            return "gbt"
        return "xgboost"

    def spark_params(self, bins_needed: int = 32) -> dict:
        """Keyword arguments of ``GBTClassifier`` / ``GBTRegressor``.

        ``bins_needed`` is the widest categorical feature's arity: Spark
        refuses to fit when a categorical feature has more values than bins.
        """
        return dict(featuresCol=FEATURES, maxIter=self.max_iter, maxDepth=self.max_depth, stepSize=self.step_size,
                    seed=self.seed, maxBins=max(bins_needed, self.max_bins), subsamplingRate=self.subsampling_rate,
                    featureSubsetStrategy="all", minInstancesPerNode=self.min_leaf_rows)


def classifier(trees: TreeParams, fitting: XGBoostSettings, *, label_col: str, weight_col: str | None = None,
               bins_needed: int = 32, prediction_col: str = "prediction", probability_col: str = "probability",
               raw_prediction_col: str = "rawPrediction") -> Estimator:
    """A binary classifier with Spark ML's output columns, whichever trainer ``trees`` names."""
    outputs = dict(predictionCol=prediction_col, probabilityCol=probability_col, rawPredictionCol=raw_prediction_col)
    if trees.algorithm == "gbt":
        from pyspark.ml.classification import GBTClassifier

        gbt = GBTClassifier(labelCol=label_col, predictionCol=prediction_col, **trees.spark_params(bins_needed)) \
            .setProbabilityCol(probability_col).setRawPredictionCol(raw_prediction_col)
        return gbt.setWeightCol(weight_col) if weight_col else gbt
    # min_child_weight is a hessian sum, not a row count; p(1-p) <= 1/4 per weighted row makes
    # leaf / 4 the closest equivalent of "at least `leaf` rows per leaf" near the decision boundary.
    return _boosted(trees, fitting, CLASSIFY, trees.min_leaf_rows / 4.0, bins_needed, label_col, weight_col,
                    outputs)


def regressor(trees: TreeParams, fitting: XGBoostSettings, *, label_col: str, bins_needed: int = 32,
              prediction_col: str = "prediction") -> Estimator:
    """A squared-error regressor, whichever trainer ``trees`` names."""
    if trees.algorithm == "gbt":
        from pyspark.ml.regression import GBTRegressor

        return GBTRegressor(labelCol=label_col, predictionCol=prediction_col, **trees.spark_params(bins_needed))
    # Squared error's hessian is 1 per row: min_child_weight is the row count.
    return _boosted(trees, fitting, REGRESS, float(trees.min_leaf_rows), bins_needed, label_col, None,
                    dict(predictionCol=prediction_col))


def _boosted(trees: TreeParams, fitting: XGBoostSettings, objective: str, min_child_weight: float, bins_needed: int,
             label_col: str, weight_col: str | None, outputs: dict) -> Estimator:
    try:
        import xgboost  # noqa: F401
    except ImportError:
        raise EnvironmentProblem("trainer is xgboost but the xgboost package is not installed: "
                                 "pip install 'leadlake[xgboost]' (or xgboost on GPU clusters)") from None
    params = BoostingParams(objective, trees.max_iter, trees.max_depth, trees.step_size, trees.subsampling_rate,
                            min_child_weight, max(bins_needed, trees.max_bins), trees.seed, fitting.device)
    return BoostedTrees(params, label_col=label_col, weight_col=weight_col, features_col=FEATURES,
                        driver_max_rows=fitting.driver_max_rows, num_workers=fitting.num_workers, outputs=outputs)


def importances(model, names: list[str]) -> list[tuple[str, float]]:
    """Each feature's share of a fitted tree model's total gain (Spark's GBT reports it normalised;
    xgboost per slot ``f0``, ``f1``, ...)."""
    if hasattr(model, "featureImportances"):
        return list(zip(names, model.featureImportances.toArray().tolist(), strict=False))
    gain = model.get_feature_importances(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    return [(name, gain.get(f"f{i}", 0.0) / total) for i, name in enumerate(names)]


def category_arity(train: DataFrame, categorical: tuple[str, ...] | list[str]) -> int:
    """Values of the widest categorical feature once indexed: its distinct values plus the unseen bucket."""
    if not categorical:
        return 0
    row = train.agg(*[F.countDistinct(c).alias(c) for c in categorical]).first()
    return max(int(row[c]) + 2 for c in categorical)
