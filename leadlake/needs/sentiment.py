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

from pyspark.ml.classification import LogisticRegressionModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.ml.store import ModelStore, as_store
from leadlake.needs.heads import PROBS, anchor_centroids, best_label, fit_head, with_label_probs
from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec

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
_EMB = "_sentiment_embedding"


@dataclass(frozen=True)
class SentimentModel:
    """A trained head for one encoder (``head`` None means zero-shot anchors)."""

    model_id: str
    head: LogisticRegressionModel | None = None

    @property
    def method(self) -> str:
        return "supervised" if self.head is not None else "zero-shot"

    def save(self, models: ModelStore | str | Path) -> str:
        if self.head is None:
            raise ValueError("a zero-shot sentiment model has nothing to save")
        return as_store(models).save(self.head, *head_parts(self.model_id))


def head_parts(model_id: str) -> tuple[str, str]:
    """Where, under a model store, the sentiment head for one encoder lives."""
    return "sentiment", model_id.replace("/", "__")


def has_head(models: ModelStore | str | Path, spec: EncoderSpec) -> bool:
    return as_store(models).exists(*head_parts(spec.model_id), "metadata")


def load_sentiment(models: ModelStore | str | Path, spec: EncoderSpec) -> SentimentModel:
    store, parts = as_store(models), head_parts(spec.model_id)
    if has_head(store, spec):
        return SentimentModel(spec.model_id, store.load(LogisticRegressionModel, *parts))
    log.warning("no trained sentiment head at %s; using zero-shot anchors (less accurate)", store.path(*parts))
    return SentimentModel(spec.model_id)


def train_sentiment(labelled: DataFrame, spec: EncoderSpec, *, text_col: str = "text",
                    label_col: str = "label", reg: float = 0.01) -> SentimentModel:
    """Fit the head on texts labelled negative / neutral / positive (other labels are ignored)."""
    embedded = embed(labelled.where(F.col(label_col).isin(*LABELS)), text_col, _EMB, spec=spec)
    return SentimentModel(spec.model_id, fit_head(embedded, _EMB, label_col, LABELS, reg=reg))


def score_sentiment(df: DataFrame, model: SentimentModel, spec: EncoderSpec, *, text_col: str = "text",
                    embedding_col: str | None = None) -> DataFrame:
    """``df`` with ``sentiment_score`` in [-1, 1] and ``sentiment_label`` (null for empty text)."""
    src = df if embedding_col else embed(df, text_col, _EMB, spec=spec)
    emb = embedding_col or _EMB
    centroids = None if model.head is not None else anchor_centroids(spec, ANCHORS, LABELS)
    out = with_label_probs(src, emb, head=model.head, centroids=centroids)
    p = F.col(PROBS)
    label, _ = best_label(p, LABELS)
    out = out.withColumn("sentiment_score", F.round(p.getItem(2) - p.getItem(0), 4)) \
        .withColumn("sentiment_label", label)
    return out.drop(PROBS, *([] if embedding_col else [_EMB]))


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
