"""What customers need, mined from their own words.

Each function works on any Spark DataFrame with a text column, not only on
leadlake's tables: ``score_sentiment``, ``classify_needs`` and
``extract_entities``. ``leadlake.needs.mining`` runs them over the lakehouse.
Without a ``spec`` or a ``model``, each text is read by the encoder of its
language and that encoder's classifier (``leadlake.text.routing``), so
Chinese text gets the multilingual encoder's reading, English the same as
before.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf, load_conf
from leadlake.ml.store import ModelStore, model_store
from leadlake.needs.categories import classify_with, load_needs
from leadlake.needs.entities import extract_entities
from leadlake.needs.sentiment import load_sentiment
from leadlake.needs.sentiment import score_sentiment as _score
from leadlake.text.classify import TextClassifier
from leadlake.text.encoders import EncoderSpec, encoder_spec
from leadlake.text.language import detect_language
from leadlake.text.pii import clean_text
from leadlake.text.routing import text_encoders

__all__ = ["classify_needs", "extract_entities", "models_dir", "score_sentiment"]


def models_dir(conf: Conf) -> ModelStore:
    """Where the heads of this conf's lakehouse are kept (``text.models_dir`` or ``<lakehouse>/models``)."""
    return model_store(conf)


def _routed(df: DataFrame, text_col: str, conf: Conf | None, spec: EncoderSpec | None,
            model: TextClassifier | None, load: Callable[[ModelStore, EncoderSpec, Conf], TextClassifier],
            apply: Callable[[DataFrame, TextClassifier, EncoderSpec], DataFrame]) -> DataFrame:
    """``apply`` with the caller's encoder and model, or per language with the conf's encoders and their heads."""
    conf = conf or load_conf()
    if spec is not None or model is not None:
        spec = spec or encoder_spec(conf)
        return apply(df, model or load(models_dir(conf), spec, conf), spec)
    lang = detect_language(clean_text(F.col(text_col)))
    return text_encoders(conf).each(df, lang, lambda part, one: apply(part, load(models_dir(conf), one, conf), one))


def score_sentiment(df: DataFrame, text_col: str = "text", *, conf: Conf | None = None,
                    spec: EncoderSpec | None = None, model: TextClassifier | None = None) -> DataFrame:
    """``df`` with ``sentiment_score`` (-1 very negative .. 1 very positive) and ``sentiment_label``."""
    return _routed(df, text_col, conf, spec, model, lambda store, one, _: load_sentiment(store, one),
                   lambda part, clf, one: _score(part, clf, one, text_col=text_col))


def classify_needs(df: DataFrame, text_col: str = "text", *, conf: Conf | None = None,
                   spec: EncoderSpec | None = None, model: TextClassifier | None = None) -> DataFrame:
    """``df`` with ``need_category`` (a label of ``needs.categories``) and ``need_confidence`` in [0, 1]."""
    return _routed(df, text_col, conf, spec, model, load_needs,
                   lambda part, clf, one: classify_with(part, clf, one, text_col=text_col))
