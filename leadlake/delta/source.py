"""A Spark data source named ``delta`` backed by delta-rs, for JVMs without the Delta jar.

Reads plan one Spark partition per data file (small files packed together),
skip files by partition values and min/max statistics, and read Parquet in
the executors. Writes let every task write its own Parquet files into the
table directory and return their ``add`` actions; the driver commits all of
them in one Delta transaction, so readers see all of a write or none of it.
The files and the ``_delta_log`` are plain Delta: delta-spark, delta-rs and
Databricks read them.

Options (case-insensitive), read: ``versionAsOf``, ``timestampAsOf``,
``columns`` (comma list; Python data sources get no column pruning from
Spark, so ``leadlake.delta.read_table`` passes the selected columns here),
``withFilePath`` (adds ``_leadlake_file``), ``files`` (JSON list restricting
the scan), ``maxPartitionBytes``, ``batchSize``.
Write: ``partitionBy`` (comma list; Spark's ``DataFrameWriter.partitionBy``
is not available to Python data sources), ``mergeSchema``,
``overwriteSchema``, ``txnAppId`` + ``txnVersion``, ``userMetadata``,
``maxCommitRetries``, ``targetFileRows``, and for MERGE rewrites
``removeFiles`` + ``readVersion``.
Both: ``storageOptionsSecret``, a JSON object of delta-rs storage options
(object-store credentials and endpoint) for executors whose environment lacks
them; the name carries "secret" so that Spark redacts it in plans and the UI.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    Filter,
    InputPartition,
    WriterCommitMessage,
)
from pyspark.sql.types import StringType, StructField, StructType

from leadlake.delta.schema import (
    arrow_schema,
    check_append,
    check_partition_columns,
    delta_to_spark,
    select_columns,
    spark_to_delta,
)
from leadlake.delta.stats import file_stats, may_match
from leadlake.errors import ConcurrentWriteConflict, DeltaError, SchemaMismatch, TableNotFound
from leadlake.locations import delta_uri, filesystem, normalize_root

log = logging.getLogger("leadlake.delta")

FILE_PATH_COLUMN = "_leadlake_file"
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
DEFAULT_MAX_PARTITION_BYTES = 128 * 1024 * 1024
OPEN_COST_BYTES = 4 * 1024 * 1024
DEFAULT_BATCH_ROWS = 16384
DEFAULT_TARGET_FILE_ROWS = 1_000_000
STORAGE_OPTION = "storageOptionsSecret"


def _flag(options: Mapping[str, str], key: str) -> bool:
    return str(options.get(key, "false")).strip().lower() in ("true", "1", "yes")


def _csv(options: Mapping[str, str], key: str) -> list[str]:
    raw = options.get(key)
    if not raw:
        return []
    raw = raw.strip()
    if raw.startswith("["):
        return [str(c) for c in json.loads(raw)]
    return [c.strip() for c in raw.split(",") if c.strip()]


def table_uri(options: Mapping[str, str]) -> str:
    path = options.get("path")
    if not path:
        raise DeltaError("no table path: use spark.read.format('delta').load(PATH) or .save(PATH)")
    return normalize_root(path)


def storage_of(options: Mapping[str, str]) -> dict[str, str]:
    """The storage options a read or write was given (Spark lower-cases option keys)."""
    raw = options.get(STORAGE_OPTION.lower()) or options.get(STORAGE_OPTION)
    return {str(k): str(v) for k, v in json.loads(raw).items()} if raw else {}


def open_table(uri: str, options: Mapping[str, str] | None = None, storage: Mapping[str, str] | None = None):
    """The table's snapshot at the requested version (latest by default)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    options = options or {}
    storage = dict(storage) if storage is not None else storage_of(options)
    try:
        table = DeltaTable(delta_uri(uri), storage_options=storage or None)
    except TableNotFoundError:
        raise TableNotFound(f"no Delta table at {uri}") from None
    version = options.get("versionasof")
    ts = options.get("timestampasof")
    if version is not None and ts is not None:
        raise DeltaError("give versionAsOf or timestampAsOf, not both")
    try:
        if version is not None:
            table.load_as_version(int(version))
        elif ts is not None:
            table.load_as_version(_parse_ts(ts))
    except (ValueError, OSError, Exception) as exc:
        if isinstance(exc, DeltaError):
            raise
        raise DeltaError(f"cannot time travel {uri} to {version or ts}: {exc}") from None
    _check_readable(table, uri)
    return table


