"""Errors a user can act on.

Anything raised as a :class:`LeadlakeError` is printed by the CLI as one line
(``leadlake: <message>``) with a non-zero exit, never as a stack trace: it means
the input, the configuration or the environment needs fixing, not the code.
"""

from __future__ import annotations

import re

_PY_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Conflict|Mismatch|NotFound)): (.+)$")


class LeadlakeError(Exception):
    """A failure whose message alone tells the user what to fix."""

    exit_code = 2


class ConfError(LeadlakeError):
    """The configuration file or a command-line value is wrong."""


class EnvironmentProblem(LeadlakeError):
    """Something the machine lacks (Java, a jar, a package)."""

    exit_code = 3


class DeltaError(LeadlakeError):
    """A Delta table operation was refused; the table itself is unchanged."""


class TableNotFound(DeltaError):
    """The table does not exist (yet) at the resolved location."""


class SchemaMismatch(DeltaError):
    """A write whose columns do not match the table's schema."""


class ConcurrentWriteConflict(DeltaError):
    """Another writer committed first in a way this write cannot be reordered past."""


def root_cause(exc: BaseException) -> str:
    """The one line that says what went wrong, dug out of a Spark-wrapped Python traceback."""
    text = str(exc)
    found = [m for m in (_PY_ERROR_LINE.match(line.strip()) for line in text.splitlines()) if m]
    if found:
        name, message = found[-1].groups()
        return f"{name}: {message.strip()}"
    first = (text.strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]
