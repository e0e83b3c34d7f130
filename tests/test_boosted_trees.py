"""The shared boosted-tree stage: fitted on the driver or across Spark tasks, the same trees; saved, the same scores."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import Vectors

from leadlake.ml.trees import TreeParams, XGBoostSettings, classifier, importances, regressor

pytest.importorskip("xgboost", reason="xgboost not installed (pip install 'leadlake[xgboost]')")

TREES = TreeParams(max_iter=25, max_depth=3, step_size=0.2, min_leaf_rows=10, subsampling_rate=1.0, max_bins=32,
                   seed=7, trainer="xgboost")


@pytest.fixture(scope="module")
def rows(spark):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(1500, 4))
    y = (x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=0.7, size=len(x)) > 0).astype(float)
    spend = 100 + 30 * x[:, 2] + rng.normal(scale=5, size=len(x))
    data = [(Vectors.dense(v), float(t), float(s), 2.0 if t else 1.0) for v, t, s in zip(x, y, spend, strict=True)]
    return spark.createDataFrame(data, ["features", "label", "spend", "w"]).repartition(3).cache()


def _column(df, col):
    """Class 1's entry of a vector column."""
    return np.array([r[0] for r in df.select(vector_to_array(col)[1]).collect()])


def test_driver_and_distributed_fits_grow_the_same_trees(rows):
    on_driver = classifier(TREES, XGBoostSettings("cpu", 10_000, 1), label_col="label", weight_col="w").fit(rows)
    across_tasks = classifier(TREES, XGBoostSettings("cpu", 0, 1), label_col="label", weight_col="w").fit(rows)
    p_driver, p_tasks = _column(on_driver.transform(rows), "probability"), _column(across_tasks.transform(rows),
                                                                                    "probability")
    np.testing.assert_allclose(p_driver, p_tasks, atol=1e-5)
    assert 0 < p_driver.min() < 0.2 and 0.8 < p_driver.max() < 1
    raw = _column(on_driver.transform(rows), "rawPrediction")
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), p_driver, atol=1e-6)
    gains = dict(importances(on_driver, ["a", "b", "c", "d"]))
    assert gains["a"] > gains["b"] > max(gains["c"], gains["d"]) and sum(gains.values()) == pytest.approx(1.0)


def test_a_saved_pipeline_scores_the_same_and_a_regressor_fits_spend(rows, tmp_path):
    fitted = Pipeline(stages=[regressor(TREES, XGBoostSettings("cpu", 10_000, 1), label_col="spend",
                                        prediction_col="predicted")]).fit(rows)
    fitted.save(str(tmp_path / "model"))
    loaded = PipelineModel.load(str(tmp_path / "model"))
    before = np.array([r.predicted for r in fitted.transform(rows).select("predicted").collect()])
    after = np.array([r.predicted for r in loaded.transform(rows).select("predicted").collect()])
    truth = np.array([r.spend for r in rows.select("spend").collect()])
    np.testing.assert_array_equal(before, after)
    assert np.corrcoef(before, truth)[0, 1] > 0.9


def test_spark_gbt_is_there_without_xgboost(rows):
    gbt = TreeParams(**{**TREES.__dict__, "trainer": "gbt"})
    model = classifier(gbt, XGBoostSettings("cpu", 10_000, 1), label_col="label").fit(rows)
    assert type(model).__name__ == "GBTClassificationModel"
    with pytest.raises(ValueError, match="trainer must be one of auto, gbt, xgboost, not 'lightgbm'"):
        TreeParams(**{**TREES.__dict__, "trainer": "lightgbm"})
