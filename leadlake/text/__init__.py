"""Text as vectors: sentence embeddings for any Spark DataFrame with a text column.

Texts are PII-masked before they reach the model. Null, empty and
whitespace-only texts get a null embedding (there is nothing to encode);
texts longer than the model's window are truncated by tokens, not rejected.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf, load_conf
from leadlake.text.encoders import EncoderSpec, encoder_spec
from leadlake.text.pii import clean_text, mask_pii, text_key

__all__ = ["EncoderSpec", "clean_text", "embed", "encoder_spec", "mask_pii", "text_key"]


def embed(
    df: DataFrame,
    text_col: str = "text",
    out_col: str = "embedding",
    *,
    spec: EncoderSpec | None = None,
    conf: Conf | None = None,
) -> DataFrame:
    """``df`` with ``out_col`` (array<float>, L2-normalised) embedding ``text_col``."""
    if text_col not in df.columns:
        raise ValueError(f"no column {text_col!r} in the DataFrame (columns: {', '.join(df.columns)})")
    spec = spec or encoder_spec(conf or load_conf())
    clean = clean_text(F.col(text_col))
    has_text = clean.isNotNull() & (F.length(clean) > 0)
    if spec.engine == "spark-nlp":
        from leadlake.text.sparknlp import embed_with_spark_nlp

        out = embed_with_spark_nlp(df, clean, out_col, spec)
        return out.withColumn(out_col, F.when(has_text, F.col(out_col)))
    from udfs.embeddings import embedding_udf

    vectors = embedding_udf(spec)(F.coalesce(clean, F.lit("")))
    return df.withColumn(out_col, F.when(has_text, vectors))
