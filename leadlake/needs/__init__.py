"""What customers need, mined from their own words.

Each function works on any Spark DataFrame with a text column, not only on
leadlake's tables: ``score_sentiment``, ``classify_needs`` and
``extract_entities``. ``leadlake.needs.mining`` runs them over the lakehouse.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from leadlake.config import Conf, load_conf
from leadlake.ml.store import ModelStore, model_store
from leadlake.needs.categories import classify_with, load_needs
from leadlake.needs.entities import extract_entities
from leadlake.needs.sentiment import load_sentiment
from leadlake.needs.sentiment import score_sentiment as _score
from leadlake.text.classify import TextClassifier
from leadlake.text.encoders import EncoderSpec, encoder_spec

__all__ = ["classify_needs", "extract_entities", "models_dir", "score_sentiment"]


def models_dir(conf: Conf) -> ModelStore:
    """Where the heads of this conf's lakehouse are kept (``text.models_dir`` or ``<lakehouse>/models``)."""
    return model_store(conf)


def _resolved(conf: Conf | None, spec: EncoderSpec | None) -> tuple[Conf, EncoderSpec]:
    """The caller's conf and encoder, or the defaults a notebook user gets without naming either."""
    conf = conf or load_conf()
    return conf, spec or encoder_spec(conf)


def score_sentiment(df: DataFrame, text_col: str = "text", *, conf: Conf | None = None,
                    spec: EncoderSpec | None = None, model: TextClassifier | None = None) -> DataFrame:
    """``df`` with ``sentiment_score`` (-1 very negative .. 1 very positive) and ``sentiment_label``."""
    conf, spec = _resolved(conf, spec)
    return _score(df, model or load_sentiment(models_dir(conf), spec), spec, text_col=text_col)


def classify_needs(df: DataFrame, text_col: str = "text", *, conf: Conf | None = None,
                   spec: EncoderSpec | None = None, model: TextClassifier | None = None) -> DataFrame:
    """``df`` with ``need_category`` (a label of ``needs.categories``) and ``need_confidence`` in [0, 1]."""
    conf, spec = _resolved(conf, spec)
    return classify_with(df, model or load_needs(models_dir(conf), spec, conf), spec, text_col=text_col)
