"""Boosted trees fitted where the rows fit, scored by the executors like any Spark ML model.

Spark ML's GBT runs distributed jobs for every level of every tree (80 trees
of depth 5: hundreds of jobs at a fixed ~0.1 s each, whatever the rows), so
on the CRMs most teams have (up to a million or so training rows) it spends
its time scheduling, not learning: 27-56x slower than single-node histogram
boosting on the same rows (bench/lead_model.py). Those rows fit in a
driver's memory many times over. So this estimator collects them and fits
xgboost's histogram trees there with every core, and only past
``driver_max_rows`` fits the same trees across ``num_workers`` Spark tasks
(xgboost.spark). ``xgboost.spark``'s own model is not used for scoring: it
reads the SparkContext, which a Spark Connect client does not have. The
fitted model here keeps its booster as a param, so it saves, loads and
scores through a Connect session like every other Python stage, in
``predict_batch_udf`` batches on the executors.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass

import numpy as np
from pyspark.ml import Estimator, Model
from pyspark.ml.functions import array_to_vector, predict_batch_udf, vector_to_array
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasFeaturesCol, HasPredictionCol, HasProbabilityCol, HasRawPredictionCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

log = logging.getLogger("leadlake.ml")

CLASSIFY = "binary:logistic"
REGRESS = "reg:squarederror"
# Rows per model call when scoring: large enough that the Python call is noise next to the trees.
SCORE_BATCH = 4096


@dataclass(frozen=True)
class BoostingParams:
    """What the trees are; the same whether they are fitted on the driver or across tasks."""

    objective: str
    n_trees: int
    max_depth: int
    learning_rate: float
    subsample: float
    min_child_weight: float
    max_bin: int
    seed: int
    device: str = "cpu"

    def native(self, threads: int) -> dict:
        """xgboost.train's parameters."""
        return {"objective": self.objective, "max_depth": self.max_depth, "eta": self.learning_rate,
                "subsample": self.subsample, "min_child_weight": self.min_child_weight, "max_bin": self.max_bin,
                "seed": self.seed, "tree_method": "hist", "device": self.device, "nthread": threads,
                "verbosity": 0}


def driver_cores() -> int:
    """Cores this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class BoostedTrees(Estimator, HasFeaturesCol):
    """Fits xgboost trees on ``featuresCol`` / ``label_col`` (rows weighted by ``weight_col`` when given)."""

    def __init__(self, params: BoostingParams, *, label_col: str, weight_col: str | None = None,
                 features_col: str = "features", driver_max_rows: int = 1_000_000, num_workers: int = 1,
                 outputs: dict[str, str] | None = None) -> None:
        """``outputs``: the model's output column params (predictionCol, probabilityCol, rawPredictionCol)."""
        super().__init__()
        self.params_ = params
        self.label_col, self.weight_col = label_col, weight_col
        self.driver_max_rows, self.num_workers = driver_max_rows, num_workers
        self.outputs = dict(outputs or {})
        self._set(featuresCol=features_col)

    def _fit(self, dataset: DataFrame) -> BoostedTreesModel:
        cols = [vector_to_array(F.col(self.getFeaturesCol()), "float32").alias("x"),
                F.col(self.label_col).cast("float").alias("y")]
        if self.weight_col:
            cols.append(F.col(self.weight_col).cast("float").alias("w"))
        # Cached so that counting and collecting run the pipeline's front end once, not twice.
        rows = dataset.select(*cols).persist()
        try:
            n = rows.count()
            if n <= self.driver_max_rows:
                booster = self._fit_on_driver(rows.toPandas())
        finally:
            rows.unpersist()
        if n > self.driver_max_rows:
            log.info("%s training rows > driver_max_rows (%s): xgboost across %d Spark tasks",
                     f"{n:,}", f"{self.driver_max_rows:,}", self.num_workers)
            booster = self._fit_distributed(dataset)
        model = BoostedTreesModel(booster=base64.b64encode(booster.save_raw("ubj")).decode("ascii"),
                                  objective=self.params_.objective, featuresCol=self.getFeaturesCol())
        return model._set(**self.outputs)

    def _fit_on_driver(self, rows):
        import xgboost

        if rows.empty:
            raise ValueError("no training rows to fit the trees on")
        x = np.stack(rows["x"].to_numpy())
        matrix = xgboost.DMatrix(x, label=rows["y"].to_numpy(), missing=np.nan, nthread=driver_cores(),
                                 weight=rows["w"].to_numpy() if self.weight_col else None)
        return xgboost.train(self.params_.native(driver_cores()), matrix, num_boost_round=self.params_.n_trees)

    def _fit_distributed(self, dataset: DataFrame):
        from xgboost.spark import SparkXGBClassifier, SparkXGBRegressor

        p = self.params_
        cls = SparkXGBClassifier if p.objective == CLASSIFY else SparkXGBRegressor
        weight = {"weight_col": self.weight_col} if self.weight_col else {}
        fitted = cls(features_col=self.getFeaturesCol(), label_col=self.label_col, n_estimators=p.n_trees,
                     max_depth=p.max_depth, learning_rate=p.learning_rate, subsample=p.subsample,
                     random_state=p.seed, min_child_weight=p.min_child_weight, max_bin=p.max_bin,
                     tree_method="hist", device=p.device, num_workers=self.num_workers, verbosity=0,
                     verbose=False, **weight).fit(dataset)
        return fitted.get_booster()


