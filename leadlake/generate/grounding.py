"""A generated text may say only what the facts say: product names, numbers and dates must come from them.

Language models write fluent sentences around facts they were not given
(a product the customer never mentioned, a discount nobody offered, a date
that does not exist). Each text is checked before anyone reads it: every
catalogue product it names, every number and every date in it must appear
in the facts the prompt carried. The first violation is the reason the
text is replaced by the template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")
# Small counts are how people write ("two or three points", "1 call"): not claims about the data.
FREE_NUMBERS = {str(i) for i in range(0, 11)}


def _flatten(value) -> Iterable[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _flatten(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from _flatten(v)
    elif value is not None:
        yield str(value)


def _number(token: str) -> str:
    """A number in one spelling: no thousands separators, no trailing zeros after the point, no percent sign."""
    text = token.replace(",", "").rstrip("%").lstrip("+")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _numbers(text: str) -> set[str]:
    return {_number(m.group()) for m in NUMBER.finditer(DATE.sub(" ", text))}


def ungrounded(text: str, facts: Mapping, products: Iterable[str] = ()) -> str | None:
    """Why ``text`` says something the facts do not, or None when everything it claims is in them."""
    known = " \n ".join(_flatten(facts))
    known_lower = known.lower()
    for name in products:
        if name and name.lower() in text.lower() and name.lower() not in known_lower:
            return f"names product {name!r}, which is not in the facts"
    known_dates = set(DATE.findall(known))
    for date in DATE.findall(text):
        if date not in known_dates:
            return f"states the date {date}, which is not in the facts"
    known_numbers = _numbers(known)
    for number in sorted(_numbers(text)):
        if number not in known_numbers and number.lstrip("-") not in FREE_NUMBERS:
            return f"states the number {number}, which is not in the facts"
    return None
