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

import re
import unicodedata

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



_PY_HAN = re.compile(r"[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff"
                     r"\uf900-\ufaff\U00020000-\U0003134f]")
_PY_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


def language_of(text: str | None) -> str | None:
    """:func:`detect_language` for one Python string, where a UDF already holds the text (entity extraction)."""
    if not text:
        return None
    letters = sum(1 for c in text if c.isalpha()) + text.count("\u3007")
    if letters == 0:
        return None
    han = len(_PY_HAN.findall(text))
    if len(_PY_KANA.findall(text)) >= HAN_SHARE * letters:
        return JAPANESE
    if han >= HAN_SHARE * letters:
        return CHINESE
    latin = sum(1 for c in text if c.isalpha() and (c.isascii() or "LATIN" in unicodedata.name(c, "")))
    return ENGLISH if latin >= letters - han - latin else OTHER
