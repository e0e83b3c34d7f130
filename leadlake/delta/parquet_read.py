"""Plain Delta tables on a local disk, read by Spark's own Parquet reader instead of the delta-rs data source.

A Delta table's version is a list of Parquet files. Where those files are
all there is to it and the JVM can open them (a local path, no partition
columns: their values live in the log, not the files), the driver reads the
list from the Delta log with delta-rs and hands it to ``spark.read.parquet``:
no Python planner worker per query, no Python worker per scan task, and
Spark's vectorized reader with its own column pruning and row-group
skipping. A small query on such a table costs half the time, and a full
scan close to plain Parquet's (bench/delta_io.py). Every other table goes
through the data source (leadlake/delta/source.py). Deletion vectors and
column mapping neither reads: ``open_table`` refuses them in one line.

The difference a caller can see: a DataFrame from here reads the version
that was the latest when it was made; one from the data source reads the
version that is the latest when each of its queries is planned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from leadlake.delta.schema import delta_to_spark, select_columns
from leadlake.delta.source import FILE_PATH_COLUMN, open_table
from leadlake.errors import DeltaError
from leadlake.locations import scheme

log = logging.getLogger("leadlake.delta")

# Characters Spark would expand as a glob, or that a file URI would carry encoded, in a path it is given.
UNSAFE_PATH_CHARACTERS = frozenset("{}[]*?\\%")


@dataclass(frozen=True)
class ParquetSnapshot:
    """One version of a plain table: its schema and its files, by local path and as the Delta log names them."""

    uri: str
    version: int
    schema: StructType
    files: dict[str, str]  # local path -> the file's path in the Delta log

    def scan(self, spark: SparkSession, *, columns: Sequence[str] | None = None,
             only: Sequence[str] | None = None, with_file_path: bool = False) -> DataFrame:
        """The rows of this version: ``columns`` of them, of the files ``only`` names (log paths), and with
        ``_leadlake_file`` where a MERGE needs to know which files to rewrite: each row's file as Spark names it
        (a ``file:`` URI), which ``log_path`` turns into the log's path."""
        schema = self.schema if not columns else select_columns(self.schema, columns)
        paths = list(self.files) if only is None else [self.local_path(p) for p in only]
        log.debug("delta read %s v%d: %d files through Spark's Parquet reader", self.uri, self.version, len(paths))
        if not paths:
            df = spark.createDataFrame([], schema)
            return df.withColumn(FILE_PATH_COLUMN, F.lit(None).cast("string")) if with_file_path else df
        df = spark.read.schema(schema).parquet(*[f"file://{p}" for p in paths])
        return df.select("*", F.col("_metadata.file_path").alias(FILE_PATH_COLUMN)) if with_file_path else df

    def local_path(self, log_path: str) -> str:
        return f"{self.uri}/{unquote(log_path)}"

    def log_path(self, file_path: str) -> str:
        """The Delta log's path of a file Spark names in ``_metadata.file_path`` (a ``file:`` URI)."""
        local = unquote(urlsplit(file_path).path)
        if local not in self.files:
            raise DeltaError(f"{file_path} is not a data file of {self.uri} at version {self.version}")
        return self.files[local]


def plain_snapshot(uri: str, *, version: int | None = None, timestamp: str | None = None) -> ParquetSnapshot | None:
    """The table at ``uri`` (its latest version, or the one asked for), or None when it needs the data source."""
    if scheme(uri) != "file" or UNSAFE_PATH_CHARACTERS & set(uri):
        return None
    options = {"versionasof": str(version)} if version is not None else {}
    if timestamp is not None:
        options["timestampasof"] = str(timestamp)
    table = open_table(uri, options)
    if table.metadata().partition_columns:
        return None
    logged = pa.table(table.get_add_actions(flatten=True))["path"].to_pylist()
    files = {f"{uri}/{unquote(p)}": p for p in logged}
    if any(UNSAFE_PATH_CHARACTERS & set(local) for local in files):
        return None
    return ParquetSnapshot(uri, table.version(), delta_to_spark(table.schema()), files)

