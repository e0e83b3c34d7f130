"""Sentiment of customer text: a score in [-1, 1] and a label.

A multinomial logistic regression over the sentence embedding,
trained on real labelled text: a public human-labelled corpus, or the user's
own rated feedback (1-2 stars negative, 3 neutral, 4-5 positive). Without a
trained head, sentiment falls back to zero-shot: similarity of the text to
anchor phrases of each label (weaker; reported as such by ``method``).
``sentiment_score`` is P(positive) - P(negative). The classifier itself is
the shared one of ``leadlake.text.classify``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.ml.store import ModelStore, as_store
from leadlake.text.classify import (
    PROBS,
    Head,
    TextClassifier,
    fit_classifier,
    head_parts,
    head_saved,
    load_classifier,
)
from leadlake.text.encoders import EncoderSpec

log = logging.getLogger("leadlake.needs")

KIND = "sentiment"
LABELS = ("negative", "neutral", "positive")
ANCHORS = {
    "negative": ["This is terrible, I am very disappointed.", "Worst service ever, nobody answered.",
                 "It keeps failing and I am angry about it."],
    "neutral": ["I have a question about my account.", "The meeting is on Tuesday.",
                "Here is the information you asked for."],
    "positive": ["This is great, I love it!", "Excellent support, thank you so much.",
                 "Really happy with the product."],
}
# The same anchors as Chinese customers write them, for the multilingual encoder (which reads both).
ANCHORS_ZH = {
    "negative": ["太差了，非常失望。", "服务太烂了，根本没人理我。", "老是出问题，我很生气。"],
    "neutral": ["我想咨询一下我的账户。", "会议定在周二。", "这是您要的资料。"],
    "positive": ["太棒了，非常喜欢！", "客服非常好，太感谢了。", "对产品很满意。"],
}


def anchors_for(multilingual: bool) -> dict[str, list[str]]:
    """Anchor phrases per label: English, plus Chinese for an encoder that reads both."""
    return {label: [*phrases, *(ANCHORS_ZH[label] if multilingual else [])] for label, phrases in ANCHORS.items()}


def sentiment_model(model_id: str, head: Head | None = None, *,
                    multilingual: bool = False) -> TextClassifier:
    """The sentiment classifier for one encoder (no head: zero-shot anchors)."""
    return TextClassifier(model_id, anchors_for(multilingual), head)


def save_sentiment(model: TextClassifier, models: ModelStore | str | Path) -> str:
    return model.save(models, *head_parts(KIND, model.model_id))


def has_head(models: ModelStore | str | Path, spec: EncoderSpec) -> bool:
    return head_saved(as_store(models), head_parts(KIND, spec.model_id))


def load_sentiment(models: ModelStore | str | Path, spec: EncoderSpec) -> TextClassifier:
    return load_classifier(as_store(models), head_parts(KIND, spec.model_id), spec, anchors_for(spec.multilingual))


def train_sentiment(labelled: DataFrame, spec: EncoderSpec, *, text_col: str = "text", label_col: str = "label",
                    reg: float = 0.01, embedding_col: str | None = None) -> TextClassifier:
    """Fit the head on texts labelled negative / neutral / positive (other labels are ignored).

    Classes weigh the same whatever their counts, so that the sign of
    ``sentiment_score`` is an even-handed positive / negative decision.
    """
    return fit_classifier(labelled, spec, anchors_for(spec.multilingual), text_col=text_col, label_col=label_col,
                          reg=reg, embedding_col=embedding_col, balance_classes=True)


def score_sentiment(df: DataFrame, model: TextClassifier, spec: EncoderSpec, *, text_col: str = "text",
                    embedding_col: str | None = None) -> DataFrame:
    """``df`` with ``sentiment_score`` in [-1, 1] and ``sentiment_label`` (null for empty text)."""
    out = model.classify(df, spec, text_col=text_col, embedding_col=embedding_col, label="sentiment_label",
                         confidence="_sentiment_confidence", keep_probs=True)
    p = F.col(PROBS)
    score = F.round(p.getItem(LABELS.index("positive")) - p.getItem(LABELS.index("negative")), 4)
    return out.withColumn("sentiment_score", score).drop(PROBS, "_sentiment_confidence")


def balanced_polar(labelled: DataFrame, label_col: str = "label", by: str | None = None,
                   text_col: str = "text") -> DataFrame:
    """As many positive as negative rows (per ``by`` group), chosen by a hash of the text: a 50% coin-flip floor."""
    from pyspark.sql import Window

    polar = labelled.where(F.col(label_col).isin("positive", "negative"))
    keys = [by] if by else []
    ranked = polar.withColumn("_r", F.row_number().over(
        Window.partitionBy(*keys, label_col).orderBy(F.xxhash64(text_col), text_col)))
    counts = polar.groupBy(*keys).agg(
        F.least(F.sum((F.col(label_col) == "positive").cast("int")),
                F.sum((F.col(label_col) == "negative").cast("int"))).alias("_n"))
    joined = ranked.join(counts, keys) if keys else ranked.crossJoin(counts)
    return joined.where(F.col("_r") <= F.col("_n")).drop("_r", "_n")


def evaluate_sentiment(labelled: DataFrame, model: TextClassifier, spec: EncoderSpec, *,
                       text_col: str = "text", label_col: str = "label",
                       embedding_col: str | None = None) -> dict[str, float]:
    """Accuracy on labelled text: three-class, and positive vs negative on the polar rows."""
    scored = score_sentiment(labelled.where(F.col(label_col).isin(*LABELS)), model, spec, text_col=text_col,
                             embedding_col=embedding_col)
    row = scored.where(F.col("sentiment_label").isNotNull()).agg(
        F.count(F.lit(1)).alias("n"),
        F.avg((F.col("sentiment_label") == F.col(label_col)).cast("double")).alias("three_class"),
        F.avg(F.when(F.col(label_col) != "neutral",
                     ((F.col("sentiment_score") > 0) == (F.col(label_col) == "positive")).cast("double")))
        .alias("positive_vs_negative"),
    ).first()
    return {"n": float(row["n"]), "three_class": float(row["three_class"] or 0),
            "positive_vs_negative": float(row["positive_vs_negative"] or 0)}
