"""PySpark's Python worker daemon, with a clean-up after each task that costs what the task made, not what the
worker holds, and workers that start with what earlier workers had to import.

A reused Python worker runs ``gc.collect()`` after every task (``pyspark.daemon``),
and a full collection walks every object the worker keeps: 0.13 s per task once
spaCy (which imports torch through thinc) is loaded, 0.16 s with xgboost and
scikit-learn, 0.25 s with sentence-transformers. Over the notebooks' pipeline
(600 demo leads, one local session) that was 517 collections and 52.7 s of CPU,
a third of the Python workers' own work. Here each task's collection is followed
by ``gc.freeze()``: what survived it (modules, models, caches) moves to the
permanent generation, so the next collection walks only what later tasks made
(0.85 s for the same 517). Every ``FULL_COLLECTION_EVERY`` tasks the frozen
objects are thawed and collected once, so a cycle that became garbage after it
was frozen (a model evicted from a cache) is still freed.

The daemon forks a new worker whenever more run at once than are idle (a scan of
a Python data source feeding a pandas UDF holds two per task), and PySpark's
daemon imports nothing a worker needs, so every fork imported pandas, pyarrow,
pyspark.ml (with SciPy) and spaCy (with torch) again: 1.9 s of CPU for spaCy
alone, and up to 16 workers in five minutes of the suite. Here each worker tells
the daemon which modules it imported, and the daemon imports those it knows to be
safe to fork after (:data:`FORK_SAFE`) while it waits, so the next worker starts
with them; and it imports PySpark from the installed package rather than from
the ``pyspark.zip`` Spark puts first on the workers' path, which holds sources
only, so every worker compiled each PySpark module it imported again.

Spark starts it when ``spark.python.daemon.module`` names it (the local and
cluster profiles in ``conf/spark``); it then runs PySpark's own daemon, whose
workers run ``pyspark.worker`` or the module Spark asks for, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import importlib.metadata
import os
import re
import select
import sys
import warnings
import zipfile

FULL_COLLECTION_EVERY = 50
PIPE_BUF = getattr(select, "PIPE_BUF", 512)

# Packages a process can import and then fork: they start no thread when imported, or (numpy's OpenBLAS,
# pyarrow's jemalloc) handle fork themselves. Left out because a runtime made before a fork is lost in the
# child: deltalake (its Rust runtime), xgboost (OpenMP), onnxruntime, tokenizers; and leadlake itself, whose
# modules import deltalake.
FORK_SAFE = frozenset({"numpy", "pandas", "pyarrow", "scipy", "sklearn", "spacy", "thinc", "torch", "pyspark"})
# Under those, what imports gRPC (Spark Connect's client), which must not be imported before a fork.
NOT_FORK_SAFE = ("pyspark.sql.connect", "pyspark.ml.connect")


class TaskEndCollector:
    """Stands in for the ``gc`` module inside ``pyspark.daemon`` (only where this module runs as the daemon, so
    importing it changes nothing), whose only use of it is the collection that follows each task in a forked
    worker (the counter is per worker: each forked process has its own copy). That moment, between two tasks,
    is also when a worker tells the daemon what it has imported since it last did."""

    def __init__(self, imports: ImportsLearned | None = None) -> None:
        self.tasks = 0
        self.imports = imports

    def __getattr__(self, name: str) -> object:
        return getattr(gc, name)

    def collect(self, generation: int = 2) -> int:
        self.tasks += 1
        if self.imports is not None:
            self.imports.report()
        if self.tasks % FULL_COLLECTION_EVERY == 0:
            gc.unfreeze()
        found = gc.collect(generation)
        gc.freeze()
        return found


class ImportsLearned:
    """Workers write the names of the modules they imported (under ``roots``) to a pipe; the daemon reads them
    and imports them itself, so that every worker it forks later has them already.

    A worker reports only names it has not reported (or inherited) before, in
    whole lines, at most ``PIPE_BUF`` bytes a write and without blocking: lines
    of two workers never mix, and a full pipe costs a worker nothing but a
    report it sends after its next task instead.
    """

    def __init__(self, roots: frozenset[str] = FORK_SAFE) -> None:
        self.roots = roots
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: room for a worker's first report (a few thousand names)
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        self.reported = set(sys.modules)
        self.pending = b""

    def report(self) -> None:
        new = sorted(n for n in list(sys.modules) if n.partition(".")[0] in self.roots and n not in self.reported
                     and not n.startswith(NOT_FORK_SAFE))
        chunk, size = [], 0
        for name in [*new, None]:  # None: the end, where the last chunk goes
            if chunk and (name is None or size + len(name) + 1 > PIPE_BUF):
                try:
                    os.write(self.write_fd, "".join(f"{n}\n" for n in chunk).encode())
                except BlockingIOError:
                    return
                self.reported.update(chunk)
                chunk, size = [], 0
            if name is not None:
                chunk.append(name)
                size += len(name) + 1

    def learn(self) -> int:
        """Import what workers reported and this process lacks; returns how many modules that added."""
        data = self.pending
        with contextlib.suppress(BlockingIOError):
            while part := os.read(self.read_fd, 1 << 16):
                data += part
        lines, _, self.pending = data.rpartition(b"\n")
        names = sorted({n for n in lines.decode(errors="replace").split("\n") if n and n not in sys.modules},
                       key=lambda n: n.count("."))
        if not names:
            return 0
        before = len(sys.modules)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in names:
                if name not in sys.modules:
                    with contextlib.suppress(Exception):
                        importlib.import_module(name)
        self.reported = set(sys.modules)  # what workers forked from now on inherit, they need not report
        gc.freeze()  # nor walk in their collections
        return len(sys.modules) - before


class LearningPoll:
    """Stands in for the ``select`` module inside ``pyspark.daemon``: its poller, once a wait ends with nothing
    to do, imports what workers reported, so the daemon does it while idle and never while a task waits."""

    def __init__(self, imports: ImportsLearned) -> None:
        self._imports = imports

    def __getattr__(self, name: str) -> object:
        return getattr(select, name)

    def poll(self) -> object:
        return _LearningPoller(select.poll(), self._imports)


class _LearningPoller:
    def __init__(self, poller: object, imports: ImportsLearned) -> None:
        self._poller, self._imports = poller, imports

    def __getattr__(self, name: str) -> object:
        return getattr(self._poller, name)

    def poll(self, timeout: float | None = None) -> list:
        events = self._poller.poll(timeout)
        if not events:
            self._imports.learn()
        return events


def _installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def prefer_installed_pyspark() -> bool:
    """Import PySpark from the installed package instead of the ``pyspark.zip`` (and py4j's) that Spark puts
    first on the workers' path, when both are the same version: the zip has no compiled files, so each worker
    compiled every PySpark module it imported, and re-read the zip's index on start. Returns whether it did."""
    zips = {os.path.basename(p): p for p in sys.path if p.endswith(".zip") and
            os.path.basename(p).startswith(("pyspark", "py4j"))}
    if "pyspark.zip" not in zips or "pyspark" in sys.modules:
        return False
    try:
        with zipfile.ZipFile(zips["pyspark.zip"]) as z:
            shipped = re.search(r"__version__[^=]*=\s*[\"']([^\"']+)", z.read("pyspark/version.py").decode())
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    py4j = _installed_version("py4j")
    same_py4j = all(name == "pyspark.zip" or (py4j and name.startswith(f"py4j-{py4j}-")) for name in zips)
    if not shipped or shipped.group(1) != _installed_version("pyspark") or not same_py4j:
        return False
    sys.path[:] = [p for p in sys.path if p not in zips.values()]
    for p in zips.values():
        sys.path_importer_cache.pop(p, None)
    return True


if __name__ == "__main__":
    prefer_installed_pyspark()
    import pyspark.daemon as daemon

    learned = ImportsLearned()
    daemon.gc = TaskEndCollector(learned)
    daemon.select = LearningPoll(learned)
    daemon.manager()
