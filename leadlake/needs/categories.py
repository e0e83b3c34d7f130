"""Need category of a text: what the customer is talking about.

The taxonomy lives in conf (``needs.categories``: label -> describing
phrases), so a team adds its own labels without code. With no labelled
examples the category is zero-shot: the label whose phrases are closest to
the text in embedding space, and ``other`` below ``needs.min_confidence``.
Once a team has labelled examples, a logistic-regression head over the same
embeddings is trained and saved beside the sentiment head, and used instead.
The classifier itself is the shared one of ``leadlake.text.classify``.

Out of the box, for the default taxonomy, the head is fitted on the labelled
customer messages shipped in ``data/need_messages.tsv`` (hand-written for
eight channels, from e-mails to forum posts, none from the demo) plus the
taxonomy's own phrases: anchors alone confuse a complaint about a missing
feature with one about the interface, a few hundred examples do not.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame

from leadlake.config import Conf
from leadlake.ml.store import ModelStore, as_store
from leadlake.text.classify import (
    Head,
    TextClassifier,
    anchors_from_conf,
    driver_vectors,
    evaluate_classifier,
    fit_classifier,
    fit_head,
    head_parts,
    head_saved,
    load_classifier,
)
from leadlake.text.encoders import EncoderSpec

KIND = "needs"
OTHER = "other"
EXAMPLES = "data/need_messages.tsv"


def taxonomy(conf: Conf, *, multilingual: bool = False) -> dict[str, list[str]]:
    """Label -> describing phrases; for the multilingual encoder, with ``needs.multilingual_phrases`` added."""
    return anchors_from_conf(conf, "needs.categories", multilingual=multilingual)


def save_needs(model: TextClassifier, models: ModelStore | str | Path) -> str:
    return model.save(models, *head_parts(KIND, model.model_id))


@dataclass(frozen=True)
class NeedExample:
    source: str
    need_category: str
    text: str


def need_examples() -> list[NeedExample]:
    """The shipped labelled messages: (channel, need category, text)."""
    raw = resources.files("leadlake.needs").joinpath(EXAMPLES).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(raw), delimiter="\t"))
    return [NeedExample(r["source"], r["need_category"], r["text"]) for r in rows]


def shipped_examples_apply(conf: Conf, spec: EncoderSpec) -> bool:
    """The shipped examples fit when conf allows them, the taxonomy has exactly their labels, and the encoder
    reads English (they are English; the multilingual encoder keeps its anchors in every language)."""
    labels = set(taxonomy(conf))
    return bool(conf.get("needs.shipped_examples")) and not spec.multilingual and labels == {
        e.need_category for e in need_examples()}


def example_head(spec: EncoderSpec, anchors: Mapping[str, Sequence[str]],
                 examples: Sequence[NeedExample] | None = None) -> Head:
    """A head fitted on the examples (default: all shipped) and the taxonomy's phrases, on the driver."""
    examples = need_examples() if examples is None else examples
    return _example_head(spec, tuple((label, tuple(phrases)) for label, phrases in anchors.items()),
                         tuple(examples))


@functools.lru_cache(maxsize=8)
def _example_head(spec: EncoderSpec, anchors: tuple[tuple[str, tuple[str, ...]], ...],
                  examples: tuple[NeedExample, ...]) -> Head:
    """Kept per process: every text stage of a run loads the need classifier, and fitting costs seconds."""
    labels = [label for label, _ in anchors]
    texts = [e.text for e in examples] + [p for _, phrases in anchors for p in phrases]
    y = [labels.index(e.need_category) for e in examples] + [i for i, (_, ps) in enumerate(anchors) for _ in ps]
    return fit_head(driver_vectors(spec, texts), np.asarray(y), labels)


def load_needs(models: ModelStore | str | Path, spec: EncoderSpec, conf: Conf) -> TextClassifier:
    """The saved head when one was trained for this taxonomy; else the head on the shipped examples when they
    apply (``shipped_examples_apply``); else zero-shot."""
    anchors = taxonomy(conf, multilingual=spec.multilingual)
    store, parts = as_store(models), head_parts(KIND, spec.model_id)
    if not head_saved(store, parts) and shipped_examples_apply(conf, spec):
        return TextClassifier(spec.model_id, anchors, example_head(spec, anchors), 0.0, OTHER)
    return load_classifier(store, parts, spec, anchors, min_confidence=float(conf.get("needs.min_confidence")),
                           fallback=OTHER)


def train_needs(labelled: DataFrame, spec: EncoderSpec, categories: Mapping[str, Sequence[str]], *,
                text_col: str = "text", label_col: str = "need_category", reg: float = 0.01) -> TextClassifier:
    """A supervised head from labelled texts; labels outside the taxonomy are ignored."""
    return fit_classifier(labelled, spec, categories, text_col=text_col, label_col=label_col, reg=reg, fallback=OTHER)


def classify_with(df: DataFrame, model: TextClassifier, spec: EncoderSpec, *, text_col: str = "text",
                  embedding_col: str | None = None) -> DataFrame:
    """``df`` with ``need_category`` and ``need_confidence`` (both null for empty text)."""
    return model.classify(df, spec, text_col=text_col, embedding_col=embedding_col, label="need_category",
                          confidence="need_confidence")


def evaluate_needs(labelled: DataFrame, model: TextClassifier, spec: EncoderSpec, *, text_col: str = "text",
                   label_col: str = "need_category") -> dict[str, float]:
    """Accuracy and macro-F1 against labelled texts."""
    return evaluate_classifier(labelled, model, spec, text_col=text_col, label_col=label_col)
