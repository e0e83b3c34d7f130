"""What customers need, mined from their own words: sentiment first.

``score_sentiment`` works on any Spark DataFrame with a text column.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame

from leadlake.config import Conf, load_conf
from leadlake.needs.sentiment import SentimentModel, load_sentiment
from leadlake.needs.sentiment import score_sentiment as _score
from leadlake.text.encoders import EncoderSpec, encoder_spec

__all__ = ["models_dir", "score_sentiment"]


def models_dir(conf: Conf) -> Path:
    return Path(conf.get("text.models_dir") or Path(conf.lakehouse).expanduser().resolve() / "models")


def score_sentiment(
    df: DataFrame,
    text_col: str = "text",
    *,
    conf: Conf | None = None,
    spec: EncoderSpec | None = None,
    model: SentimentModel | None = None,
) -> DataFrame:
    """``df`` with ``sentiment_score`` (-1 very negative .. 1 very positive) and ``sentiment_label``."""
    conf = conf or load_conf()
    spec = spec or encoder_spec(conf)
    model = model or load_sentiment(models_dir(conf), spec)
    return _score(df, model, spec, text_col=text_col)
