"""Delta Lake I/O without the Delta jar: a Spark data source on delta-rs.

Kept import-light on purpose: Spark's Python workers import
:mod:`leadlake.delta.source` for every read and write task. Jobs use
:class:`leadlake.lakehouse.Lakehouse`, which picks delta-spark or this source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["upsert"]


def upsert(df: Any, table_or_path: str, keys: Sequence[str], *, conf: Any = None, merge_schema: bool = False) -> None:
    """MERGE ``df`` into a Delta table on ``keys``, from a notebook or any script.

    ``table_or_path`` is a logical name (``gold.lead_scores``, resolved in the
    conf's lakehouse: ``conf`` or the default conf) or a table location (a
    path or URI: anything with a ``/``). The same MERGE as the jobs use:
    delta-spark with the jar, leadlake's copy-on-write MERGE on delta-rs
    otherwise; source keys must be unique and non-null.
    """
    from leadlake import locations
    from leadlake.config import load_conf
    from leadlake.delta.tables import TableRef
    from leadlake.lakehouse import Lakehouse

    conf = conf or load_conf()
    target: str | TableRef = table_or_path
    if "/" in table_or_path:
        target = TableRef(table_or_path, path=locations.normalize_root(table_or_path))
    Lakehouse(df.sparkSession, conf).upsert(df, target, keys, merge_schema=merge_schema)
