"""The CLV and churn models: Spark ML pipelines that start from the BTYD baseline.

BTYD -> indexers -> imputer -> (feedback embedding -> PCA) -> assembler ->
a boosted-tree classifier on "no purchase in the horizon" (``p_churn``) and a
boosted-tree regressor on the spend of those who bought (xgboost where it is
installed, else Spark ML's GBTs: ``clv.model.trainer``) -> predicted spend = (1 - p_churn) x spend
-> discounted ``clv_12m``. Optionally the regressor fits log(1 + spend) and
goes back to money with Duan's smearing factor (exp of a log prediction is a
median, not a mean; the mean of exp(residual) puts it back on the mean).

Metrics compare the model with the BTYD baseline on the same held-out
customers: RMSE, MAE, Spearman rank correlation (average ranks for ties:
many customers spend exactly 0) and the share of future value held by the
predicted top 20%. All are computed in Spark, so they work on any number of
customers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import SQLTransformer
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake.clv.stages import OUTPUTS, BuyTillYouDie
from leadlake.config import Conf
from leadlake.ml.features import FeatureSpec, front_end
from leadlake.ml.stages import PositiveProbability
from leadlake.ml.trees import FEATURES, TreeParams, XGBoostSettings, category_arity, classifier, regressor

# Where p_churn can come from: the pipeline's churn classifier, BG/NBD's P(no purchase in the
# horizon), or BG/NBD's 1 - P(alive). "bgnbd" is how runs before not_alive existed name the second.
CHURN_SOURCES = ("gbt", "p_no_purchase", "not_alive")

log = logging.getLogger("leadlake.clv")


@dataclass(frozen=True)
class ClvModelSettings(TreeParams):
    """``clv.model`` in conf."""

    test_share: float
    log_target: bool


@dataclass(frozen=True)
class Horizon:
    """What "lifetime" means: ``clv`` in conf (months ahead, discounting, the BTYD time unit)."""

    horizon_months: int
    discount_rate: float
    time_unit: str

    @property
    def monthly_discount(self) -> float:
        return (1.0 + self.discount_rate) ** (1.0 / 12.0) - 1.0

    @property
    def discount_factor(self) -> float:
        """Present value of spend spread evenly over the horizon's months, per unit of undiscounted spend."""
        d = self.monthly_discount
        return sum((1.0 + d) ** -k for k in range(1, self.horizon_months + 1)) / self.horizon_months


# What score-clv serves as clv_12m: the tree pipeline's answer, or the BTYD baseline inside the same
# pipeline when the trees did not beat it on the held-out customers.
SERVES = ("model", "btyd")


def served_spend(serves: str) -> Column:
    """Undiscounted spend in the horizon as served: the model's, or BTYD's purchases x spend per purchase."""
    if serves == "btyd":
        return F.col("expected_purchases") * F.col("expected_spend")
    return F.col("predicted_spend")


@dataclass(frozen=True)
class ChurnTiers:
    """``clv.churn`` in conf: where p_churn comes from, and the cut-offs of the churn_risk tiers."""

    source: str
    high: float
    medium: float


def churn_probability(source: str) -> Column:
    """The ``p_churn`` column for a champion's churn source, over its pipeline's outputs."""
    if source == "gbt":
        return F.col("p_churn")
    if source == "not_alive":
        return 1 - F.col("p_alive")
    return F.col("p_no_purchase")


@dataclass(frozen=True)
class ClvFeatureSpec(FeatureSpec):
    """The shared spec's columns, with the BTYD outputs assembled after the numeric ones."""

    def names(self) -> list[str]:
        return [*self.categorical, *self.numeric, *OUTPUTS, *self.text_names()]


def fit_clv_model(train: DataFrame, spec: ClvFeatureSpec, conf: Conf) -> PipelineModel:
    """Fitted pipeline adding ``p_churn``, ``predicted_spend`` (net spend in the horizon) and ``clv_12m`` (today).

    A hurdle model: predicted spend = P(buys in the horizon) x E[spend | buys].
    The classifier learns who buys at all, the regressor (fitted on the
    customers who did) how much; one regressor on everyone spends its trees
    on the zeros and ranked customers worse (measured on the demo).
    """
    if train.where(F.col("spend_holdout") > 0).isEmpty() or train.where(F.col("churned") == 1.0).isEmpty():
        raise ValueError("training customers need both: some who bought in the horizon and some who did not")
    m, horizon = conf.section("clv.model", ClvModelSettings), conf.section("clv", Horizon)
    fitting = conf.section("xgboost", XGBoostSettings)
    arity = category_arity(train, spec.categorical)
    btyd = BuyTillYouDie(horizonMonths=horizon.horizon_months, monthlyDiscount=horizon.monthly_discount,
                         timeUnit=horizon.time_unit).fit(train)
    prep = Pipeline(stages=front_end(spec, OUTPUTS)).fit(btyd.transform(train))
    data = prep.transform(btyd.transform(train)).persist()
    try:
        churn = classifier(m, fitting, label_col="churned", bins_needed=arity, prediction_col="_churn_pred",
                           probability_col="_churn_prob", raw_prediction_col="_churn_raw").fit(_fit_set(data, arity))
        buyers = _fit_set(data.where(F.col("spend_holdout") > 0), arity)
        label = F.log1p("spend_holdout") if m.log_target else F.col("spend_holdout")
        spend = regressor(m, fitting, label_col="_label", bins_needed=arity, prediction_col="_pred") \
            .fit(buyers.withColumn("_label", label))
        if m.log_target:
            smear = spend.transform(buyers).agg(F.avg(F.exp(F.log1p("spend_holdout") - F.col("_pred")))).first()[0]
            per_buyer = f"greatest(expm1(_pred) + ({float(smear)} - 1) * exp(_pred), 0)"
        else:
            per_buyer = "greatest(_pred, 0)"
    finally:
        data.unpersist()
    money = f"(1 - p_churn) * {per_buyer}"
    # Discounting applies to the model's answer as to BTYD's: both say what the horizon is worth today.
    back = SQLTransformer(statement=f"SELECT *, {money} AS predicted_spend, {money} * {horizon.discount_factor} "
                                    "AS clv_12m FROM __THIS__")
    return PipelineModel(stages=[btyd, *prep.stages, churn, PositiveProbability(inputCol="_churn_prob",
                                                                                outputCol="p_churn"), spend, back])


