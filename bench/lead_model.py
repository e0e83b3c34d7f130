"""Lead model: leadlake's Spark GBT vs a single-machine reference, on the same feature table, in one run.

    python bench/lead_model.py [--leads 20000] [--trees 80] [--depth 5]

Generates a demo CRM, builds ``silver.lead_features`` (structured, behaviour and
junk features; no text, so the bench does not time the encoder), splits it by
time, then fits on the same training rows with the same class weights:
leadlake's Spark ML GBT (local mode, all cores) and scikit-learn's
HistGradientBoostingClassifier with the same tree count, depth, learning
rate and minimum rows per leaf (20; no leaf-count cap), and leadlake's
optional ``trainer: xgboost`` stage (SparkXGBClassifier, one training task
using the local cores) where xgboost is installed. Prints fit seconds,
validation ROC-AUC, the time ratios and the AUC differences. Target: AUC
within 0.01 of the reference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from leadlake.config import load_conf
from leadlake.demo import DemoSpec, generate_demo
from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import LeadSchema, build_lead_features
from leadlake.leads.model import FEATURES, LeadModelSettings, _pipeline, feature_spec, time_split, with_class_weights
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
              f"{args.trees} trees of depth {args.depth}, {spark.sparkContext.defaultParallelism} Spark cores")

        cards = [train.select(F.countDistinct(c)).first()[0] for c in spec.categorical]
        pipeline = _pipeline(spec, LeadModelSettings.from_conf(conf), max([32, *[c + 2 for c in cards]]))
        t = time.perf_counter()
        model = pipeline.fit(train)
        spark_fit = time.perf_counter() - t
        scored = model.transform(validate).select("label", vector_to_array("probability")[1].alias("p")).toPandas()
        spark_auc = roc_auc_score(scored["label"], scored["p"])

        prep = PipelineModel(stages=model.stages[:-1])

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

        xgb = None
        try:
            import xgboost  # noqa: F401
        except ImportError:
            print("xgboost not installed: the xgboost trainer is not measured (pip install 'leadlake[xgboost]')")
        else:
            xgb_conf = load_conf(lakehouse=root, overrides={"leads": {"model": {**model_conf, "trainer": "xgboost"}}})
            xgb_pipeline = _pipeline(spec, LeadModelSettings.from_conf(xgb_conf), max([32, *[c + 2 for c in cards]]))
            t = time.perf_counter()
            xgb_model = xgb_pipeline.fit(train)
            xgb_fit = time.perf_counter() - t
            p = xgb_model.transform(validate).select("label", vector_to_array("probability")[1].alias("p")).toPandas()
            xgb = (xgb_fit, roc_auc_score(p["label"], p["p"]))

        print(f"leadlake Spark GBT      fit {spark_fit:7.2f}s   validation ROC-AUC {spark_auc:.4f}")
        if xgb:
            print(f"leadlake xgboost stage  fit {xgb[0]:7.2f}s   validation ROC-AUC {xgb[1]:.4f}")
        print(f"sklearn HistGradBoost   fit {ref_fit:7.2f}s   validation ROC-AUC {ref_auc:.4f}")
        print(f"time ratio Spark GBT/reference {spark_fit / ref_fit:.1f}x; AUC difference {spark_auc - ref_auc:+.4f} "
              f"(target: within 0.01): {'met' if abs(spark_auc - ref_auc) <= 0.01 else 'NOT met'}")
        if xgb:
            print(f"time ratio xgboost stage/reference {xgb[0] / ref_fit:.1f}x, Spark GBT/xgboost stage "
                  f"{spark_fit / xgb[0]:.1f}x; AUC difference {xgb[1] - ref_auc:+.4f}: "
                  f"{'met' if abs(xgb[1] - ref_auc) <= 0.01 else 'NOT met'}")
        spark.stop()


if __name__ == "__main__":
    main()
