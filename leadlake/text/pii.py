"""Personal data out of free text before it is embedded, logged or stored.

Pure Spark expressions (no Python UDF): e-mail addresses, Chinese
resident identity numbers, card-like numbers and phone numbers become
``[EMAIL]``, ``[ID]``, ``[CARD]`` and ``[PHONE]``. Identity numbers and cards
are masked before phones so their digits never read as a phone number.
Word characters in the patterns are ASCII on purpose: Java's ``\\w`` (Spark)
is ASCII and Python's is Unicode, and a number written right after Chinese
text ("电话13812345678") must be masked by both.
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# 18 characters: region, birth date (19xx/20xx, month, day), sequence, check digit (0-9 or X).
CN_ID = r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
CARD = r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"
# Phone numbers as people write them: an optional country code (+44, 0044), an optional area code in
# parentheses ("(486) 329-033", "+44 (0)20 ..."), then 7 to 12 digits (6 after a parenthesised area code)
# in groups split by spaces, dots or dashes ("06 12 34 56 78", "+91-98765-43210"), or a trunk code and a
# slash ("030/1234567"). Dates, year ranges and counts ("2025-12-26", "12/05/2025", "2024-2025",
# "355/89/111") have the same shape and are not phones.
_SEP = r"(?:[ .]|\s?-\s?)?"
_DATE = (r"(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"
         r"|(?:19|20)\d{2}\s?[-/]\s?(?:19|20)?\d{2})(?!\d)")
PHONE = (r"(?<![A-Za-z0-9_+/-])(?!" + _DATE + r")(?:(?:\+|00)\d{1,3}[ .-]?)?"
         r"(?:\(\d{1,4}\)[ .-]?\d(?:" + _SEP + r"\d){4,10}|0\d{1,4}/\d(?:" + _SEP + r"\d){4,10}"
         r"|\d(?:" + _SEP + r"\d){6,11})(?![A-Za-z0-9_/-])")
_PATTERNS = ((EMAIL, "[EMAIL]"), (CN_ID, "[ID]"), (CARD, "[CARD]"), (PHONE, "[PHONE]"))


def mask_pii(text: Column) -> Column:
    """``text`` with e-mails, card-like numbers and phone numbers replaced by placeholders."""
    out = text
    for pattern, token in _PATTERNS:
        out = F.regexp_replace(out, pattern, token)
    return out


def mask_pii_text(text: str) -> str:
    """The same masking for one Python string (logs, driver-side messages)."""
    for pattern, token in _PATTERNS:
        text = re.sub(pattern, token, text)
    return text


def normalized(text: Column) -> Column:
    """Whitespace-normalised text: the form whose hash keys an embedding."""
    return F.trim(F.regexp_replace(text, r"\s+", " "))


def clean_text(text: Column) -> Column:
    """The form of a text that is embedded, stored and hashed: PII masked, whitespace normalised."""
    return normalized(mask_pii(text))


def text_key(clean: Column) -> Column:
    """sha256 of an already cleaned text (see :func:`clean_text`): one embedding per text and model."""
    return F.sha2(clean, 256)