def spend_trees(model: PipelineModel):
    """The fitted spend regressor inside a CLV pipeline: the stage before the money arithmetic."""
    return model.stages[-2]


def _fit_set(df: DataFrame, arity: int) -> DataFrame:
    """``df``, with categorical features read as ordered codes when there are fewer rows than categories.

    Spark's trees cap their bins at the number of training rows and then
    refuse a categorical feature with more values than that; a small
    lakehouse (a few dozen buyers) would fail to train at all. Dropping the
    column's ML attributes lets the trees split the codes as numbers instead.
    """
    rows = df.limit(arity).count()
    if rows >= arity:
        return df
    log.warning("only %d training rows for up to %d categories: categorical features split as ordered codes",
                rows, arity)
    return df.withColumn(FEATURES, F.col(FEATURES).alias(FEATURES, metadata={}))


def _average_rank(df: DataFrame, col: str, name: str) -> DataFrame:
    """1-based ranks with ties sharing their mean rank (what Spearman's rho needs)."""
    ranked = df.withColumn("_rn", F.row_number().over(Window.orderBy(F.col(col), F.col("customer_id"))))
    return ranked.withColumn(name, F.avg("_rn").over(Window.partitionBy(F.col(col)))).drop("_rn")


def value_metrics(scored: DataFrame, prediction: str, target: str = "spend_holdout",
                  top_share: float = 0.2) -> dict[str, float]:
    """RMSE, MAE, Spearman, top-``top_share`` capture (and the best possible capture) of ``prediction``."""
    data = scored.select("customer_id", F.col(prediction).cast("double").alias("_p"),
                         F.col(target).cast("double").alias("_y"))
    agg = data.agg(F.count(F.lit(1)).alias("n"), F.sqrt(F.avg((F.col("_p") - F.col("_y")) ** 2)).alias("rmse"),
                   F.avg(F.abs(F.col("_p") - F.col("_y"))).alias("mae"), F.sum("_y").alias("total"),
                   F.avg("_p").alias("mean_pred"), F.avg("_y").alias("mean_actual")).first()
    n, total = int(agg["n"]), float(agg["total"] or 0.0)
    top = max(1, math.ceil(top_share * n))
    by_pred = data.withColumn("_r", F.row_number().over(Window.orderBy(F.desc("_p"), "customer_id")))
    by_true = data.withColumn("_r", F.row_number().over(Window.orderBy(F.desc("_y"), "customer_id")))
    captured = by_pred.where(F.col("_r") <= top).agg(F.sum("_y")).first()[0] or 0.0
    best = by_true.where(F.col("_r") <= top).agg(F.sum("_y")).first()[0] or 0.0
    ranks = _average_rank(_average_rank(data, "_p", "_rp"), "_y", "_ry")
    # Pearson on ranks, written out: F.corr divides by zero under ANSI when every prediction ties.
    m = ranks.agg(F.covar_pop("_rp", "_ry").alias("cov"), F.stddev_pop("_rp").alias("sp"),
                  F.stddev_pop("_ry").alias("sy")).first()
    rho = m["cov"] / (m["sp"] * m["sy"]) if m["sp"] and m["sy"] else 0.0
    return {"rmse": float(agg["rmse"]), "mae": float(agg["mae"]), "spearman": float(rho or 0.0),
            "top20_capture": captured / total if total else 0.0, "top20_capture_best": best / total if total else 0.0,
            "mean_prediction": float(agg["mean_pred"]), "mean_actual": float(agg["mean_actual"]), "n": float(n)}


def decile_table(scored: DataFrame, prediction: str, target: str = "spend_holdout") -> list[tuple[int, float, float]]:
    """(decile by prediction, mean prediction, mean actual): the calibration plot's points."""
    rows = scored.withColumn("_d", F.ntile(10).over(Window.orderBy(F.col(prediction), "customer_id"))) \
        .groupBy("_d").agg(F.avg(prediction).alias("p"), F.avg(target).alias("y")).orderBy("_d").collect()
    return [(int(r["_d"]), float(r["p"]), float(r["y"])) for r in rows]


def split_customers(features: DataFrame, share: float, seed: int) -> DataFrame:
    """A stable hash-based held-out flag: the same customer is always in the same side."""
    bucket = F.abs(F.xxhash64(F.col("customer_id"), F.lit(seed))) % 10_000
    return features.withColumn("_test", bucket < round(share * 10_000))
