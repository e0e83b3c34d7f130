"""Text as vectors: sentence embeddings for any Spark DataFrame with a text column.

Texts are PII-masked before they reach the model. Null, empty and
whitespace-only texts get a null embedding (there is nothing to encode);
texts longer than the model's window are truncated by tokens, not rejected.
Each text goes to the encoder of its language (``leadlake.text.routing``):
English to ``text.model``, Chinese and other scripts to
``text.multilingual_model``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf, load_conf
from leadlake.text.encoders import EncoderSpec, encoder_spec
from leadlake.text.language import detect_language
from leadlake.text.pii import clean_text, mask_pii, text_key
from leadlake.text.routing import TextEncoders, text_encoders

__all__ = ["EncoderSpec", "TextEncoders", "clean_text", "detect_language", "embed", "encoder_spec", "mask_pii",
           "text_encoders", "text_key"]


def embed(
    df: DataFrame,
    text_col: str = "text",
    out_col: str = "embedding",
    *,
    spec: EncoderSpec | None = None,
    conf: Conf | None = None,
) -> DataFrame:
    """``df`` with ``out_col`` (array<float>, L2-normalised) embedding ``text_col``.

    With a ``spec`` every text goes to that encoder. Without one, each text
    goes to the conf's encoder for its language, and ``<out_col>_model``
    names the encoder of each vector: vectors of two encoders are not
    comparable, so compare or average only those with the same model.
    """
    if text_col not in df.columns:
        raise ValueError(f"no column {text_col!r} in the DataFrame (columns: {', '.join(df.columns)})")
    if spec is not None:
        return _embed_with(df, text_col, out_col, spec)
    encoders = text_encoders(conf or load_conf())

    def embedded(part: DataFrame, one: EncoderSpec) -> DataFrame:
        vectors = _embed_with(part, text_col, out_col, one)
        return vectors.withColumn(f"{out_col}_model", F.when(F.col(out_col).isNotNull(), F.lit(one.model_id)))

    return encoders.each(df, detect_language(clean_text(F.col(text_col))), embedded)


def _embed_with(df: DataFrame, text_col: str, out_col: str, spec: EncoderSpec) -> DataFrame:
    clean = clean_text(F.col(text_col))
    has_text = clean.isNotNull() & (F.length(clean) > 0)
    if spec.engine == "spark-nlp":
        from leadlake.text.sparknlp import embed_with_spark_nlp

        out = embed_with_spark_nlp(df, clean, out_col, spec)
        return out.withColumn(out_col, F.when(has_text, F.col(out_col)))
    from udfs.embeddings import embedding_udf

    vectors = embedding_udf(spec)(F.coalesce(clean, F.lit("")))
    return df.withColumn(out_col, F.when(has_text, vectors))
