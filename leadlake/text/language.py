"""Which language a text is written in, as far as routing to an encoder needs to know.

A script-based rule, written as Spark expressions (no Python worker, runs
through Spark Connect): a text whose letters are at least ``HAN_SHARE`` Han
characters is Chinese (``zh``) unless kana make it Japanese (``ja``), one of
Latin letters is ``en``, one of any other script (Cyrillic, Arabic, Hangul,
...) is ``other``. Han
characters carry a word or half a word each, so a share of 15% of the
letters is already a Chinese sentence with English product names in it
("希望增加SSO功能" is 6 Han and 3 Latin letters); an English sentence naming
one Chinese contact ("Contact 王伟 about the renewal", 2 of 26) stays ``en``.

Latin-script languages are not told apart: they all go to ``text.model``
(the multilingual encoder is for scripts an English encoder cannot read).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

ENGLISH, CHINESE, JAPANESE, OTHER = "en", "zh", "ja", "other"
HAN_SHARE = 0.15
HAN = r"\p{IsHan}"
LATIN = r"\p{IsLatin}"
# Letters of scripts that are neither Han nor Latin: what is left of \p{L} once both are taken out.
OTHER_LETTERS = r"[\p{L}&&[^\p{IsHan}]&&[^\p{IsLatin}]]"
# Japanese writes Han characters too; its kana, which Chinese never uses, tell the two apart.
KANA = r"[\p{IsHiragana}\p{IsKatakana}]"


def _count(text: Column, pattern: str) -> Column:
    return F.length(text) - F.length(F.regexp_replace(text, pattern, ""))


def detect_language(text: Column) -> Column:
    """``zh``, ``ja``, ``en`` or ``other`` by the letters of ``text``; null for null text or text with no letters."""
    han, latin, other = _count(text, HAN), _count(text, LATIN), _count(text, OTHER_LETTERS)
    letters = han + latin + other
    return (F.when(text.isNull() | (letters == 0), F.lit(None).cast("string"))
            .when(_count(text, KANA) >= F.lit(HAN_SHARE) * letters, F.lit(JAPANESE))
            .when(han >= F.lit(HAN_SHARE) * letters, F.lit(CHINESE))
            .when(latin >= other, F.lit(ENGLISH))
            .otherwise(F.lit(OTHER)))

