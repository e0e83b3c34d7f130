"""Need category of a text: what the customer is talking about.

The taxonomy lives in conf (``needs.categories``: label -> describing
phrases), so a team adds its own labels without code. With no labelled
examples the category is zero-shot: the label whose phrases are closest to
the text in embedding space, and ``other`` below ``needs.min_confidence``.
Once a team has labelled examples, a logistic-regression head over the same
embeddings is trained and saved beside the sentiment head, and used instead.
The classifier itself is the shared one of ``leadlake.text.classify``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pyspark.sql import DataFrame

from leadlake.config import Conf
from leadlake.ml.store import ModelStore, as_store
from leadlake.text.classify import (
    TextClassifier,
    anchors_from_conf,
    evaluate_classifier,
    fit_classifier,
    head_parts,
    load_classifier,
)
from leadlake.text.encoders import EncoderSpec

KIND = "needs"
OTHER = "other"


def taxonomy(conf: Conf, *, multilingual: bool = False) -> dict[str, list[str]]:
    """Label -> describing phrases; for the multilingual encoder, with ``needs.multilingual_phrases`` added."""
    return anchors_from_conf(conf, "needs.categories", multilingual=multilingual)


def save_needs(model: TextClassifier, models: ModelStore | str | Path) -> str:
    return model.save(models, *head_parts(KIND, model.model_id))


def load_needs(models: ModelStore | str | Path, spec: EncoderSpec, conf: Conf) -> TextClassifier:
    """The saved head when one was trained for this taxonomy, else zero-shot."""
    return load_classifier(as_store(models), head_parts(KIND, spec.model_id), spec,
                           taxonomy(conf, multilingual=spec.multilingual),
                           min_confidence=float(conf.get("needs.min_confidence")), fallback=OTHER)


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
