"""Which encoder reads which text: English to ``text.model``, other scripts to ``text.multilingual_model``.

An English sentence encoder turns Chinese into noise (all-MiniLM-L6-v2 never
saw it), and a multilingual one is slower and, on English, no better. So each
text goes to the encoder of its language (``leadlake.text.language``): texts
detected as English, or with no letters at all, to ``text.model`` as before;
Chinese, Japanese and every other script to the multilingual encoder. With
``text.multilingual_model: null`` every text goes to ``text.model``.

Vectors of two encoders live in two spaces, so nothing downstream mixes them:
each text's vector is stored under its encoder's model id, each encoder has
its own classifier heads, and topics are found per encoder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.text.encoders import EncoderSpec, encoder_spec
from leadlake.text.language import ENGLISH, detect_language


@dataclass(frozen=True)
class TextEncoders:
    """The encoder for English text and, when configured, the one for every other script."""

    primary: EncoderSpec
    multilingual: EncoderSpec | None = None

    @property
    def specs(self) -> tuple[EncoderSpec, ...]:
        return (self.primary,) if self.multilingual is None else (self.primary, self.multilingual)

    @property
    def model_ids(self) -> str:
        return " + ".join(s.model_id for s in self.specs)

    def goes_to_primary(self, lang: Column) -> Column:
        """True for the rows whose language (``lang``) the primary encoder reads."""
        if self.multilingual is None:
            return F.lit(True)
        return lang.isNull() | (lang == ENGLISH)

    def model_of(self, lang: Column) -> Column:
        """The model id of the encoder each row's text goes to."""
        if self.multilingual is None:
            return F.lit(self.primary.model_id)
        return F.when(self.goes_to_primary(lang), F.lit(self.primary.model_id)) \
            .otherwise(F.lit(self.multilingual.model_id))

    def split(self, df: DataFrame, lang: Column) -> list[tuple[EncoderSpec, DataFrame]]:
        """``df`` cut into the rows of each encoder; every row lands in exactly one part (null ``lang``: primary)."""
        if self.multilingual is None:
            return [(self.primary, df)]
        primary = self.goes_to_primary(lang)
        return [(self.primary, df.where(primary)), (self.multilingual, df.where(~primary))]

    def each(self, df: DataFrame, lang: Column, apply: Callable[[DataFrame, EncoderSpec], DataFrame]) -> DataFrame:
        """``apply`` to each encoder's rows with that encoder, the results stacked (columns by name).

        An encoder with no rows here is left out: building its part costs more
        than the one Spark job that finds it empty (a zero-shot classifier
        embeds its anchor phrases on the driver, seconds for the multilingual
        encoder), and an English CRM would pay that in every text stage.
        """
        split = self.split(df, lang)
        parts = [apply(part, spec) for i, (spec, part) in enumerate(split) if i == 0 or not part.isEmpty()]
        return functools.reduce(lambda a, b: a.unionByName(b), parts)


def as_encoders(encoders: TextEncoders | EncoderSpec) -> TextEncoders:
    """The routing, from the routing itself or from one encoder for every text."""
    return encoders if isinstance(encoders, TextEncoders) else TextEncoders(encoders)


def per_model(heads: Any, encoders: TextEncoders) -> dict[str, Any]:
    """The classifier of each encoder's model id, from one classifier or a mapping of them.

    A classifier read over another encoder's vectors would classify noise,
    so a missing one is an error, not a fallback.
    """
    out = dict(heads) if isinstance(heads, Mapping) else {heads.model_id: heads}
    missing = [s.model_id for s in encoders.specs if s.model_id not in out]
    if missing:
        raise ValueError(f"no classifier for the vectors of {', '.join(missing)} (classifiers for: "
                         f"{', '.join(out)})")
    return out


def text_encoders(conf: Conf) -> TextEncoders:
    """The conf's encoders: ``text.model``, plus ``text.multilingual_model`` unless it is null."""
    multilingual = encoder_spec(conf, multilingual=True) if conf.get("text.multilingual_model") else None
    return TextEncoders(encoder_spec(conf), multilingual)


def language_of(text_col: str) -> Column:
    """The language column of a text column, as routing reads it."""
    return detect_language(F.col(text_col))
