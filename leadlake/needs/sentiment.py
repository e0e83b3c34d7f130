"""Sentiment of customer text: a score in [-1, 1] and a label.

A multinomial logistic regression (Spark ML) over the sentence embedding,
trained on real labelled text: a public human-labelled corpus, or the user's
own rated feedback (1-2 stars negative, 3 neutral, 4-5 positive). Without a
trained head, sentiment falls back to zero-shot: similarity of the text to
anchor phrases of each label (weaker; reported as such by ``method``).
``sentiment_score`` is P(positive) - P(negative).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec, load_encoder

log = logging.getLogger("leadlake.needs")

LABELS = ("negative", "neutral", "positive")
ANCHORS = {
    "negative": ["This is terrible, I am very disappointed.", "Worst service ever, nobody answered.",
                 "It keeps failing and I am angry about it."],
    "neutral": ["I have a question about my account.", "The meeting is on Tuesday.",
                "Here is the information you asked for."],
    "positive": ["This is great, I love it!", "Excellent support, thank you so much.",
                 "Really happy with the product."],
}
_VEC = "_sentiment_features"
_EMB = "_sentiment_embedding"


@dataclass(frozen=True)
class SentimentModel:
    """A trained head for one encoder (``head`` None means zero-shot anchors)."""

    model_id: str
    head: LogisticRegressionModel | None = None

    @property
    def method(self) -> str:
        return "supervised" if self.head is not None else "zero-shot"

    def save(self, folder: str | Path) -> None:
        if self.head is None:
            raise ValueError("a zero-shot sentiment model has nothing to save")
        self.head.write().overwrite().save(str(folder))


def head_dir(models_dir: str | Path, spec: EncoderSpec) -> Path:
    return Path(models_dir) / "sentiment" / spec.model_id.replace("/", "__")


def load_sentiment(models_dir: str | Path, spec: EncoderSpec) -> SentimentModel:
    folder = head_dir(models_dir, spec)
    if (folder / "metadata").exists():
        return SentimentModel(spec.model_id, LogisticRegressionModel.load(str(folder)))
    log.warning("no trained sentiment head at %s; using zero-shot anchors (less accurate)", folder)
    return SentimentModel(spec.model_id)


def _label_index(label: F.Column) -> F.Column:
    out = F.lit(None).cast("double")
    for i, name in enumerate(LABELS):
        out = F.when(label == name, float(i)).otherwise(out)
    return out


def train_sentiment(labelled: DataFrame, spec: EncoderSpec, *, text_col: str = "text",
                    label_col: str = "label", reg: float = 0.01) -> SentimentModel:
    """Fit the head on texts labelled negative / neutral / positive (other labels are ignored)."""
    data = (
        embed(labelled.where(F.col(label_col).isin(*LABELS)), text_col, _EMB, spec=spec)
        .where(F.col(_EMB).isNotNull())
        .select(array_to_vector(_EMB).alias(_VEC), _label_index(F.col(label_col)).alias("label"))
        .persist()
    )
    try:
        lr = LogisticRegression(featuresCol=_VEC, labelCol="label", family="multinomial", regParam=reg,
                                elasticNetParam=0.0, maxIter=100)
        head = lr.fit(data)
    finally:
        data.unpersist()
    return SentimentModel(spec.model_id, head)


def score_sentiment(df: DataFrame, model: SentimentModel, spec: EncoderSpec, *, text_col: str = "text",
                    embedding_col: str | None = None) -> DataFrame:
    """``df`` with ``sentiment_score`` in [-1, 1] and ``sentiment_label`` (null for empty text)."""
    src = df if embedding_col else embed(df, text_col, _EMB, spec=spec)
    emb = embedding_col or _EMB
    if model.head is not None:
        scored = model.head.setFeaturesCol(_VEC).setProbabilityCol("_p").setPredictionCol("_pred") \
            .setRawPredictionCol("_raw").transform(
                src.withColumn(_VEC, F.when(F.col(emb).isNotNull(), array_to_vector(emb))
                               .otherwise(array_to_vector(F.array_repeat(F.lit(0.0), model.head.numFeatures)))))
        probs = vector_to_array("_p")
        out = scored.drop(_VEC, "_raw", "_pred")
    else:
        anchors = _anchor_matrix(spec)
        sims = [F.aggregate(F.zip_with(F.col(emb), F.array(*[F.lit(float(x)) for x in row]), lambda a, b: a * b),
                            F.lit(0.0), lambda acc, x: acc + x) for row in anchors]
        exps = [F.exp(s * 20.0) for s in sims]
        total = exps[0] + exps[1] + exps[2]
        probs = F.array(*[e / total for e in exps])
        out = src.withColumn("_p", F.lit(None))
    out = out.withColumn("_probs", probs)
    p = F.col("_probs")
    best = F.array_position(p, F.array_max(p)).cast("int")
    has = F.col(emb).isNotNull()
    out = out.withColumn("sentiment_score", F.when(has, F.round(p.getItem(2) - p.getItem(0), 4))) \
        .withColumn("sentiment_label", F.when(has, F.element_at(F.array(*[F.lit(x) for x in LABELS]), best)))
    return out.drop("_p", "_probs", *([] if embedding_col else [_EMB]))


def evaluate_sentiment(labelled: DataFrame, model: SentimentModel, spec: EncoderSpec, *,
                       text_col: str = "text", label_col: str = "label") -> dict[str, float]:
    """Accuracy on labelled text: three-class, and positive vs negative on the polar rows."""
    scored = score_sentiment(labelled.where(F.col(label_col).isin(*LABELS)), model, spec, text_col=text_col)
    row = scored.where(F.col("sentiment_label").isNotNull()).agg(
        F.count(F.lit(1)).alias("n"),
        F.avg((F.col("sentiment_label") == F.col(label_col)).cast("double")).alias("three_class"),
        F.avg(F.when(F.col(label_col) != "neutral",
                     ((F.col("sentiment_score") > 0) == (F.col(label_col) == "positive")).cast("double")))
        .alias("positive_vs_negative"),
    ).first()
    return {"n": float(row["n"]), "three_class": float(row["three_class"] or 0),
            "positive_vs_negative": float(row["positive_vs_negative"] or 0)}


def _anchor_matrix(spec: EncoderSpec) -> np.ndarray:
    encode = load_encoder(spec)
    centroids = np.stack([encode(ANCHORS[label]).mean(axis=0) for label in LABELS])
    return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
