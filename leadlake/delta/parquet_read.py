"""Plain Delta tables on a local disk, read by Spark's own Parquet reader instead of the delta-rs data source.

A Delta table's version is a list of Parquet files. Where those files are
all there is to it (no partition columns, deletion vectors or column
mapping) and the JVM can open them (a local path), the driver reads the
list from the Delta log with delta-rs and hands it to ``spark.read.parquet``:
no Python planner worker per query, no Python worker per scan task, and
Spark's vectorized reader with its own column pruning and row-group
skipping. A small query on such a table costs about 40% less
(bench/delta_read.py). Every other table goes through the data source
(leadlake/delta/source.py), which reads all of them.

The difference a caller can see: a DataFrame from here reads the version
that was the latest when it was made; one from the data source reads the
version that is the latest when each of its queries is planned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from leadlake.delta.schema import delta_to_spark
from leadlake.delta.source import open_table
from leadlake.errors import DeltaError
from leadlake.locations import scheme

log = logging.getLogger("leadlake.delta")

# Reader features that change nothing about which rows a version's files hold.
PLAIN_READER_FEATURES = frozenset({"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"})
# Characters Spark would expand as a glob in a path it is given.
GLOB_CHARACTERS = frozenset("{}[]*?\\")


def read_as_parquet(spark: SparkSession, uri: str, *, columns: Sequence[str] | None = None,
                    version: int | None = None, timestamp: str | None = None) -> DataFrame | None:
    """The table at ``uri`` (its latest version, or the one asked for), or None when it needs the data source."""
    if scheme(uri) != "file" or GLOB_CHARACTERS & set(uri):
        return None
    options = {"versionasof": str(version)} if version is not None else {}
    if timestamp is not None:
        options["timestampasof"] = str(timestamp)
    table = open_table(uri, options)
    if not is_plain(table):
        return None
    schema = delta_to_spark(table.schema())
    if columns:
        by_name = {f.name.lower(): f for f in schema.fields}
        missing = [c for c in columns if c.lower() not in by_name]
        if missing:
            raise DeltaError(f"columns not in the table: {', '.join(missing)}; "
                             f"the table has {', '.join(f.name for f in schema.fields)}")
        schema = type(schema)([by_name[c.lower()] for c in columns])
    files = table.file_uris()
    log.debug("delta read %s v%d: %d files through Spark's Parquet reader", uri, table.version(), len(files))
    if not files:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(*[f"file://{f}" for f in files])


def is_plain(table: Any) -> bool:
    """Whether a snapshot's rows are exactly those of its Parquet files, with the table's column names."""
    features = set(table.protocol().reader_features or [])
    metadata = table.metadata()
    mapping = (metadata.configuration or {}).get("delta.columnMapping.mode", "none")
    return features <= PLAIN_READER_FEATURES and mapping == "none" and not metadata.partition_columns