class BoostedTreesModel(Model, HasFeaturesCol, HasPredictionCol, HasRawPredictionCol, HasProbabilityCol,
                        DefaultParamsReadable, DefaultParamsWritable):
    """Scores with the fitted booster. A classifier adds Spark ML's rawPrediction ([-margin, margin]),
    probability and prediction columns, so calibration and reasons read it like Spark's own GBT."""

    booster = Param(Params._dummy(), "booster", "the fitted xgboost booster, UBJSON in base64",
                    typeConverter=TypeConverters.toString)
    objective = Param(Params._dummy(), "objective", "xgboost objective", typeConverter=TypeConverters.toString)

    def __init__(self, *, booster: str = "", objective: str = CLASSIFY, featuresCol: str = "features") -> None:
        super().__init__()
        self._setDefault(booster="", objective=CLASSIFY)
        self._set(booster=booster, objective=objective, featuresCol=featuresCol)
        self._loaded = None

    def get_booster(self):
        """The xgboost Booster (TreeSHAP reasons and gain importances read it)."""
        if self._loaded is None:
            self._loaded = _booster(self.getOrDefault(self.booster))
        return self._loaded

    def get_feature_importances(self, importance_type: str = "total_gain") -> dict[str, float]:
        """Per feature slot (``f0``, ``f1``, ...), as xgboost reports it."""
        return self.get_booster().get_score(importance_type=importance_type)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        encoded = self.getOrDefault(self.booster)
        width = self.get_booster().num_features()

        def make_predict():
            booster = _booster(encoded)
            booster.set_param({"nthread": 1})

            def margin(x: np.ndarray) -> np.ndarray:
                return booster.inplace_predict(x.astype(np.float32, copy=False), predict_type="margin",
                                               missing=np.nan).astype(np.float64)

            return margin

        score = predict_batch_udf(make_predict, return_type=T.DoubleType(), batch_size=SCORE_BATCH,
                                  input_tensor_shapes=[[width]])
        margin = "_boosted_margin"
        out = dataset.withColumn(margin, score(vector_to_array(F.col(self.getFeaturesCol()), "float32")))
        if self.getOrDefault(self.objective) != CLASSIFY:
            return out.withColumn(self.getPredictionCol(), F.col(margin)).drop(margin)
        m, p = F.col(margin), 1.0 / (1.0 + F.exp(-F.col(margin)))
        return (out.withColumn(self.getRawPredictionCol(), array_to_vector(F.array(-m, m)))
                .withColumn(self.getProbabilityCol(), array_to_vector(F.array(1.0 - p, p)))
                .withColumn(self.getPredictionCol(), (m > 0).cast("double"))
                .drop(margin))


def _booster(encoded: str):
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(base64.b64decode(encoded)))
    return booster
