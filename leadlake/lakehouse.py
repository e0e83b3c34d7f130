"""The lakehouse's Delta tables, by logical name, on either Delta engine.

Jobs call :class:`Lakehouse` and never care which engine is underneath:
delta-spark where its jar is on the classpath (clusters, Databricks), or
leadlake's delta-rs data source otherwise (see :mod:`leadlake.delta.source`).
Both write real Delta tables with the same options.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leadlake import locations
from leadlake.config import Conf
from leadlake.delta.parquet_read import ParquetSnapshot, plain_snapshot
from leadlake.delta.source import FILE_PATH_COLUMN, STORAGE_OPTION, open_table
from leadlake.delta.tables import TableRef, resolve_table
from leadlake.errors import (
    ConcurrentWriteConflict,
    DeltaError,
    LeadlakeError,
    SchemaMismatch,
    TableNotFound,
)
from leadlake.ml.store import ModelStore, model_store
from leadlake.session import activate, delta_engine

__all__ = ["Lakehouse", "TableRef", "resolve_table"]

log = logging.getLogger("leadlake.delta")

WRITE_MODES = ("append", "overwrite")
_OUR_ERRORS = {
    cls.__name__: cls
    for cls in (SchemaMismatch, ConcurrentWriteConflict, TableNotFound, DeltaError)
}
_ERROR_LINE = re.compile(
    r"leadlake\.errors\.(" + "|".join(_OUR_ERRORS) + r"): (.+?)(?:\n|$)"
)


class Lakehouse:
    """The tables of one lakehouse (a root path or a catalog) seen from one SparkSession."""

    def __init__(self, spark: SparkSession, conf: Conf) -> None:
        self.spark = spark
        self.conf = conf
        self.engine = delta_engine(spark)
        self.root = locations.normalize_root(conf.lakehouse)
        self.storage = (
            {} if locations.is_local(self.root)
            else locations.storage_options(self.root, _spark_storage_conf(spark))
        )

    def with_conf(self, conf: Conf) -> Lakehouse:
        """The same session under another conf (other settings for one job, another CRM's columns)."""
        return Lakehouse(self.spark, conf)

    def ref(self, name: str | TableRef) -> TableRef:
        return name if isinstance(name, TableRef) else resolve_table(self.conf, name)

    @property
    def models(self) -> ModelStore:
        """The model store: ``text.models_dir`` or ``<lakehouse>/models``, with the lakehouse's credentials."""
        return model_store(self.conf, None if self.conf.get("text.models_dir") else self.storage)

    def spark_path(self, ref: TableRef) -> str:
        """The path Spark's own readers get: Hadoop's S3 connector is ``s3a://``."""
        return locations.hadoop_uri(str(ref.path)) if self.engine == "delta-spark" else str(ref.path)

    def _plain_snapshot(self, ref: TableRef, *, version: int | None = None,
                        timestamp: str | None = None) -> ParquetSnapshot | None:
        """The version to read with Spark's Parquet reader, or None where the delta-rs data source reads it."""
        if self.engine != "delta-rs" or ref.catalog_name or self.storage \
                or not self.conf.get("delta.spark_parquet_reads"):
            return None
        return plain_snapshot(str(ref.path), version=version, timestamp=timestamp)

    def _storage_options(self) -> dict[str, str]:
        if self.engine != "delta-rs" or not self.storage:
            return {}
        return {STORAGE_OPTION: json.dumps(self.storage)}

    # ---- metadata ----------------------------------------------------------

    def exists(self, name: str | TableRef) -> bool:
        ref = self.ref(name)
        if ref.catalog_name:
            return self.spark.catalog.tableExists(ref.catalog_name)
        if self.engine == "delta-spark":
            from delta.tables import DeltaTable

            return DeltaTable.isDeltaTable(self.spark, self.spark_path(ref))
        try:
            open_table(ref.path, storage=self.storage)
            return True
        except TableNotFound:
            return False

    def version(self, name: str | TableRef) -> int | None:
        """Latest committed version, or None when the table does not exist."""
        history = self.history(name, limit=1)
        return history[0]["version"] if history else None

    def row_count(self, name: str | TableRef) -> int:
        """Rows in the latest version, from the Delta log's statistics when it has them."""
        ref = self.ref(name)
        if ref.path and self.exists(ref):
            import pyarrow as pa
            import pyarrow.compute as pc

            actions = pa.table(open_table(ref.path, storage=self.storage).get_add_actions(flatten=True))
            if actions.num_rows == 0:
                return 0
            if "num_records" in actions.column_names and actions["num_records"].null_count == 0:
                return int(pc.sum(actions["num_records"]).as_py())
        return self.read(ref).count()

    def history(self, name: str | TableRef, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp, operation, and what the writer recorded."""
        ref = self.ref(name)
        if not self.exists(ref):
            return []
        if self.engine == "delta-spark":
            table = self._delta_spark_table(ref)
            rows = table.history(limit) if limit else table.history()
            return [
                {"version": r["version"], "timestamp": r["timestamp"], "operation": r["operation"],
                 "userMetadata": r["userMetadata"]}
                for r in rows.select("version", "timestamp", "operation", "userMetadata").collect()
            ]
        entries = open_table(ref.path, storage=self.storage).history(limit)
        return [
            {"version": h.get("version"), "timestamp": h.get("timestamp"),
             "operation": h.get("operation"), "userMetadata": h.get("userMetadata")}
            for h in entries
        ]

    # ---- read ----------------------------------------------------------------

    def read(
        self,
        name: str | TableRef,
        *,
        columns: Sequence[str] | None = None,
        where: str | Any | None = None,
        version: int | None = None,
        timestamp: str | None = None,
    ) -> DataFrame:
        """A table as a DataFrame; ``columns`` are pruned at the scan, ``where`` filters the rows."""
        ref = self.ref(name)
        if not self.exists(ref):
            raise TableNotFound(f"table {ref.name} does not exist at {ref}")
        activate(self.spark)
        snapshot = self._plain_snapshot(ref, version=version, timestamp=timestamp)
        if snapshot is not None:
            df = snapshot.scan(self.spark, columns=columns)
            return df if where is None else df.where(where)
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        if timestamp is not None:
            reader = reader.option("timestampAsOf", str(timestamp))
        if columns and self.engine == "delta-rs":
            reader = reader.option("columns", ",".join(columns))
        reader = reader.options(**self._storage_options())
        try:
            df = reader.table(ref.catalog_name) if ref.catalog_name else reader.load(self.spark_path(ref))
        except Exception as exc:
            raise _translate(exc) from None
        if columns and self.engine != "delta-rs":
            df = df.select(*columns)
        if where is not None:
            df = df.where(where)
        return df

    # ---- write ---------------------------------------------------------------

    def write(
        self,
        df: DataFrame,
        name: str | TableRef,
        *,
        mode: str = "append",
        partition_by: Sequence[str] | None = None,
        merge_schema: bool = False,
        overwrite_schema: bool = False,
        txn: tuple[str, int] | None = None,
        user_metadata: str | None = None,
        extra_options: dict[str, str] | None = None,
    ) -> None:
        """Append or overwrite in one Delta commit.

        ``txn=(app_id, version)`` makes the write idempotent: a second write with
        the same pair, or an older version, commits nothing (Delta's
        ``txnAppId``/``txnVersion``). Spark ML vectors are stored as
        ``array<double>``, which every Delta reader understands.
        """
        if mode not in WRITE_MODES:
            raise DeltaError(f"write mode must be one of {', '.join(WRITE_MODES)}, not {mode!r}")
        ref = self.ref(name)
        activate(self.spark)
        df = _vectors_as_arrays(df)
        writer = df.write.format("delta").mode(mode)
        options: dict[str, str] = {
            "targetFileRows": str(self.conf.get("delta.target_file_rows")),
            "maxCommitRetries": str(self.conf.get("delta.max_commit_retries")),
        }
        if merge_schema:
            options["mergeSchema"] = "true"
        if overwrite_schema:
            options["overwriteSchema"] = "true"
        if txn is not None:
            options["txnAppId"], options["txnVersion"] = str(txn[0]), str(int(txn[1]))
        if user_metadata:
            options["userMetadata"] = user_metadata
        options.update(self._storage_options())
        options.update(extra_options or {})
        if partition_by:
            if self.engine == "delta-spark":
                writer = writer.partitionBy(*partition_by)
            else:
                options["partitionBy"] = ",".join(partition_by)
        if self.engine == "delta-spark":
            for key in ("targetFileRows", "maxCommitRetries"):
                options.pop(key)
        writer = writer.options(**options)
        try:
            if ref.catalog_name:
                writer.saveAsTable(ref.catalog_name)
            else:
                writer.save(self.spark_path(ref))
        except Exception as exc:
            raise _translate(exc) from None

    def upsert(
        self, df: DataFrame, name: str | TableRef, keys: Sequence[str], *, merge_schema: bool = False
    ) -> None:
        """MERGE ``df`` into the table on ``keys``: update matches, insert the rest.

        Source keys must be unique and non-null, otherwise a key could end up
        twice in the table; that is refused with the offending count. With
        ``merge_schema`` the source may bring new columns (added to the table)
        and may lack some of the table's (matched rows keep their values,
        inserted rows get nulls), as exports of a CRM drift over time.
        """
        keys = list(keys)
        if not keys:
            raise DeltaError("upsert needs at least one key column")
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise DeltaError(f"upsert keys not in the data: {', '.join(missing)}")
        ref = self.ref(name)
        activate(self.spark)
        persisted = _vectors_as_arrays(df).persist()
        source = persisted
        try:
            _check_unique_keys(source, keys, ref.name)
            if not self.exists(ref):
                try:
                    self.write(source, ref, mode="append")
                    return
                except ConcurrentWriteConflict:
                    # Another job created the table between our look and our commit (two ingests' first
                    # rejects racing into bronze.quarantine): it exists now, so this becomes a MERGE into it.
                    log.warning("upsert %s: created by another writer meanwhile; merging into it", ref.name)
            if merge_schema:
                source = self._align_for_merge(source, ref, keys)
            if self.engine == "delta-spark":
                self._merge_delta_spark(source, ref, keys)
            else:
                self._merge_delta_rs(source, ref, keys)
        finally:
            persisted.unpersist()

    def _align_for_merge(self, source: DataFrame, ref: TableRef, keys: list[str]) -> DataFrame:
        table_cols = self.read(ref).columns
        new = [c for c in source.columns if c not in table_cols]
        if new:
            self.write(source.limit(0), ref, mode="append", merge_schema=True)
        absent = [c for c in table_cols if c not in source.columns]
        if absent:
            current = self.read(ref, columns=[*keys, *absent])
            source = source.join(current, keys, "left")
        return source

    def _delta_spark_table(self, ref: TableRef):
        from delta.tables import DeltaTable

        if ref.catalog_name:
            return DeltaTable.forName(self.spark, ref.catalog_name)
        return DeltaTable.forPath(self.spark, self.spark_path(ref))

    def _merge_delta_spark(self, source: DataFrame, ref: TableRef, keys: list[str]) -> None:
        cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        try:
            (
                self._delta_spark_table(ref).alias("t")
                .merge(source.alias("s"), cond)
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )
        except Exception as exc:
            raise _translate(exc) from None

    def _merge_delta_rs(self, source: DataFrame, ref: TableRef, keys: list[str]) -> None:
        """Copy-on-write MERGE, distributed like delta-spark's.

        Find the files holding a source key (semi join), rewrite them without
        those keys plus all source rows, and commit removes and adds in one
        transaction pinned to the version read. If another writer commits in
        between, the commit is refused and the whole MERGE is re-planned.
        """
        retries = int(self.conf.get("delta.merge_retries"))
        table_cols = self.read(ref).columns
        extra = [c for c in source.columns if c not in table_cols]
        if extra:
            raise SchemaMismatch(f"upsert source has columns not in {ref.name}: {', '.join(extra)}")
        absent = [c for c in table_cols if c not in source.columns]
        if absent:
            raise SchemaMismatch(
                f"upsert source lacks columns of {ref.name}: {', '.join(absent)} "
                "(a MERGE updates whole rows)"
            )
        aligned = source.select(*table_cols)
        for attempt in range(retries + 1):
            snapshot = self._plain_snapshot(ref)
            read_version = snapshot.version if snapshot else open_table(ref.path, storage=self.storage).version()
            target = self._version_scan(ref, read_version, snapshot, with_file_path=True)
            touched = [
                snapshot.log_path(r[0]) if snapshot else r[0]
                for r in target.join(aligned.select(*keys), keys, "left_semi")
                .select(FILE_PATH_COLUMN).distinct().collect()
            ]
            out = aligned
            if touched:
                kept = (
                    self._version_scan(ref, read_version, snapshot, only=touched)
                    .join(aligned.select(*keys), keys, "left_anti")
                    .select(*table_cols)
                )
                out = aligned.unionByName(kept)
            try:
                self.write(
                    out, ref, mode="append",
                    extra_options={"removeFiles": json.dumps(touched),
                                   "readVersion": str(read_version)},
                )
                log.info("upsert %s: rewrote %d files at version %d", ref.name, len(touched),
                         read_version)
                return
            except ConcurrentWriteConflict:
                if attempt == retries:
                    raise
                log.warning("upsert %s: concurrent commit, re-planning (attempt %d)", ref.name,
                            attempt + 2)

    def _version_scan(self, ref: TableRef, version: int, snapshot: ParquetSnapshot | None, *,
                      with_file_path: bool = False, only: list[str] | None = None) -> DataFrame:
        """A MERGE's scan of the version it read: through Spark's Parquet reader where ``snapshot`` is that version
        of a plain table, through the data source pinned to it otherwise; ``only`` names files as the log does."""
        if snapshot is not None:
            return snapshot.scan(self.spark, with_file_path=with_file_path, only=only)
        reader = self.spark.read.format("delta").option("versionAsOf", version).options(**self._storage_options())
        if with_file_path:
            reader = reader.option("withFilePath", "true")
        if only is not None:
            reader = reader.option("files", json.dumps(only))
        return reader.load(ref.path)


def _spark_storage_conf(spark: SparkSession) -> dict[str, str]:
    """The object-store properties a cluster may carry instead of environment variables."""
    out = {}
    for key in locations.SPARK_STORAGE_PROPS:
        try:
            value = spark.conf.get(key, None)
        except Exception:
            value = None
        if value:
            out[key] = value
    return out


def _check_unique_keys(df: DataFrame, keys: list[str], table: str) -> None:
    """One pass over the source: rows with a null key and rows repeating a key."""
    null_key = F.lit(False)
    for k in keys:
        null_key = null_key | F.col(k).isNull()
    stats = (
        df.groupBy(*keys).count()
        .agg(
            F.sum(F.when(null_key, F.col("count")).otherwise(0)).alias("nulls"),
            F.sum(F.when(~null_key & (F.col("count") > 1), F.col("count") - 1).otherwise(0)).alias("dups"),
        )
        .first()
    )
    if stats["nulls"]:
        raise DeltaError(
            f"upsert into {table}: {stats['nulls']} source rows have a null key ({', '.join(keys)})"
        )
    if stats["dups"]:
        raise DeltaError(
            f"upsert into {table}: {stats['dups']} source rows repeat a key ({', '.join(keys)}); "
            "deduplicate the source first"
        )


def _vectors_as_arrays(df: DataFrame) -> DataFrame:
    vec = [f.name for f in df.schema.fields if isinstance(f.dataType, VectorUDT)]
    if not vec:
        return df
    return df.select(*[vector_to_array(F.col(c)).alias(c) if c in vec else F.col(c) for c in df.columns])


def _translate(exc: Exception) -> Exception:
    """Turn a Spark-wrapped failure of our data source back into the leadlake error it was."""
    if isinstance(exc, LeadlakeError):
        return exc
    match = _ERROR_LINE.search(str(exc))
    if match:
        return _OUR_ERRORS[match.group(1)](match.group(2).strip())
    return exc
