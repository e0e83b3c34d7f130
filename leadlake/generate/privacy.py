"""What may leave the lakehouse for a language-model endpoint: masked text only, unless conf allows a field.

E-mail addresses, phone numbers and card numbers in any fact are replaced
by placeholders before a prompt is built, with the same patterns the
embedding stage masks with. Dates and plain numbers are facts, not
personal data, and pass as they are (a phone pattern would otherwise eat
an ISO date). ``generate.allow_fields`` names facts a team has cleared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from leadlake.text.pii import mask_pii_text

_PLAIN = re.compile(r"^\s*(?:\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?|[-+]?\d[\d,]*(?:\.\d+)?%?)\s*$")


def _mask(value):
    if isinstance(value, str):
        return value if _PLAIN.match(value) else mask_pii_text(value)
    if isinstance(value, Mapping):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def masked_facts(facts: Mapping, allow: Iterable[str] = ()) -> dict:
    """``facts`` with personal data masked in every field not in ``allow``."""
    allowed = set(allow)
    return {k: (v if k in allowed else _mask(v)) for k, v in facts.items()}
