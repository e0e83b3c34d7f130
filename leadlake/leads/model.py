"""The lead conversion model: a Spark ML pipeline ending in a gradient-boosted tree classifier.

indexers -> imputer -> (pooled text embedding -> PCA) -> assembler -> boosted trees,
then Platt calibration (a logistic regression on the trees' log-odds) fitted
on later leads than the trees saw, so ``p_convert`` is a conversion rate one
can plan with. Positives are up-weighted to balance the classes for the trees;
the calibration puts the probabilities back on the real base rate. (Isotonic
regression was tried first: on a few hundred calibration leads it maps the top
bucket to exactly 1.0, a promise no lead keeps.)

The split is by time: the newest labelled leads validate, the newest of the
rest calibrate, the oldest train. Nothing from the future leaks backwards.

The trees are xgboost's histogram trees wherever xgboost is installed
(``leads.model.trainer: auto``, the default; see leadlake/ml/boosting.py: fitted
on the driver with all its cores up to ``xgboost.driver_max_rows`` training
leads, across Spark tasks beyond), else Spark ML's ``GBTClassifier``
(``trainer: gbt``, nothing beyond Spark). Both sit in the same pipeline, so
calibration, reasons, segments and scoring do not change. xgboost is the
default for speed: Spark's GBT runs distributed jobs for every tree level,
which dominates on small and mid-size CRMs (see bench/lead_model.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import SQLTransformer, VectorAssembler
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake.leads.features import LeadSchema
from leadlake.ml.features import FeatureSpec, front_end, text_dimension
from leadlake.ml.stages import PositiveProbability
from leadlake.ml.trees import TreeParams, XGBoostSettings, category_arity, classifier

log = logging.getLogger("leadlake.leads")

# The fitted tree stage of any trainer, found by type name in a loaded pipeline (SparkXGBClassifierModel:
# champions trained with xgboost.spark's own model before leadlake.ml.boosting).
TREE_MODELS = ("GBTClassificationModel", "BoostedTreesModel", "SparkXGBClassifierModel")


@dataclass(frozen=True)
class LeadModelSettings(TreeParams):
    """``leads.model`` in conf."""

    validation_share: float
    calibration_share: float


def feature_spec(features: DataFrame, schema: LeadSchema, *, with_text: bool = True) -> FeatureSpec:
    numeric = [c for c in schema.numeric_features(features) if with_text or not c.startswith("text_")]
    k = schema.text_pca_k if with_text else 0
    text_dim = text_dimension(features, k)
    return FeatureSpec(tuple(schema.categorical_features), tuple(numeric), text_dim, k if text_dim else 0)


def time_split(labelled: DataFrame, validation_share: float, calibration_share: float) -> tuple[DataFrame, ...]:
    """(train, calibrate, validate) by created_at: the newest leads are held out."""
    ranked = labelled.withColumn("_pos", F.percent_rank().over(Window.orderBy("created_at", "lead_id")))
    cut_v = 1.0 - validation_share
    cut_c = cut_v * (1.0 - calibration_share)
    return (ranked.where(F.col("_pos") < cut_c).drop("_pos"),
            ranked.where((F.col("_pos") >= cut_c) & (F.col("_pos") < cut_v)).drop("_pos"),
            ranked.where(F.col("_pos") >= cut_v).drop("_pos"))


def _pipeline(spec: FeatureSpec, m: LeadModelSettings, fitting: XGBoostSettings, bins_needed: int) -> Pipeline:
    """The feature front end, then the trees (any trainer; all read the same depth, count, step and leaf size)."""
    return Pipeline(stages=[*front_end(spec), classifier(m, fitting, label_col="label", weight_col="_weight",
                                                         bins_needed=bins_needed)])


def tree_stage(model: PipelineModel):
    """The fitted trees inside a lead pipeline, whichever trainer fitted them."""
    return next(s for s in model.stages if type(s).__name__ in TREE_MODELS)


def with_class_weights(df: DataFrame) -> DataFrame:
    counts = {r["label"]: r["count"] for r in df.groupBy("label").count().collect()}
    pos, neg = counts.get(1.0, 0), counts.get(0.0, 0)
    if not pos or not neg:
        raise ValueError(f"training leads need both outcomes: {pos} converted, {neg} not converted")
    return df.withColumn("_weight", F.when(F.col("label") == 1.0, neg / pos).otherwise(1.0))


def fit_lead_model(train: DataFrame, calibrate: DataFrame, spec: FeatureSpec, m: LeadModelSettings,
                   fitting: XGBoostSettings) -> PipelineModel:
    """The fitted pipeline; its output column ``p_convert`` is the calibrated probability."""
    fitted = _pipeline(spec, m, fitting, category_arity(train, spec.categorical)).fit(with_class_weights(train))
    uncalibrated = PipelineModel(stages=[
        *fitted.stages, PositiveProbability(inputCol="probability", outputCol="p_raw"),
        SQLTransformer(statement="SELECT *, log(greatest(least(p_raw, 0.999999), 0.000001) / "
                                 "(1 - greatest(least(p_raw, 0.999999), 0.000001))) AS _logit FROM __THIS__"),
        VectorAssembler(inputCols=["_logit"], outputCol="_calib_in"),
    ])
    platt = LogisticRegression(featuresCol="_calib_in", labelCol="label", rawPredictionCol="_calib_raw",
                               probabilityCol="_calib_prob", predictionCol="_calib_pred", regParam=0.0) \
        .fit(uncalibrated.transform(calibrate))
    return PipelineModel(stages=[*uncalibrated.stages, platt,
                                 PositiveProbability(inputCol="_calib_prob", outputCol="p_convert")])


def evaluate(scored: DataFrame) -> dict[str, float]:
    """ROC-AUC, PR-AUC, top-decile conversion and lift, expected calibration error, Brier score."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    data = scored.select("label", F.col("p_convert").cast("double").alias("p"), "p_raw").persist()
    try:
        ev = BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="p_raw")
        roc = ev.setMetricName("areaUnderROC").evaluate(data)
        pr = ev.setMetricName("areaUnderPR").evaluate(data)
        ranked = data.withColumn("_decile", F.ntile(10).over(Window.orderBy(F.desc("p_raw"))))
        base = data.agg(F.avg("label")).first()[0] or 0.0
        top = ranked.where(F.col("_decile") == 1).agg(F.avg("label")).first()[0] or 0.0
        bins = data.withColumn("_bin", F.least(F.floor(F.col("p") * 10), F.lit(9))).groupBy("_bin").agg(
            F.count(F.lit(1)).alias("n"), F.avg("p").alias("p"), F.avg("label").alias("y")).collect()
        n = sum(b["n"] for b in bins)
        ece = sum(b["n"] * abs(b["p"] - b["y"]) for b in bins) / n if n else 0.0
        brier = data.agg(F.avg((F.col("p") - F.col("label")) ** 2)).first()[0]
        return {"roc_auc": roc, "pr_auc": pr, "base_rate": base, "top_decile_rate": top,
                "top_decile_lift": top / base if base else 0.0, "ece": ece, "brier": float(brier), "n": float(n)}
    finally:
        data.unpersist()


def prepared_features(model: PipelineModel, features: DataFrame) -> DataFrame:
    """``features`` through the model's indexing and imputing stages (what segments are fitted on)."""
    stages = []
    for st in model.stages:
        if type(st).__name__ in ("VectorAssembler", "ArrayToVector"):
            break
        stages.append(st)
    return PipelineModel(stages=stages).transform(features)
