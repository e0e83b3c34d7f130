"""Public corpora are fetched from PyPI once per machine, even when several jobs ask for one at the same moment."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

FETCH = ("import hashlib, sys; from leadlake.corpora import package_file; "
         "print(hashlib.sha256(package_file('lifetimes', '0.11.3', 'lifetimes/datasets/CDNOW_sample.txt'))"
         ".hexdigest())")


def test_two_processes_fetching_one_corpus_into_an_empty_cache_both_read_it_whole(tmp_path):
    env = {**os.environ, "LEADLAKE_CACHE": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [subprocess.Popen([sys.executable, "-c", FETCH], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    digests = {out.strip() for out, _ in outs}
    cache = tmp_path / "corpora"
    archives = sorted(p.name for p in cache.iterdir())
    # One whole wheel (PyPI spells the file "Lifetimes"), no half-written file, no temporary folder left.
    assert [a.lower() for a in archives] == ["lifetimes-0.11.3-py3-none-any.whl"], archives
    import zipfile

    with zipfile.ZipFile(cache / archives[0]) as wheel:
        whole = hashlib.sha256(wheel.read("lifetimes/datasets/CDNOW_sample.txt")).hexdigest()
    assert digests == {whole}
