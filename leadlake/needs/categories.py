"""Need category of a text: what the customer is talking about.

The taxonomy lives in conf (``needs.categories``: label -> describing
phrases), so a team adds its own labels without code. With no labelled
examples the category is zero-shot: the label whose phrases are closest to
the text in embedding space, and ``other`` below ``needs.min_confidence``.
Once a team has labelled examples, a logistic-regression head over the same
embeddings is trained and saved beside the sentiment head, and used instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.ml.classification import LogisticRegressionModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.ml.store import ModelStore, as_store
from leadlake.needs.heads import PROBS, anchor_centroids, best_label, fit_head, with_label_probs
from leadlake.progress import stage
from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec

log = logging.getLogger("leadlake.needs")

OTHER = "other"
_EMB = "_needs_embedding"


@dataclass(frozen=True)
class NeedsModel:
    """The taxonomy and, when trained, the supervised head for one encoder."""

    model_id: str
    categories: Mapping[str, Sequence[str]] = field(hash=False)
    head: LogisticRegressionModel | None = field(default=None, hash=False)
    min_confidence: float = 0.3

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.categories)

    @property
    def method(self) -> str:
        return "supervised" if self.head is not None else "zero-shot"

    def save(self, models: ModelStore | str | Path, *parts: str) -> str:
        """Save the head at ``parts`` of the store (default: the need-category head's place)."""
        if self.head is None:
            raise ValueError("a zero-shot needs model has nothing to save")
        store = as_store(models)
        parts = parts or needs_parts(self.model_id)
        uri = store.save(self.head, *parts)
        store.write_json(list(self.labels), *parts, "labels.json")
        return uri


def taxonomy(conf: Conf, key: str = "needs.categories") -> dict[str, list[str]]:
    categories = conf.get(key) or {}
    if not isinstance(categories, Mapping) or len(categories) < 2:
        raise ConfError(f"{key} must map at least two labels to describing phrases")
    out = {}
    for label, phrases in categories.items():
        if isinstance(phrases, str):
            phrases = [phrases]
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ConfError(f"{key}.{label} needs at least one describing phrase")
        out[str(label)] = list(phrases)
    return out


def needs_parts(model_id: str) -> tuple[str, str]:
    """Where, under a model store, the need-category head for one encoder lives."""
    return "needs", model_id.replace("/", "__")


def load_needs(models: ModelStore | str | Path, spec: EncoderSpec, conf: Conf) -> NeedsModel:
    """The saved head when one was trained for this taxonomy, else zero-shot."""
    return load_classifier(as_store(models), needs_parts(spec.model_id), spec, taxonomy(conf),
                           float(conf.get("needs.min_confidence", 0.3)))


def load_classifier(store: ModelStore, parts: Sequence[str], spec: EncoderSpec,
                    categories: Mapping[str, Sequence[str]], min_confidence: float) -> NeedsModel:
    """A text classifier over embeddings: the head saved at ``parts`` if it has these labels, else zero-shot."""
    if store.exists(*parts, "labels.json"):
        saved = store.read_json(*parts, "labels.json")
        if saved == list(categories):
            return NeedsModel(spec.model_id, categories, store.load(LogisticRegressionModel, *parts),
                              min_confidence)
        log.warning("the head at %s was trained for labels %s, conf now has %s; using zero-shot",
                    store.path(*parts), saved, list(categories))
    return NeedsModel(spec.model_id, categories, None, min_confidence)


def train_needs(labelled: DataFrame, spec: EncoderSpec, categories: Mapping[str, Sequence[str]], *,
                text_col: str = "text", label_col: str = "need_category", reg: float = 0.01) -> NeedsModel:
    """A supervised head from labelled texts; labels outside the taxonomy are ignored."""
    labels = tuple(categories)
    embedded = embed(labelled.where(F.col(label_col).isin(*labels)), text_col, _EMB, spec=spec)
    return NeedsModel(spec.model_id, categories, fit_head(embedded, _EMB, label_col, labels, reg=reg), 0.0)


def train_labelled_head(lh: Lakehouse, conf: Conf, spec: EncoderSpec, *, labels_key: str,
                        categories: Mapping[str, Sequence[str]], label_col: str, store: ModelStore,
                        parts: Sequence[str], what: str) -> tuple[NeedsModel, dict[str, float], str]:
    """Fit a head on the labels table named by ``labels_key`` ({table, text, label}); measure and save it.

    One held-out rule for every head trained from a user's labels: the 20% of
    texts whose hash falls in one bucket of five, so a text is always on the
    same side however often the head is retrained. Returns the model, its
    held-out metrics and where it was saved.
    """
    labels = conf.get(labels_key) or {}
    table = labels.get("table") if isinstance(labels, Mapping) else None
    if not table:
        raise ConfError(f"training the {what} needs {labels_key}: {{table: ..., text: ..., label: ...}} in the conf")
    text_col, source_label = str(labels.get("text", "text")), str(labels.get("label", label_col))
    data = lh.read(table, columns=[text_col, source_label]).select(
        F.col(text_col).alias("text"), F.col(source_label).alias(label_col))
    held = F.abs(F.xxhash64("text")) % 5 == 0
    train, held_out = data.where(~held), data.where(held)
    with stage(log, f"train the {what} on {table}") as st:
        model = train_needs(train, spec, categories, label_col=label_col)
        st.rows = train.count()
    metrics = evaluate_needs(held_out, model, spec, label_col=label_col)
    return model, metrics, model.save(store, *parts)


def classify_with(df: DataFrame, model: NeedsModel, spec: EncoderSpec, *, text_col: str = "text",
                  embedding_col: str | None = None) -> DataFrame:
    """``df`` with ``need_category`` and ``need_confidence`` (both null for empty text)."""
    src = df if embedding_col else embed(df, text_col, _EMB, spec=spec)
    emb = embedding_col or _EMB
    centroids = None if model.head is not None else anchor_centroids(spec, model.categories, model.labels)
    out = with_label_probs(src, emb, head=model.head, centroids=centroids)
    label, confidence = best_label(F.col(PROBS), model.labels)
    out = out.withColumn("need_confidence", F.round(confidence, 4)).withColumn(
        "need_category",
        F.when(F.col("need_confidence") >= model.min_confidence, label).when(F.col(emb).isNotNull(), F.lit(OTHER)),
    )
    return out.drop(PROBS, *([] if embedding_col else [_EMB]))


def evaluate_needs(labelled: DataFrame, model: NeedsModel, spec: EncoderSpec, *, text_col: str = "text",
                   label_col: str = "need_category") -> dict[str, float]:
    """Accuracy and macro-F1 against labelled texts."""
    truth = labelled.select(F.col(text_col).alias("_text"), F.col(label_col).alias("_truth"))
    scored = classify_with(truth, model, spec, text_col="_text").where(F.col("need_category").isNotNull())
    pairs = scored.groupBy(F.col("_truth").alias("truth"), F.col("need_category").alias("pred")).count().collect()
    total = sum(r["count"] for r in pairs)
    correct = sum(r["count"] for r in pairs if r["truth"] == r["pred"])
    f1s = []
    for label in model.labels:
        tp = sum(r["count"] for r in pairs if r["truth"] == label and r["pred"] == label)
        fp = sum(r["count"] for r in pairs if r["truth"] != label and r["pred"] == label)
        fn = sum(r["count"] for r in pairs if r["truth"] == label and r["pred"] != label)
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"n": float(total), "accuracy": correct / total if total else 0.0,
            "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0}
