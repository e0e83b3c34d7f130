"""Need category of a text: what the customer is talking about.

The taxonomy lives in conf (``needs.categories``: label -> describing
phrases), so a team adds its own labels without code. With no labelled
examples the category is zero-shot: the label whose phrases are closest to
the text in embedding space, and ``other`` below ``needs.min_confidence``.
Once a team has labelled examples, a logistic-regression head over the same
embeddings is trained and saved beside the sentiment head, and used instead.
The classifier itself is the shared one of ``leadlake.text.classify``.

Out of the box, for the default taxonomy, the head is fitted on the labelled
customer messages shipped in ``data/`` (hand-written for eight channels in
English, from e-mails to forum posts, and six in Chinese, from WeChat to call
notes; none from the demo) plus the taxonomy's own phrases: anchors alone
confuse a complaint about a missing feature with one about the interface, a
few hundred examples do not. The multilingual encoder learns from both
languages, the English one from the English messages.
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
EXAMPLES = {"en": "data/need_messages.tsv", "zh": "data/need_messages_zh.tsv"}


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
    lang: str = "en"

    @property
    def channel(self) -> str:
        """The channel, with the language for non-English ones (``zh wechat``): one leave-out group."""
        return self.source if self.lang == "en" else f"{self.lang} {self.source}"


@functools.lru_cache(maxsize=2)
def need_examples(*, multilingual: bool = False) -> tuple[NeedExample, ...]:
    """The shipped labelled messages: English, and for the multilingual encoder Chinese as well (read once per
    process: every load of the need classifier asks which labels they cover)."""
    out: list[NeedExample] = []
    for lang, name in EXAMPLES.items():
        if lang != "en" and not multilingual:
            continue
        raw = resources.files("leadlake.needs").joinpath(name).read_text(encoding="utf-8")
        out += [NeedExample(r["source"], r["need_category"], r["text"], lang)
                for r in csv.DictReader(io.StringIO(raw), delimiter="\t")]
    return tuple(out)


def shipped_examples_apply(conf: Conf, spec: EncoderSpec) -> bool:
    """The shipped examples fit when conf allows them and the taxonomy has exactly their labels."""
    labels = set(taxonomy(conf))
    return bool(conf.get("needs.shipped_examples")) and labels == {e.need_category for e in need_examples()}


def example_head(spec: EncoderSpec, anchors: Mapping[str, Sequence[str]],
                 examples: Sequence[NeedExample] | None = None) -> Head:
    """A head fitted on the examples (default: all shipped for this encoder's languages) and the taxonomy's
    phrases, on the driver."""
    examples = need_examples(multilingual=spec.multilingual) if examples is None else examples
    return _example_head(spec, tuple((label, tuple(phrases)) for label, phrases in anchors.items()),
                         tuple(examples))


@functools.lru_cache(maxsize=8)
def _example_head(spec: EncoderSpec, anchors: tuple[tuple[str, tuple[str, ...]], ...],
                  examples: tuple[NeedExample, ...]) -> Head:
    """Kept per process: every text stage of a run loads the need classifier, and fitting costs seconds."""
    texts, y = training_set(examples, dict(anchors))
    return fit_head(driver_vectors(spec, texts), y, [label for label, _ in anchors])


def training_set(examples: Sequence[NeedExample], anchors: Mapping[str, Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """Texts and label indices (in ``anchors`` order): the examples first, then every taxonomy phrase."""
    labels = list(anchors)
    texts = [e.text for e in examples] + [p for phrases in anchors.values() for p in phrases]
    y = [labels.index(e.need_category) for e in examples] + [i for i, ps in enumerate(anchors.values()) for _ in ps]
    return texts, np.asarray(y)


def load_needs(models: ModelStore | str | Path, spec: EncoderSpec, conf: Conf) -> TextClassifier:
    """The saved head when one was trained for this taxonomy; else the head on the shipped examples when they
    apply (``shipped_examples_apply``); else zero-shot."""
    anchors = taxonomy(conf, multilingual=spec.multilingual)
    store, parts = as_store(models), head_parts(KIND, spec.model_id)
    if not head_saved(store, parts) and shipped_examples_apply(conf, spec):
        return TextClassifier(spec.model_id, anchors, None, 0.0, OTHER,
                              fit_on_use=functools.partial(example_head, spec, anchors))
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
