"""The lead conversion model: a Spark ML pipeline ending in a gradient-boosted tree classifier.

indexers -> imputer -> (pooled text embedding -> PCA) -> assembler -> GBT,
then Platt calibration (a logistic regression on the trees' log-odds) fitted
on later leads than the trees saw, so ``p_convert`` is a conversion rate one
can plan with. Positives are up-weighted to balance the classes for the trees;
the calibration puts the probabilities back on the real base rate. (Isotonic
regression was tried first: on a few hundred calibration leads it maps the top
bucket to exactly 1.0, a promise no lead keeps.)

The split is by time: the newest labelled leads validate, the newest of the
rest calibrate, the oldest train. Nothing from the future leaks backwards.

The trees are Spark ML's ``GBTClassifier`` unless ``leads.model.trainer`` is
``xgboost``: then ``xgboost.spark.SparkXGBClassifier`` (histogram trees, one
training task per worker, CUDA with ``xgboost.device: cuda``) takes its place
in the same pipeline, so calibration, reasons, segments and scoring do not
change. It exists for speed: Spark's GBT runs one distributed job per tree
level, which dominates on small and mid-size CRMs (see bench/lead_model.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import PCA, Imputer, SQLTransformer, StringIndexer, VectorAssembler
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.errors import ConfError, EnvironmentProblem
from leadlake.leads.features import LeadSchema
from leadlake.leads.stages import ArrayToVector, PositiveProbability

log = logging.getLogger("leadlake.leads")

FEATURES = "features"
TRAINERS = ("gbt", "xgboost")
# The fitted tree stage of either trainer, found by type name in a loaded pipeline.
TREE_MODELS = ("GBTClassificationModel", "SparkXGBClassifierModel")


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model was trained on; scoring needs the same."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    text_dim: int
    text_k: int

    @property
    def uses_text(self) -> bool:
        return self.text_k > 0 and self.text_dim > 0

    def names(self) -> list[str]:
        """Assembled vector slots, in order: what tree splits and reasons refer to."""
        text = [f"text_pc{i + 1}" for i in range(self.text_k)] if self.uses_text else []
        return [*self.categorical, *self.numeric, *text]


def feature_spec(features: DataFrame, schema: LeadSchema, *, with_text: bool = True) -> FeatureSpec:
    numeric = [c for c in schema.numeric_features(features) if with_text or not c.startswith("text_")]
    text_dim = 0
    if with_text and "text_embedding" in features.columns and schema.text_pca_k > 0:
        row = features.where(F.col("text_embedding").isNotNull()).select(F.size("text_embedding")).first()
        text_dim = int(row[0]) if row else 0
    return FeatureSpec(tuple(schema.categorical_features), tuple(numeric), text_dim,
                       schema.text_pca_k if text_dim else 0)


def time_split(labelled: DataFrame, validation_share: float, calibration_share: float) -> tuple[DataFrame, ...]:
    """(train, calibrate, validate) by created_at: the newest leads are held out."""
    ranked = labelled.withColumn("_pos", F.percent_rank().over(Window.orderBy("created_at", "lead_id")))
    cut_v = 1.0 - validation_share
    cut_c = cut_v * (1.0 - calibration_share)
    return (ranked.where(F.col("_pos") < cut_c).drop("_pos"),
            ranked.where((F.col("_pos") >= cut_c) & (F.col("_pos") < cut_v)).drop("_pos"),
            ranked.where(F.col("_pos") >= cut_v).drop("_pos"))


def _pipeline(spec: FeatureSpec, conf: Conf, max_bins: int) -> Pipeline:
    m = conf.get("leads.model") or {}
    idx = [f"{c}__idx" for c in spec.categorical]
    imputed = [f"{c}__imp" for c in spec.numeric]
    stages = []
    if spec.categorical:
        stages.append(StringIndexer(inputCols=list(spec.categorical), outputCols=idx, handleInvalid="keep",
                                    stringOrderType="frequencyDesc"))
    if spec.numeric:
        stages.append(Imputer(inputCols=list(spec.numeric), outputCols=imputed, strategy="median"))
    inputs = idx + imputed
    if spec.uses_text:
        stages += [ArrayToVector(inputCol="text_embedding", outputCol="_text_vec", size=spec.text_dim),
                   PCA(k=spec.text_k, inputCol="_text_vec", outputCol="_text_pca")]
        inputs.append("_text_pca")
    stages.append(VectorAssembler(inputCols=inputs, outputCol=FEATURES, handleInvalid="keep"))
    stages.append(_trees(m, max_bins))
    return Pipeline(stages=stages)


def trainer(m: dict) -> str:
    name = str(m.get("trainer") or "gbt").lower()
    if name not in TRAINERS:
        raise ConfError(f"leads.model.trainer must be one of {', '.join(TRAINERS)}, not {name!r}")
    return name


def _trees(m: dict, max_bins: int):
    """The tree ensemble stage; both trainers read the same depth, tree count, step and leaf-size settings."""
    depth, trees, step = int(m.get("max_depth", 5)), int(m.get("max_iter", 80)), float(m.get("step_size", 0.1))
    leaf, seed = int(m.get("min_leaf_rows", 20)), int(m.get("seed", 7))
    subsample, bins = float(m.get("subsampling_rate", 1.0)), max(max_bins, int(m.get("max_bins", 32)))
    if trainer(m) == "gbt":
        return GBTClassifier(featuresCol=FEATURES, labelCol="label", weightCol="_weight", maxIter=trees,
                             maxDepth=depth, stepSize=step, seed=seed, maxBins=bins,
                             subsamplingRate=subsample, featureSubsetStrategy="all", minInstancesPerNode=leaf)
    try:
        from xgboost.spark import SparkXGBClassifier
    except ImportError:
        raise EnvironmentProblem("leads.model.trainer is xgboost but the xgboost package is not installed: "
                                 "pip install 'leadlake[xgboost]' (or xgboost on GPU clusters)") from None
    x = m.get("xgboost") or {}
    # min_child_weight is a hessian sum, not a row count; p(1-p) <= 1/4 per weighted row makes
    # leaf / 4 the closest equivalent of "at least `leaf` leads per leaf" near the decision boundary.
    return SparkXGBClassifier(features_col=FEATURES, label_col="label", weight_col="_weight", n_estimators=trees,
                              max_depth=depth, learning_rate=step, subsample=subsample, random_state=seed,
                              min_child_weight=leaf / 4.0, max_bin=bins,
                              tree_method="hist", device=str(x.get("device", "cpu")),
                              num_workers=int(x.get("num_workers", 1)), verbosity=0)


def tree_stage(model: PipelineModel):
    """The fitted trees inside a lead pipeline, whichever trainer fitted them."""
    return next(s for s in model.stages if type(s).__name__ in TREE_MODELS)


def with_class_weights(df: DataFrame) -> DataFrame:
    counts = {r["label"]: r["count"] for r in df.groupBy("label").count().collect()}
    pos, neg = counts.get(1.0, 0), counts.get(0.0, 0)
    if not pos or not neg:
        raise ValueError(f"training leads need both outcomes: {pos} converted, {neg} not converted")
    return df.withColumn("_weight", F.when(F.col("label") == 1.0, neg / pos).otherwise(1.0))


def fit_lead_model(train: DataFrame, calibrate: DataFrame, spec: FeatureSpec, conf: Conf) -> PipelineModel:
    """The fitted pipeline; its output column ``p_convert`` is the calibrated probability."""
    cards = [train.select(F.countDistinct(c)).first()[0] for c in spec.categorical]
    max_bins = max([32, *[c + 2 for c in cards]])
    fitted = _pipeline(spec, conf, max_bins).fit(with_class_weights(train))
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
