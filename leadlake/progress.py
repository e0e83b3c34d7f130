"""Progress lines for long jobs: one line when a stage starts, one when it ends.

Spark's own console progress bar is off in our profiles (it garbles logs on
clusters); these lines say which stage is running, how many rows it produced
and how long it took, so nobody stares at a silent terminal.
"""

from __future__ import annotations

import logging
import sys
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


@dataclass
class Stage:
    """What a stage reports at its end; set ``rows`` inside the ``with`` block."""

    name: str
    rows: int | None = None
    detail: str = ""


@contextmanager
def stage(log: logging.Logger, name: str) -> Iterator[Stage]:
    """Log ``name`` at start and end with elapsed seconds and the row count set inside."""
    st = Stage(name)
    log.info("%s ...", name)
    t0 = time.perf_counter()
    try:
        yield st
    except BaseException:
        log.info("%s failed after %.1fs", name, time.perf_counter() - t0)
        raise
    took = time.perf_counter() - t0
    rows = f" {st.rows:,} rows" if st.rows is not None else ""
    extra = f" ({st.detail})" if st.detail else ""
    log.info("%s done:%s in %.1fs%s", name, rows, took, extra)
