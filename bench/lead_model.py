"""Lead model: leadlake's trainers vs a single-machine reference, on the same feature table, in one run.

    python bench/lead_model.py [--leads 20000] [--trees 80] [--depth 5]

Generates a demo CRM, builds ``silver.lead_features`` (structured, behaviour and
junk features; no text, so the bench does not time the encoder), splits it by
time, then fits on the same training rows with the same class weights and the
same tree count, depth, learning rate and minimum rows per leaf (20; no
leaf-count cap): scikit-learn's HistGradientBoostingClassifier (the reference,
all cores), and leadlake's lead pipeline (indexers, imputer, assembler, trees:
the whole ``Pipeline.fit`` is timed, so the trainers carry the front end the
reference is spared) with each trainer: the default (``auto``: xgboost fitted
on the driver where xgboost is installed), Spark ML's GBT, and xgboost across
Spark tasks (``driver_max_rows: 0``). Prints where it ran, fit seconds,
validation ROC-AUC, the time ratios to the reference and the AUC differences.
Targets: the default trainer within 5x the reference's time and 0.005 of its AUC.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import machine
import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from leadlake.config import load_conf
from leadlake.demo import DemoSpec, generate_demo
from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import LeadSchema, build_lead_features
from leadlake.leads.model import LeadModelSettings, _pipeline, feature_spec, time_split, with_class_weights
from leadlake.ml.boosting import driver_cores
from leadlake.ml.trees import FEATURES, XGBoostSettings, category_arity
from leadlake.progress import setup_logging
from leadlake.session import get_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20000)
    parser.add_argument("--trees", type=int, default=80)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--step", type=float, default=0.1)
    parser.add_argument("--bins", type=int, default=32, help="Spark maxBins (sklearn always uses 255)")
    args = parser.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    setup_logging("WARNING")
    with tempfile.TemporaryDirectory() as root:
        model_conf = {"max_iter": args.trees, "max_depth": args.depth, "step_size": args.step, "max_bins": args.bins}
        conf = load_conf(lakehouse=root, overrides={"leads": {"model": model_conf}})
        spark = get_spark(conf)
        lh = Lakehouse(spark, conf)
        generate_demo(lh, DemoSpec(leads=args.leads, seed=21))
        schema = LeadSchema.from_conf(conf)
        lh.write(build_lead_features(lh), "silver.lead_features", mode="overwrite")
        features = lh.read("silver.lead_features")
        spec = feature_spec(features, schema, with_text=False)
        labelled = features.where(F.col("label").isNotNull())
        train, _, validate = time_split(labelled, 0.2, 0.0)
        train = with_class_weights(train).persist()
        validate = validate.persist()
        n_train, n_val = train.count(), validate.count()
        print(f"{args.leads:,} leads: {n_train:,} train, {n_val:,} validation, {len(spec.names())} features; "
              f"{args.trees} trees of depth {args.depth}; {spark.sparkContext.defaultParallelism} Spark cores, "
              f"{driver_cores()} driver cores; {machine.describe()}")

        bins = max(32, category_arity(train, spec.categorical))

        def fit(trainer: str, **xgb) -> tuple[float, float, PipelineModel]:
            run_conf = load_conf(lakehouse=root, overrides={"leads": {"model": {**model_conf, "trainer": trainer}},
                                                            "xgboost": xgb})
            settings = run_conf.section("leads.model", LeadModelSettings)
            t = time.perf_counter()
            model = _pipeline(spec, settings, run_conf.section("xgboost", XGBoostSettings), bins).fit(train)
            seconds = time.perf_counter() - t
            p = model.transform(validate).select("label", vector_to_array("probability")[1].alias("p")).toPandas()
            return seconds, roc_auc_score(p["label"], p["p"]), model

        default = conf.section("leads.model", LeadModelSettings).algorithm
        results = {f"leadlake default ({default})": fit("auto")}
        prep = PipelineModel(stages=results[f"leadlake default ({default})"][2].stages[:-1])

        def matrix(df):
            pdf = prep.transform(df).select(vector_to_array(FEATURES).alias("x"), "label", "_weight").toPandas()
            return np.stack(pdf["x"].to_numpy()), pdf["label"].to_numpy(), pdf["_weight"].to_numpy()

        x_train, y_train, w_train = matrix(train)
        x_val, y_val, _ = matrix(validate.withColumn("_weight", F.lit(1.0)))
        categorical = np.zeros(x_train.shape[1], dtype=bool)
        categorical[: len(spec.categorical)] = True
        reference = HistGradientBoostingClassifier(max_iter=args.trees, max_depth=args.depth,
                                                   learning_rate=args.step, categorical_features=categorical,
                                                   max_leaf_nodes=None, min_samples_leaf=20,
                                                   early_stopping=False, random_state=7)
        t = time.perf_counter()
        reference.fit(x_train, y_train, sample_weight=w_train)
        ref_fit = time.perf_counter() - t
        ref_auc = roc_auc_score(y_val, reference.predict_proba(x_val)[:, 1])

        if default != "gbt":
            results["leadlake Spark GBT"] = fit("gbt")
            results["leadlake xgboost across tasks"] = fit("xgboost", driver_max_rows=0)
        else:
            print("xgboost not installed: only Spark GBT is measured (pip install 'leadlake[xgboost]')")
        print(f"{'sklearn HistGradBoost (reference)':34s} fit {ref_fit:7.2f}s   validation ROC-AUC {ref_auc:.4f}")
        for name, (seconds, auc, _) in results.items():
            print(f"{name:34s} fit {seconds:7.2f}s   validation ROC-AUC {auc:.4f}   "
                  f"{seconds / ref_fit:5.1f}x the reference's time, AUC {auc - ref_auc:+.4f}")
        seconds, auc, _ = next(iter(results.values()))
        print(f"default trainer: {seconds / ref_fit:.1f}x the reference's time (target <= 5x): "
              f"{'met' if seconds <= 5 * ref_fit else 'NOT met'}; AUC {auc - ref_auc:+.4f} (target within 0.005): "
              f"{'met' if abs(auc - ref_auc) <= 0.005 else 'NOT met'}")
        spark.stop()


if __name__ == "__main__":
    main()
