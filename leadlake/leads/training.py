"""``train-leads``: features -> time split -> boosted trees with and without text -> MLflow -> champion?

The model without text features is trained and measured beside the real one
in the same MLflow run, so the value of reading what leads write is a number
in every run, not a claim.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import FEATURES_TABLE, LeadSchema, build_lead_features
from leadlake.leads.feedback import SCORE_HISTOGRAM, score_histogram
from leadlake.leads.model import (
    LeadModelSettings,
    evaluate,
    feature_spec,
    fit_lead_model,
    prepared_features,
    time_split,
    tree_stage,
)
from leadlake.leads.reasons import TREES_FILE, is_spark_gbt, trees_document
from leadlake.leads.segments import OUTLIERS_FILE, SEGMENTS_FILE, SEGMENTS_MODEL, fit_segments
from leadlake.ml import tracking
from leadlake.ml.champion import champion_score
from leadlake.ml.trees import XGBoostSettings, importances
from leadlake.progress import stage

log = logging.getLogger("leadlake.leads")


def learnable_lift(auc: float, oracle: float | None) -> float | None:
    """The share of the achievable lift over a coin toss that the model captures: (AUC - 0.5) / (oracle - 0.5)."""
    if oracle is None or oracle <= 0.5:
        return None
    return (auc - 0.5) / (oracle - 0.5)


@dataclass(frozen=True)
class TrainReport:
    run_id: str
    version: str
    promoted: bool
    metrics: dict
    without_text: dict
    champion_auc: float | None
    train_rows: int
    calibration_rows: int
    validation_rows: int
    prior_rate_auc: float = 0.5
    prior_rate_by: str | None = None
    # Where the true conversion probabilities are known (the demo's eval.lead_truth): their ROC-AUC on the
    # same validation leads, the best any model can reach there.
    oracle_auc: float | None = None

    @property
    def learnable_lift(self) -> float | None:
        return learnable_lift(self.metrics["roc_auc"], self.oracle_auc)

    def __str__(self) -> str:
        m, b = self.metrics, self.without_text
        champ = "none" if self.champion_auc is None else f"{self.champion_auc:.4f}"
        share = self.learnable_lift
        prior = f"conversion rate by {self.prior_rate_by}" if self.prior_rate_by else "the overall rate"
        return (f"lead model v{self.version} (run {self.run_id[:8]}): validation ROC-AUC {m['roc_auc']:.4f} "
                f"(without text {b['roc_auc']:.4f}; baseline, {prior}: {self.prior_rate_auc:.4f}), "
                f"PR-AUC {m['pr_auc']:.4f}, top-decile lift "
                f"{m['top_decile_lift']:.2f}x, calibration error {m['ece']:.4f}; "
                f"{self.train_rows:,}/{self.calibration_rows:,}/{self.validation_rows:,} leads train/calibrate/"
                f"validate; champion before {champ}: {'promoted' if self.promoted else 'kept'}"
                + (f"; true probabilities' ROC-AUC {self.oracle_auc:.4f}: the model captures "
                   f"{100 * share:.1f}% of the learnable lift" if share is not None else ""))


def write_features(lh: Lakehouse) -> DataFrame:
    with stage(log, f"lead features -> {FEATURES_TABLE}") as st:
        lh.write(build_lead_features(lh), FEATURES_TABLE, mode="overwrite", overwrite_schema=True)
        st.rows = lh.row_count(FEATURES_TABLE)
    return lh.read(FEATURES_TABLE)


def prior_rate_auc(train: DataFrame, validate: DataFrame, by: str | None) -> float:
    """Validation ROC-AUC of the rule a sales team starts from: each lead gets its segment's past conversion rate.

    The segment is the first categorical feature (the lead source by
    default); segments not seen in training get the overall rate. A model
    that cannot beat this is not worth promoting.
    """
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    overall = train.agg(F.avg("label")).first()[0] or 0.0
    if by is None:
        return 0.5
    rates = train.groupBy(by).agg(F.avg("label").alias("_rate"))
    scored = validate.join(rates, by, "left").select(
        "label", F.coalesce("_rate", F.lit(overall)).cast("double").alias("_rate"))
    return float(BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="_rate").evaluate(scored))


def oracle_auc(lh: Lakehouse, validate: DataFrame, id_col: str) -> float | None:
    """ROC-AUC of the true conversion probabilities on the validation leads, where a demo wrote them.

    Read only to measure: no feature reads ``eval.`` tables.
    """
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    if not lh.exists(catalog.LEAD_TRUTH):
        return None
    truth = lh.read(catalog.LEAD_TRUTH, columns=[id_col, "p_convert_true"])
    known = validate.select(id_col, "label").join(truth, id_col).where(F.col("p_convert_true").isNotNull())
    if known.select("label").distinct().count() < 2:
        return None
    return float(BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="p_convert_true").evaluate(
        known.select("label", F.col("p_convert_true").cast("double"))))


def train_leads(lh: Lakehouse) -> TrainReport:
    conf = lh.conf
    import mlflow

    schema = LeadSchema.from_conf(conf)
    m = conf.section("leads.model", LeadModelSettings)
    fitting = conf.section("xgboost", XGBoostSettings)
    algo = m.algorithm
    features = write_features(lh)
    labelled = features.where(F.col("label").isNotNull()).persist()
    cached = [labelled]
    try:
        cached += [d.persist() for d in time_split(
            labelled, m.validation_share, m.calibration_share)]
        train, calibrate, validate = cached[1:]
        sizes = [d.count() for d in (train, calibrate, validate)]
        spec, plain = feature_spec(features, schema), feature_spec(features, schema, with_text=False)
        with stage(log, f"fit {algo} on {len(spec.names())} features") as st:
            model = fit_lead_model(train, calibrate, spec, m, fitting)
            st.rows = sizes[0]
        with stage(log, f"fit {algo} without text ({len(plain.names())} features)") as st:
            baseline = fit_lead_model(train, calibrate, plain, m, fitting)
            st.rows = sizes[0]
        scored = model.transform(validate).select("label", "p_raw", "p_convert").persist()
        cached.append(scored)
        metrics = evaluate(scored)
        without_text = evaluate(baseline.transform(validate))
        by = schema.categorical_features[0] if schema.categorical_features else None
        prior_auc = prior_rate_auc(train, validate, by)
        oracle = oracle_auc(lh, validate, schema.id)
        name = tracking.registered_name(conf, "leads")
        champion_auc = champion_score(conf, "leads",
                                      lambda champ: evaluate(champ.model.transform(validate))["roc_auc"])
        with mlflow.start_run(run_name="train-leads") as run, stage(log, "log to MLflow"):
            mlflow.log_params({**{f"model.{k}": v for k, v in asdict(m).items()},
                               "trainer": algo,
                               "features": len(spec.names()), "text_pca_k": spec.text_k,
                               "window_days": schema.window_days,
                               "train_rows": sizes[0], "calibration_rows": sizes[1], "validation_rows": sizes[2]})
            mlflow.log_metrics({f"val_{k}": v for k, v in metrics.items()})
            mlflow.log_metrics({f"val_no_text_{k}": v for k, v in without_text.items()})
            mlflow.log_metric("val_prior_rate_roc_auc", prior_auc)
            share = learnable_lift(metrics["roc_auc"], oracle)
            if share is not None:
                mlflow.log_metrics({"val_oracle_roc_auc": oracle, "val_learnable_lift": share})
            mlflow.log_dict({"feature_spec": asdict(spec), "names": spec.names()}, "feature_spec.json")
            if is_spark_gbt(tree_stage(model)):
                mlflow.log_dict(trees_document(tree_stage(model)), TREES_FILE)
            mlflow.log_dict({"p_convert_histogram": score_histogram(scored).tolist()}, SCORE_HISTOGRAM)
            sample = scored.limit(200_000).toPandas()
            tracking.log_classifier_plots(sample["label"].to_numpy(), sample["p_raw"].to_numpy(),
                                          sample["p_convert"].to_numpy(dtype=np.float64),
                                          importances(tree_stage(model), spec.names()))
            info = mlflow.spark.log_model(model, "model", registered_model_name=name,
                                          pip_requirements=tracking.PIP_REQUIREMENTS)
            with stage(log, "lead segments (K-Means)") as st:
                k = int(conf.get("leads.scoring.segments"))
                segments = fit_segments(prepared_features(model, features), k,
                                        outlier_quantile=float(conf.get("leads.scoring.outlier_quantile")))
                mlflow.spark.log_model(segments.model, SEGMENTS_MODEL, pip_requirements=tracking.PIP_REQUIREMENTS)
                mlflow.log_dict({str(i): d for i, d in segments.descriptions.items()}, SEGMENTS_FILE)
                mlflow.log_dict({str(i): d for i, d in segments.outlier_distance.items()}, OUTLIERS_FILE)
                st.rows = k
            version = str(info.registered_model_version)
            if metrics["roc_auc"] <= prior_auc + 1e-9:
                log.warning("lead model v%s (ROC-AUC %.4f) does not beat the prior-rate baseline (%.4f): not promoted",
                            version, metrics["roc_auc"], prior_auc)
                promoted = False
            else:
                promoted = tracking.promote_if_better(name, version, metrics["roc_auc"], champion_auc)
            mlflow.set_tag("promoted", str(promoted))
        return TrainReport(run.info.run_id, version, promoted, metrics, without_text, champion_auc, *sizes,
                           prior_auc, by, oracle)
    finally:
        for d in cached:
            d.unpersist()
