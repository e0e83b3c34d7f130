"""Classifiers over sentence embeddings, shared by sentiment and need categories.

Two ways to turn a vector into label probabilities, chosen by what the user
has: a Spark ML logistic-regression head when labelled examples exist, else
zero-shot, a softmax over the cosine similarity of the text to a few anchor
phrases per label (the labels' own descriptions, from code or conf). Both are
pure column expressions or Spark ML transforms, so they run wherever the
DataFrame lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from leadlake.text.encoders import EncoderSpec, load_encoder

FEATURES = "_head_features"
PROBS = "_label_probs"


def anchor_centroids(spec: EncoderSpec, anchors: Mapping[str, Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """One unit vector per label: the mean embedding of its anchor phrases."""
    missing = [label for label in labels if not anchors.get(label)]
    if missing:
        raise ValueError(f"no anchor phrases for label(s) {', '.join(missing)}")
    encode = _spark_nlp_encoder(spec) if spec.engine == "spark-nlp" else load_encoder(spec)
    centroids = np.stack([encode(list(anchors[label])).mean(axis=0) for label in labels])
    return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)


def _spark_nlp_encoder(spec: EncoderSpec):
    """Anchors embedded by Spark NLP itself, so centroids and texts come from the same engine.

    Spark NLP runs in the JVM, not in a Python worker, so the anchors (a few
    dozen phrases) go through a small DataFrame on the active session.
    """
    from pyspark.sql import SparkSession

    from leadlake.text import embed

    def encode(texts: list[str]) -> np.ndarray:
        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError("text.engine spark-nlp embeds anchor phrases on the active SparkSession; none is active")
        df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, text string")
        rows = embed(df, "text", "_v", spec=spec).orderBy("i").select("_v").collect()
        return np.asarray([r["_v"] for r in rows], dtype=np.float32)

    return encode


def zero_shot_probs(emb: Column, centroids: np.ndarray, temperature: float = 20.0) -> Column:
    """Softmax over cosine similarities; embeddings are already unit length, so a dot product is the cosine.

    A vectorised pandas UDF (one matrix product per Arrow batch): the same
    sum written as Spark higher-order functions over 384 literals per label
    is interpreted element by element and ran 11-18x slower.
    """
    matrix = np.asarray(centroids, dtype=np.float64) * float(temperature)

    @pandas_udf(T.ArrayType(T.DoubleType()))
    def softmax_of_cosines(vectors: pd.Series) -> pd.Series:
        present = np.flatnonzero(vectors.notna().to_numpy())
        out: list[np.ndarray | None] = [None] * len(vectors)
        if len(present):
            logits = np.stack(vectors.iloc[present].to_numpy()).astype(np.float64) @ matrix.T
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            for i, row in zip(present, probs, strict=True):
                out[i] = row
        return pd.Series(out, dtype=object)

    return softmax_of_cosines(emb)


def with_label_probs(df: DataFrame, emb_col: str, *, head: LogisticRegressionModel | None = None,
                     centroids: np.ndarray | None = None, temperature: float = 20.0) -> DataFrame:
    """``df`` plus ``_label_probs`` (array<double>, one per label; null where the embedding is null)."""
    has = F.col(emb_col).isNotNull()
    if head is not None:
        zeros = array_to_vector(F.array_repeat(F.lit(0.0), head.numFeatures))
        scored = head.copy().setFeaturesCol(FEATURES).setProbabilityCol("_p").setPredictionCol("_pred") \
            .setRawPredictionCol("_raw").transform(
                df.withColumn(FEATURES, F.when(has, array_to_vector(emb_col)).otherwise(zeros)))
        return scored.withColumn(PROBS, F.when(has, vector_to_array("_p"))).drop(FEATURES, "_raw", "_pred", "_p")
    if centroids is None:
        raise ValueError("a head or anchor centroids are needed")
    return df.withColumn(PROBS, F.when(has, zero_shot_probs(F.col(emb_col), centroids, temperature)))


def best_label(probs: Column, labels: Sequence[str]) -> tuple[Column, Column]:
    """(label with the highest probability, that probability)."""
    top = F.array_max(probs)
    position = F.array_position(probs, top).cast("int")
    label = F.when(probs.isNotNull(), F.element_at(F.array(*[F.lit(x) for x in labels]), position))
    return label, top


def label_index(label: Column, labels: Sequence[str]) -> Column:
    out = F.lit(None).cast("double")
    for i, name in enumerate(labels):
        out = F.when(label == name, float(i)).otherwise(out)
    return out


def fit_head(embedded: DataFrame, emb_col: str, label_col: str, labels: Sequence[str], *,
             reg: float = 0.01) -> LogisticRegressionModel:
    """Multinomial logistic regression from embedding to label index (rows with other labels are ignored)."""
    data = (
        embedded.where(F.col(emb_col).isNotNull() & F.col(label_col).isin(*labels))
        .select(array_to_vector(emb_col).alias(FEATURES), label_index(F.col(label_col), labels).alias("label"))
        .persist()
    )
    try:
        if data.select("label").distinct().count() < 2:
            raise ValueError(f"labelled examples cover fewer than two of the labels {', '.join(labels)}")
        lr = LogisticRegression(featuresCol=FEATURES, labelCol="label", family="multinomial", regParam=reg,
                                elasticNetParam=0.0, maxIter=100)
        return lr.fit(data)
    finally:
        data.unpersist()
