"""Uplift: how much a campaign changes a person's chance to respond, learned from a randomised past campaign.

A response model ranks people who would buy anyway at the top. Uplift
models rank people by the *difference* the treatment makes, which can only
be learned from contacts where the treatment was randomised (a treated
group and a control group). Two estimators, both boosted-tree classifiers
(``campaigns.model.trainer``) over the shared feature front end (string columns indexed, numbers imputed):

- ``t_learner``: one classifier on the treated, one on the control group;
  uplift = p_treated - p_control.
- ``class_transformation``: one classifier on Z = 1 when (treated and
  responded) or (control and did not respond), with each group weighted as
  if half the people were treated; uplift = 2 P(Z=1) - 1 (Jaskowski and
  Jaroszewicz, 2012). It gives no p_treated / p_control of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from leadlake.ml.features import FeatureSpec, front_end
from leadlake.ml.stages import PositiveProbability
from leadlake.ml.trees import LOCAL_XGBOOST, TreeParams, XGBoostSettings, category_arity, classifier

METHODS = ("t_learner", "class_transformation")
DEFAULT_TREES = TreeParams(max_iter=30, max_depth=3, step_size=0.1, min_leaf_rows=20, subsampling_rate=0.8,
                           max_bins=32, seed=7, trainer="auto")


def feature_spec(df: DataFrame, feature_cols: list[str] | tuple[str, ...]) -> FeatureSpec:
    """String and boolean columns are categorical, numbers numeric; anything else is refused by name."""
    missing = [c for c in feature_cols if c not in df.columns]
    if missing:
        raise ValueError(f"feature columns not in the data: {', '.join(missing)}")
    types = dict(df.dtypes)
    cat = tuple(c for c in feature_cols if types[c] in ("string", "boolean"))
    num = tuple(c for c in feature_cols if isinstance(df.schema[c].dataType, T.NumericType))
    other = [c for c in feature_cols if c not in cat and c not in num]
    if other:
        raise ValueError(f"feature columns must be strings, booleans or numbers: {', '.join(other)}")
    return FeatureSpec(cat, num, 0, 0)


def _prepared(df: DataFrame, spec: FeatureSpec) -> DataFrame:
    return df.select("*", *[F.col(c).cast("string").alias(f"{c}__s") for c in spec.categorical])


def _classifier(spec: FeatureSpec, label: str, out: str, trees: TreeParams, run: XGBoostSettings, arity: int,
                weight: str | None = None) -> Pipeline:
    strings = FeatureSpec(tuple(f"{c}__s" for c in spec.categorical), spec.numeric, 0, 0)
    fit = classifier(trees, run, label_col=label, weight_col=weight, bins_needed=arity, prediction_col=f"_pred_{out}",
                     probability_col=f"_prob_{out}", raw_prediction_col=f"_raw_{out}")
    return Pipeline(stages=[*front_end(strings), fit, PositiveProbability(inputCol=f"_prob_{out}", outputCol=out)])


@dataclass
class UpliftModel:
    """A fitted uplift model; ``transform`` adds ``uplift`` (and ``p_treated`` / ``p_control`` for a T-learner)."""

    method: str
    spec: FeatureSpec
    models: dict[str, PipelineModel] = field(default_factory=dict)

    def transform(self, df: DataFrame) -> DataFrame:
        keep = df.columns
        data = _prepared(self.spec.align(df), self.spec)
        if self.method == "t_learner":
            for arm in ("p_treated", "p_control"):
                data = self.models[arm].transform(data).select(*data.columns, arm)
            uplift = F.col("p_treated") - F.col("p_control")
            return data.select(*keep, "p_treated", "p_control", uplift.alias("uplift"))
        scored = self.models["z"].transform(data)
        return scored.select(*keep, F.lit(None).cast("double").alias("p_treated"),
                             F.lit(None).cast("double").alias("p_control"), (2 * F.col("p_z") - 1).alias("uplift"))


def fit_uplift(df: DataFrame, treatment_col: str, outcome_col: str, feature_cols: list[str] | tuple[str, ...],
               method: str = "t_learner", trees: TreeParams = DEFAULT_TREES,
               xgboost: XGBoostSettings = LOCAL_XGBOOST) -> UpliftModel:
    """Fit an uplift model on contacts of a randomised campaign (treatment and outcome are booleans or 0/1)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    for col in (treatment_col, outcome_col):
        if col not in df.columns:
            raise ValueError(f"no column {col!r} in the data (columns: {', '.join(df.columns)})")
    spec = feature_spec(df, feature_cols)
    data = _prepared(df, spec).select(
        "*", F.col(treatment_col).cast("double").alias("_t"), F.col(outcome_col).cast("double").alias("_y")
    ).where(F.col("_t").isNotNull() & F.col("_y").isNotNull()).persist()
    try:
        counts = {int(r["_t"]): int(r["count"]) for r in data.groupBy("_t").count().collect()}
        if counts.get(1, 0) == 0 or counts.get(0, 0) == 0:
            raise ValueError("uplift needs both a treated and a control group; "
                             f"got {counts.get(1, 0)} treated and {counts.get(0, 0)} control rows")
        arity = category_arity(data, [f"{c}__s" for c in spec.categorical])
        if method == "t_learner":
            models = {arm: _classifier(spec, "_y", arm, trees, xgboost, arity).fit(data.where(F.col("_t") == flag))
                      for arm, flag in (("p_treated", 1.0), ("p_control", 0.0))}
        else:
            e = counts[1] / (counts[0] + counts[1])
            z = data.select("*", (F.col("_t") * F.col("_y") + (1 - F.col("_t")) * (1 - F.col("_y"))).alias("_z"),
                            F.when(F.col("_t") == 1, 0.5 / e).otherwise(0.5 / (1 - e)).alias("_w"))
            models = {"z": _classifier(spec, "_z", "p_z", trees, xgboost, arity, "_w").fit(z)}
        return UpliftModel(method, spec, models)
    finally:
        data.unpersist()
