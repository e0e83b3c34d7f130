"""Progress lines for long jobs: one when a stage starts, one every 30 seconds while it runs, one when it ends.

Spark's own console progress bar is off in our profiles (it garbles logs on
clusters); these lines say which stage is running, how far Spark's tasks have
got (and, when the stage knows how many rows it will process, about how many
rows are done, the rate and the time left), how many rows it produced and how
long it took, so nobody stares at a silent terminal.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _CurrentStderr(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is now, not the one it was created with.

    Jobs run in-process from notebooks and tests, where stderr is swapped
    for a capture and later closed; a handler bound to the old stream would
    print a logging traceback instead of the job's lines.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    """Route leadlake's loggers to stderr once, and keep py4j's chatter down."""
    root = logging.getLogger("leadlake")
    if not root.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger("py4j").setLevel(logging.WARNING)


# Seconds between progress lines while a stage runs.
HEARTBEAT_S = 30.0
# Stages running now, outermost first: only the innermost one reports, so nested stages print one line, not two.
_RUNNING: list[Stage] = []


@dataclass(eq=False)  # a running stage is itself, not any stage with the same name
class Stage:
    """What a stage reports: set ``rows`` (produced) inside the ``with`` block; ``total`` (to process) when known."""

    name: str
    rows: int | None = None
    detail: str = ""
    total: int | None = None


def spark_tasks() -> tuple[int, int] | None:
    """(tasks done, tasks) of the Spark stages running now; None when none run or there is no JVM (Spark Connect)."""
    try:
        from pyspark import SparkContext

        sc = SparkContext._active_spark_context
        if sc is None:
            return None
        tracker = sc.statusTracker()
        infos = [i for i in (tracker.getStageInfo(s) for s in tracker.getActiveStageIds()) if i is not None]
        tasks = sum(i.numTasks for i in infos)
        return (sum(i.numCompletedTasks for i in infos), tasks) if tasks else None
    except Exception:  # a progress line must never fail the job it reports on
        return None


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(name: str, elapsed: float, tasks: tuple[int, int] | None, total: int | None) -> str:
    """``name: running 1m30s, ~4,000 of 12,000 rows (33%), 44 rows/s, about 3m00s left (4 of 12 tasks)``."""
    line = f"{name}: running {_duration(elapsed)}"
    if not tasks:
        return line
    done, of = tasks
    share = done / of
    if total:
        rows = int(total * share)
        line += f", ~{rows:,} of {total:,} rows ({share:.0%}), {rows / max(elapsed, 1e-9):,.0f} rows/s"
    else:
        line += f", {share:.0%} of the current Spark stage"
    if 0 < share < 1:
        line += f", about {_duration(elapsed * (1 - share) / share)} left"
    return line + f" ({done} of {of} tasks)"


class _Heartbeat(threading.Thread):
    def __init__(self, log: logging.Logger, st: Stage, t0: float, every: float) -> None:
        super().__init__(name=f"progress: {st.name}", daemon=True)
        self.log, self.st, self.t0, self.every = log, st, t0, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            if _RUNNING and _RUNNING[-1] is not self.st:
                continue
            with contextlib.suppress(Exception):  # never let a progress line fail the job
                self.log.info("%s", progress_line(self.st.name, time.perf_counter() - self.t0, spark_tasks(),
                                                  self.st.total))


@contextmanager
def stage(log: logging.Logger, name: str, *, total: int | None = None,
          every: float | None = None) -> Iterator[Stage]:
    """Log ``name`` at start, every ``every`` seconds while it runs (default :data:`HEARTBEAT_S`), and at the end
    with elapsed seconds and the row count set inside."""
    st = Stage(name, total=total)
    log.info("%s ...", name)
    t0 = time.perf_counter()
    beat = _Heartbeat(log, st, t0, HEARTBEAT_S if every is None else every)
    _RUNNING.append(st)
    beat.start()
    try:
        yield st
    except BaseException:
        log.info("%s failed after %.1fs", name, time.perf_counter() - t0)
        raise
    finally:
        beat.stopped.set()
        _RUNNING.remove(st)
    took = time.perf_counter() - t0
    rows = f" {st.rows:,} rows" if st.rows is not None else ""
    extra = f" ({st.detail})" if st.detail else ""
    log.info("%s done:%s in %.1fs%s", name, rows, took, extra)