def _parse_ts(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _check_readable(table: Any, uri: str) -> None:
    proto = table.protocol()
    features = set(proto.reader_features or [])
    unsupported = features - {"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}
    config = table.metadata().configuration or {}
    mapping = config.get("delta.columnMapping.mode", "none")
    if unsupported or mapping != "none":
        what = sorted(unsupported) + ([f"columnMapping={mapping}"] if mapping != "none" else [])
        raise DeltaError(
            f"{uri} uses Delta reader features {', '.join(what)} that leadlake's delta-rs "
            "data source does not read; run with the delta-spark jar on the classpath"
        )


# ---- read ------------------------------------------------------------------


class DeltaRsDataSource(DataSource):
    """``spark.read.format("delta")`` / ``df.write.format("delta")`` through delta-rs."""

    @classmethod
    def name(cls) -> str:
        return "delta"

    def schema(self) -> StructType:
        table = open_table(table_uri(self.options), self.options)
        return _project(delta_to_spark(table.schema()), self.options)

    def reader(self, schema: StructType) -> DataSourceReader:
        # File skipping by pushed filters only when asked for (option fileSkipping, with the session's
        # spark.sql.python.filterPushdown.enabled on): Spark 4.1 plans every scan of one relation with the
        # files of the last filter pushed to it, so a DataFrame read once and filtered two ways in one plan
        # would read one filter's files in both branches and lose rows.
        cls = SkippingDeltaRsReader if _flag(self.options, "fileskipping") else DeltaRsReader
        return cls(dict(self.options), schema)

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceArrowWriter:
        return DeltaRsWriter(dict(self.options), schema, overwrite)


def _project(full: StructType, options: Mapping[str, str]) -> StructType:
    cols = _csv(options, "columns")
    if cols:
        full = select_columns(full, cols)
    if _flag(options, "withfilepath"):
        full = StructType([*full.fields, StructField(FILE_PATH_COLUMN, StringType(), False)])
    return full


@dataclass
class DeltaFile:
    path: str
    size: int
    partition_values: dict[str, Any]


class DeltaFilesPartition(InputPartition):
    """The data files one Spark task reads."""

    def __init__(self, files: list[DeltaFile]) -> None:
        super().__init__(len(files))
        self.files = files


class DeltaRsReader(DataSourceReader):
    def __init__(self, options: dict[str, str], schema: StructType) -> None:
        self.options = options
        self.uri = table_uri(options)
        self.storage = storage_of(options)
        table = open_table(self.uri, options)
        # Pin the snapshot now so planning and every task read the same version.
        self.version = table.version()
        self.partition_columns = list(table.metadata().partition_columns)
        self.schema = schema
        self.filters: list[Filter] = []

    def partitions(self) -> list[InputPartition]:
        table = open_table(self.uri, {"versionasof": str(self.version)}, self.storage)
        actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
        only = set(json.loads(self.options["files"])) if self.options.get("files") else None
        parts = set(self.partition_columns)
        files = [
            DeltaFile(
                path=a["path"],
                size=int(a.get("size_bytes") or 0),
                partition_values={c: a.get(f"partition.{c}") for c in self.partition_columns},
            )
            for a in actions
            if (only is None or a["path"] in only) and may_match(self.filters, a, parts)
        ]
        log.info(
            "delta read %s v%d: %d of %d files after skipping",
            self.uri, self.version, len(files), len(actions),
        )
        max_bytes = int(self.options.get("maxpartitionbytes", DEFAULT_MAX_PARTITION_BYTES))
        return _pack(files, max_bytes) or [DeltaFilesPartition([])]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        target = arrow_schema(self.schema)
        fs, root = filesystem(self.uri, self.storage)
        batch_rows = int(self.options.get("batchsize", DEFAULT_BATCH_ROWS))
        for f in partition.files:
            yield from _read_file(fs, root, f, target, batch_rows)


class SkippingDeltaRsReader(DeltaRsReader):
    """The reader that skips files by the filters Spark pushes (partition values, min/max statistics)."""

    def pushFilters(self, filters: list[Filter]) -> Iterator[Filter]:
        # Filters are used to skip files; Spark still applies every one of them to
        # the rows we return, so none is claimed as fully handled.
        self.filters = list(filters)
        yield from filters


def _pack(files: list[DeltaFile], max_bytes: int) -> list[InputPartition]:
    """Spark's file packing: fill partitions up to max_bytes, each file costing its open."""
    parts: list[InputPartition] = []
    current: list[DeltaFile] = []
    size = 0
    for f in sorted(files, key=lambda f: -f.size):
        cost = f.size + OPEN_COST_BYTES
        if current and size + cost > max_bytes:
            parts.append(DeltaFilesPartition(current))
            current, size = [], 0
        current.append(f)
        size += cost
    if current:
        parts.append(DeltaFilesPartition(current))
    return parts


def _read_file(
    fs: pafs.FileSystem,
    root: str,
    f: DeltaFile,
    target: pa.Schema,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    full = f"{root}/{unquote(f.path)}"
    with fs.open_input_file(full) as handle:
        pf = pq.ParquetFile(handle)
        in_file = {n.lower(): n for n in pf.schema_arrow.names}
        wanted = [
            in_file[fld.name.lower()]
            for fld in target
            if fld.name.lower() in in_file and fld.name not in f.partition_values
        ]
        if not wanted:
            rows = pf.metadata.num_rows
            batches: Iterator[pa.RecordBatch] = (
                pa.RecordBatch.from_pydict({}) for _ in range(1 if rows else 0)
            )
            counts = [rows]
        else:
            batches = pf.iter_batches(batch_size=batch_rows, columns=wanted)
            counts = None
        for i, batch in enumerate(batches):
            n = counts[i] if counts else batch.num_rows
            arrays = []
            for fld in target:
                key = fld.name.lower()
                if fld.name == FILE_PATH_COLUMN:
                    arrays.append(pa.array([f.path] * n, pa.string()))
                elif fld.name in f.partition_values:
                    arrays.append(_constant(f.partition_values[fld.name], fld.type, n))
                elif key in in_file and batch.num_columns:
                    col = batch.column(batch.schema.get_field_index(in_file[key]))
                    arrays.append(col if col.type == fld.type else col.cast(fld.type))
                else:
                    arrays.append(pa.nulls(n, fld.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=target)


def _constant(value: Any, typ: pa.DataType, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, typ)
    if isinstance(value, str) and not pa.types.is_string(typ):
        value = _parse_partition_value(value, typ)
    return pa.array([value] * n, typ)


def _parse_partition_value(text: str, typ: pa.DataType) -> Any:
    if pa.types.is_integer(typ):
        return int(text)
    if pa.types.is_boolean(typ):
        return text.lower() == "true"
    if pa.types.is_date(typ):
        return dt.date.fromisoformat(text)
    return text


# ---- write -----------------------------------------------------------------


@dataclass
class AddedFiles(WriterCommitMessage):
    """What one task wrote: the ``add`` actions for its files (paths relative to the table)."""

    adds: list[dict[str, Any]]


class DeltaRsWriter(DataSourceArrowWriter):
    def __init__(self, options: dict[str, str], schema: StructType, overwrite: bool) -> None:
        self.uri = table_uri(options)
        self.storage = storage_of(options)
        self.overwrite = overwrite
        self.options = options
        self.job_id = uuid.uuid4().hex[:12]
        self.merge_schema = _flag(options, "mergeschema")
        self.overwrite_schema = _flag(options, "overwriteschema")
        self.app_id = options.get("txnappid")
        self.app_version = int(options["txnversion"]) if options.get("txnversion") else None
        if (self.app_id is None) != (self.app_version is None):
            raise DeltaError("txnAppId and txnVersion must be given together")
        self.remove_files = json.loads(options.get("removefiles") or "[]")
        self.target_rows = int(options.get("targetfilerows", DEFAULT_TARGET_FILE_ROWS))
        self.skip = False
        self.exists = False
        self.read_version: int | None = None

        requested = _csv(options, "partitionby")
        check_partition_columns(schema, requested)
        table = self._existing()
        if table is None:
            self.partition_by = requested
            self.table_schema = schema
            self.schema_change = False
        else:
            self.exists = True
            self.read_version = (
                int(options["readversion"]) if options.get("readversion") else table.version()
            )
            if self.app_id is not None:
                done = table.transaction_version(self.app_id)
                self.skip = done is not None and done >= self.app_version
            current = delta_to_spark(table.schema())
            self.partition_by = list(table.metadata().partition_columns)
            if overwrite and self.overwrite_schema:
                self.table_schema = schema
                self.partition_by = requested or self.partition_by
                self.schema_change = True
            else:
                if requested and requested != self.partition_by:
                    raise SchemaMismatch(
                        f"table is partitioned by {self.partition_by or 'nothing'}, "
                        f"the write asks for {requested} (use overwriteSchema=true to change it)"
                    )
                if overwrite:
                    _check_overwrite(current, schema)
                self.table_schema = check_append(current, schema, merge_schema=self.merge_schema)
                self.schema_change = len(self.table_schema.fields) != len(current.fields)
        check_partition_columns(schema, [c for c in self.partition_by if c in schema.names])
        self.data_schema = arrow_schema(schema)

    def _existing(self):
        try:
            return open_table(self.uri, storage=self.storage)
        except TableNotFound:
            return None

    def write(self, iterator: Iterator[pa.RecordBatch]) -> AddedFiles:
        if self.skip:
            for _ in iterator:
                pass
            return AddedFiles([])
        writer = _TaskFiles(self.uri, self.data_schema, self.partition_by, self.target_rows, self.job_id,
                            self.storage)
        try:
            for batch in iterator:
                writer.write(batch)
            return AddedFiles(writer.close())
        except BaseException:
            writer.discard()
            raise

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        adds = [a for m in messages if isinstance(m, AddedFiles) for a in m.adds]
        if self.skip:
            log.info("delta write %s: txn %s/%s already committed, nothing to do",
                     self.uri, self.app_id, self.app_version)
            return
        try:
            _commit(self, adds)
        except BaseException:
            _delete(self.uri, adds, self.storage)
            raise

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        _delete(self.uri, [a for m in messages if isinstance(m, AddedFiles) for a in m.adds], self.storage)
        _delete_job_files(self.uri, self.job_id, self.storage)


def _delete_job_files(uri: str, job_id: str, storage: Mapping[str, str], passes: int = 4,
                      settle_s: float = 0.5) -> None:
    """Remove every file this write job created, including those of failed tasks.

    A task whose input died upstream can still be closing its file when the
    job aborts, so look again until a pass finds nothing (files named with the
    job id are never in the log: the job did not commit).
    """
    fs, root = filesystem(uri, storage)
    for i in range(passes):
        selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
        found = [
            f.path for f in fs.get_file_info(selector)
            if f.type == pafs.FileType.File and f"-{job_id}-" in f.base_name and "/_delta_log/" not in f.path
        ]
        for path in found:
            try:
                fs.delete_file(path)
            except OSError:
                log.debug("cleanup of %s failed", path, exc_info=True)
        if not found and i > 0:
            return
        time.sleep(settle_s)


def _check_overwrite(current: StructType, incoming: StructType) -> None:
    cur = {f.name.lower() for f in current.fields}
    new = {f.name.lower() for f in incoming.fields}
    if cur != new:
        missing = sorted(cur - new)
        extra = sorted(new - cur)
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"extra {', '.join(extra)}")
        raise SchemaMismatch(
            "overwrite changes the schema (" + "; ".join(parts) + "); "
            "write with overwriteSchema=true to replace it"
        )
    check_append(current, incoming, merge_schema=False)


class _TaskFiles:
    """The Parquet files one task writes, one open file per partition value."""

    def __init__(self, uri: str, schema: pa.Schema, partition_by: list[str], target_rows: int, job_id: str,
                 storage: Mapping[str, str]):
        self.fs, self.root = filesystem(uri, storage)
        self.job_id = job_id
        self.schema = schema
        self.partition_by = partition_by
        self.data_fields = [f for f in schema if f.name not in partition_by]
        self.file_schema = pa.schema(self.data_fields)
        self.target_rows = target_rows
        self.task = uuid.uuid4().hex
        self.seq = 0
        self.open: dict[tuple, tuple[pq.ParquetWriter, Any, str, int]] = {}
        self.done: list[dict[str, Any]] = []
        self.written: list[str] = []
        self.dirs: set[str] = set()

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if not self.partition_by:
            self._append((), batch)
            return
        table = pa.Table.from_batches([batch])
        keys = table.select(self.partition_by).group_by(self.partition_by).aggregate([])
        for key in keys.to_pylist():
            mask = None
            for col in self.partition_by:
                value = key[col]
                cond = pc.is_null(table[col]) if value is None else pc.equal(table[col], value)
                mask = cond if mask is None else pc.and_(mask, cond)
            part = table.filter(mask)
            for b in part.to_batches():
                self._append(tuple(key[c] for c in self.partition_by), b)

    def _append(self, key: tuple, batch: pa.RecordBatch) -> None:
        data = pa.RecordBatch.from_arrays(
            [batch.column(batch.schema.get_field_index(f.name)) for f in self.data_fields],
            schema=self.file_schema,
        )
        offset = 0
        while offset < data.num_rows:
            entry = self.open.get(key) or self._new_file(key)
            writer, sink, rel, rows = entry
            take = min(self.target_rows - rows, data.num_rows - offset)
            writer.write_batch(data.slice(offset, take))
            offset += take
            self.open[key] = (writer, sink, rel, rows + take)
            if rows + take >= self.target_rows:
                self._finish(key)

    def _new_file(self, key: tuple) -> tuple[pq.ParquetWriter, Any, str, int]:
        dirs = [
            f"{c}={HIVE_NULL if v is None else quote(_partition_text(v), safe='')}"
            for c, v in zip(self.partition_by, key, strict=True)
        ]
        self.seq += 1
        rel = "/".join([*dirs, f"part-{self.seq:05d}-{self.job_id}-{self.task}-c000.snappy.parquet"])
        full = f"{self.root}/{rel}"
        parent = full.rsplit("/", 1)[0]
        if parent not in self.dirs:
            self.fs.create_dir(parent, recursive=True)
            self.dirs.add(parent)
        self.written.append(full)
        sink = self.fs.open_output_stream(full)
        writer = pq.ParquetWriter(sink, self.file_schema, compression="snappy")
        entry = (writer, sink, rel, 0)
        self.open[key] = entry
        return entry

    def _finish(self, key: tuple) -> None:
        writer, sink, rel, _ = self.open.pop(key)
        writer.close()
        sink.close()
        full = f"{self.root}/{rel}"
        info = self.fs.get_file_info(full)
        with self.fs.open_input_file(full) as handle:
            meta = pq.ParquetFile(handle).metadata
        self.done.append(
            {
                "path": quote(rel, safe="/="),
                "size": int(info.size),
                "partition_values": {
                    c: None if v is None else _partition_text(v)
                    for c, v in zip(self.partition_by, key, strict=True)
                },
                "modification_time": int(time.time() * 1000),
                "stats": file_stats(meta, self.file_schema),
            }
        )

    def close(self) -> list[dict[str, Any]]:
        for key in list(self.open):
            self._finish(key)
        return self.done

    def discard(self) -> None:
        for writer, sink, _, _ in self.open.values():
            try:
                writer.close()
                sink.close()
            except Exception:
                log.debug("closing a discarded file failed", exc_info=True)
        self.open.clear()
        for full in self.written:
            try:
                self.fs.delete_file(full)
            except Exception:
                log.debug("deleting %s failed", full, exc_info=True)


def _partition_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _delete(uri: str, adds: list[dict[str, Any]], storage: Mapping[str, str]) -> None:
    fs, root = filesystem(uri, storage)
    for a in adds:
        try:
            fs.delete_file(f"{root}/{unquote(a['path'])}")
        except Exception:
            log.debug("cleanup of %s failed", a["path"], exc_info=True)


def _commit(w: DeltaRsWriter, adds: list[dict[str, Any]]) -> None:
    from deltalake import DeltaTable
    from deltalake.exceptions import CommitFailedError
    from deltalake.exceptions import DeltaError as RsDeltaError
    from deltalake.transaction import (
        AddAction,
        CommitProperties,
        Transaction,
        create_table_with_add_actions,
    )

    actions: list[Any] = [
        AddAction(a["path"], a["size"], a["partition_values"], a["modification_time"], True,
                  a["stats"])
        for a in adds
    ]
    app = [Transaction(w.app_id, w.app_version)] if w.app_id is not None else None
    metadata = {"userMetadata": w.options["usermetadata"]} if w.options.get("usermetadata") else None
    schema = spark_to_delta(w.table_schema)
    blind_append = not w.overwrite and not w.remove_files
    retries = int(w.options.get("maxcommitretries", 10)) if blind_append else 0
    uri, storage = delta_uri(w.uri), w.storage or None
    props = CommitProperties(
        custom_metadata=metadata, max_commit_retries=retries, app_transactions=app
    )
    try:
        if not w.exists:
            create_table_with_add_actions(
                uri, schema, actions, mode="error", partition_by=w.partition_by,
                storage_options=storage, commit_properties=props,
            )
        elif w.overwrite and w.schema_change:
            create_table_with_add_actions(
                uri, schema, actions, mode="overwrite", partition_by=w.partition_by,
                storage_options=storage, commit_properties=props,
            )
        else:
            table = DeltaTable(uri, version=w.read_version, storage_options=storage)
            if w.schema_change:
                _add_columns(table, w.table_schema)
                table = DeltaTable(uri, version=w.read_version + 1, storage_options=storage)
            if w.remove_files:
                actions += _removals(table, set(w.remove_files))
            table.create_write_transaction(
                actions,
                mode="overwrite" if w.overwrite else "append",
                schema=schema,
                partition_by=w.partition_by or None,
                commit_properties=props,
            )
    except CommitFailedError as exc:
        raise ConcurrentWriteConflict(
            f"another writer committed to {w.uri} after this write read version "
            f"{w.read_version}; nothing was committed, retry the write ({exc})"
        ) from None
    except RsDeltaError as exc:
        text = str(exc)
        if "already exists" in text.lower() or "version already exists" in text.lower():
            raise ConcurrentWriteConflict(
                f"another writer created or committed to {w.uri} concurrently; retry ({text})"
            ) from None
        raise DeltaError(f"commit to {w.uri} failed: {text}") from None
    log.info("delta write %s: committed %d files", w.uri, len(actions))


def _add_columns(table: Any, target: StructType) -> None:
    """mergeSchema: add the new nullable columns in a metadata-only commit first."""
    from deltalake.schema import Field

    current = {f.name.lower() for f in delta_to_spark(table.schema()).fields}
    new_fields = [f for f in target.fields if f.name.lower() not in current]
    if new_fields:
        delta_new = spark_to_delta(StructType(new_fields))
        table.alter.add_columns([Field.from_json(f.to_json()) for f in delta_new.fields])


def _removals(table: Any, paths: set[str]) -> list[Any]:
    from deltalake.transaction import RemoveAction

    now = int(time.time() * 1000)
    found = [
        a for a in pa.table(table.get_add_actions(flatten=True)).to_pylist() if a["path"] in paths
    ]
    if len(found) != len(paths):
        raise ConcurrentWriteConflict(
            f"files this MERGE rewrites in {table.table_uri} were removed by another writer; retry the upsert"
        )
    parts = list(table.metadata().partition_columns)
    return [
        RemoveAction(
            a["path"], True, now, int(a["size_bytes"]),
            {c: None if a.get(f"partition.{c}") is None else _partition_text(a[f"partition.{c}"])
             for c in parts},
        )
        for a in found
    ]
