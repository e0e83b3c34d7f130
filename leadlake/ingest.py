"""Bring a user's CRM export into a bronze table, row by row accounted for.

Every row read ends up in exactly one place: the bronze table (valid rows,
upserted on the contract's keys, so re-ingesting a file adds nothing) or
``bronze.quarantine`` (with the raw record and reason codes, keyed so a
re-run adds nothing there either). ``accepted + quarantined == read`` is
checked, not assumed. File-level problems (missing, empty, binary, wrong
encoding, not the announced format, required columns absent) stop the
ingest with one clear line before anything is written.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from leadlake import catalog
from leadlake.contracts import ROW_ORDER, VIOLATIONS, Contract, contract_for, validate
from leadlake.errors import LeadlakeError
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage

log = logging.getLogger("leadlake.ingest")

FORMATS = ("csv", "json", "parquet", "delta")
QUARANTINE_TABLE = catalog.QUARANTINE
CORRUPT = "_corrupt_record"
SOURCE_FILE = "_source_file"
ROW_NUMBER = "_row_number"
RAW = "_raw_record"
SNIFF_BYTES = 64 * 1024


class IngestError(LeadlakeError):
    """The input as a whole cannot be ingested; nothing was written."""


@dataclass
class IngestReport:
    table: str
    source: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        why = ", ".join(f"{k} {v:,}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        return (
            f"ingest {self.source} -> bronze.{self.table}: read {self.read:,}, accepted {self.accepted:,}, "
            f"quarantined {self.quarantined:,}" + (f" ({why})" if why else "")
        )


def _local_files(path: str) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_")))
    return [p]


def _sniff_text(path: str, encoding: str) -> str:
    """First bytes of the first file, decoded; raises for binary, empty or mis-encoded input."""
    if "://" in path:
        return ""
    files = _local_files(path)
    if not files:
        raise IngestError(f"{path} holds no files")
    head = files[0].open("rb").read(SNIFF_BYTES)
    if not head.strip():
        raise IngestError(f"{files[0]} is empty")
    # UTF-16 and binary files are full of NUL bytes; a text export with a stray NUL in one cell is still text,
    # and that row is judged by the contract like any other.
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
    if utf16 or head.count(b"\x00") > max(2, len(head) // 100):
        hint = " (it looks like UTF-16; re-export as UTF-8)" if utf16 else ""
        raise IngestError(f"{files[0]} is not a text file{hint}")
    try:
        text = head.decode(encoding)
    except LookupError:
        raise IngestError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is fine; real damage is not.
        if exc.start < len(head) - 4:
            bad = head.decode(encoding, errors="replace").count("\ufffd")
            if bad > max(3, len(head) // 200):
                raise IngestError(
                    f"{files[0]} is not {encoding} text ({bad} undecodable bytes in the first "
                    f"{len(head):,}); pass --encoding, e.g. --encoding latin-1"
                ) from None
        text = head[: exc.start].decode(encoding, errors="replace")
    return text.lstrip("\ufeff")


def _csv_header(sample: str, delimiter: str, path: str) -> list[str]:
    if sample.lstrip()[:1] in ("{", "["):
        raise IngestError(f"{path} does not look like a CSV: it starts like JSON (use --format json)")
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter))
    except (StopIteration, csv.Error) as exc:
        raise IngestError(f"{path} has no readable CSV header ({exc})") from None
    header = [h.strip() for h in header]
    if len(header) < 2 or any(not h for h in header):
        raise IngestError(
            f"{path} does not look like a CSV with a header row (first line: {sample.splitlines()[0][:120]!r})"
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise IngestError(f"{path} has repeated column names in its header: {', '.join(dupes)}")
    return header


def check_export(path: str, fmt: str, *, encoding: str = "UTF-8", delimiter: str = ",") -> tuple[str, list[str]]:
    """Everything about the export that can be judged without Spark: (sniffed text sample, CSV header).

    The CLI calls it before a session starts, so a wrong path, an empty or
    binary file or a CSV that is really JSON costs the user a second, not a
    JVM start.
    """
    if fmt not in FORMATS:
        raise IngestError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if "://" not in path and not os.path.exists(path):
        raise IngestError(f"input not found: {path}")
    if fmt not in ("csv", "json"):
        return "", []
    sample = _sniff_text(path, encoding)
    return sample, _csv_header(sample, delimiter, path) if fmt == "csv" else []


def read_export(
    spark: SparkSession, path: str, fmt: str, *, encoding: str = "UTF-8", delimiter: str = ","
) -> tuple[DataFrame, str | None]:
    """The export as a DataFrame (text formats as all-string columns) and its corrupt-record column."""
    sample, header = check_export(path, fmt, encoding=encoding, delimiter=delimiter)
    if fmt == "csv":
        schema = T.StructType([T.StructField(h, T.StringType()) for h in header] +
                              [T.StructField(CORRUPT, T.StringType())])
        df = (spark.read.schema(schema)
              .options(header=True, multiLine=True, escape='"', mode="PERMISSIVE",
                       columnNameOfCorruptRecord=CORRUPT, encoding=encoding, sep=delimiter,
                       enforceSchema=True)
              .csv(path))
        return df, CORRUPT
    if fmt == "json":
        df = (spark.read.options(primitivesAsString=True, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT,
                                 encoding=encoding, multiLine=sample.lstrip().startswith("["))
              .json(path))
        if set(df.columns) <= {CORRUPT}:
            raise IngestError(f"{path} is not JSON: no record could be parsed")
        return df, CORRUPT if CORRUPT in df.columns else None
    try:
        df = spark.read.parquet(path) if fmt == "parquet" else spark.read.format("delta").load(path)
        df.schema  # noqa: B018 - forces the footer / log read so a bad input fails here
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise IngestError(f"{path} cannot be read as {fmt}: {first}") from None
    return df, None


def _prepare(df: DataFrame, fmt: str, path: str, corrupt: str | None) -> DataFrame:
    """Add where each row came from, its position in the file, and the raw record."""
    # Spark's JSON reader keeps bytes that are not UTF-8 as they are; Python and Arrow cannot decode them
    # later. They become U+FFFD here, which the contract reports as invalid_utf8 (the CSV reader does the same).
    df = df.select(*[F.make_valid_utf8(F.col(f"`{f.name}`")).alias(f.name) if isinstance(f.dataType, T.StringType)
                     else F.col(f"`{f.name}`") for f in df.schema.fields])
    data_cols = [c for c in df.columns if c != corrupt]
    source = F.col("_metadata.file_path") if fmt != "delta" else F.lit(path)
    raw = F.to_json(F.struct(*[F.col(f"`{c}`") for c in data_cols]))
    if corrupt:
        raw = F.coalesce(F.col(corrupt), raw)
    out = df.select("*", source.alias(SOURCE_FILE), F.monotonically_increasing_id().alias(ROW_ORDER))
    out = out.withColumn(RAW, raw)
    return out.withColumn(
        ROW_NUMBER, F.row_number().over(Window.partitionBy(SOURCE_FILE).orderBy(ROW_ORDER))
    )


def map_columns(df: DataFrame, contract: Contract, mapping: Mapping[str, str]) -> DataFrame:
    """Rename export columns to contract names: --map first, then case-insensitive matches."""
    cols = list(df.columns)
    missing = [src for src in mapping if src not in cols]
    if missing:
        raise IngestError(
            f"--map names columns not in the input: {', '.join(missing)}; "
            f"the input has {', '.join(c for c in cols if not c.startswith('_'))}"
        )
    renames = dict(mapping)
    taken = set(renames.values())
    by_lower = {n.lower(): n for n in contract.names}
    for c in cols:
        if c in renames or c.startswith("_"):
            continue
        target = by_lower.get(c.lower().strip().replace(" ", "_"))
        if target and target != c and target not in taken and target not in cols:
            renames[c] = target
            taken.add(target)
    clash = sorted(t for t in taken if t in cols and t not in renames)
    if clash:
        raise IngestError(f"--map targets already exist in the input: {', '.join(clash)}")
    out = df
    for src, dst in renames.items():
        out = out.withColumnRenamed(src, dst)
    absent = [c for c in contract.required if c not in out.columns]
    if absent:
        raise IngestError(
            f"the input lacks required columns of {contract.table}: {', '.join(absent)} "
            f"(it has {', '.join(c for c in out.columns if not c.startswith('_'))}); map them with --map SRC=DST"
        )
    return out


QUARANTINE_COLUMNS = ["quarantine_id", "table", "source_file", "row_number", "raw_record", "reason", "reasons",
                      "quarantined_at"]


def quarantine_rows(invalid: DataFrame, table: str) -> DataFrame:
    """Rejected rows in the shape of bronze.quarantine; the id is stable so re-runs add nothing."""
    return invalid.select(
        F.sha2(F.concat_ws("|", F.lit(table), F.col(SOURCE_FILE), F.col(ROW_NUMBER).cast("string"),
                           F.col(RAW)), 256).alias("quarantine_id"),
        F.lit(table).alias("table"),
        F.col(SOURCE_FILE).alias("source_file"),
        F.col(ROW_NUMBER).cast("long").alias("row_number"),
        F.col(RAW).alias("raw_record"),
        F.substring_index(F.element_at(VIOLATIONS, 1), ":", 1).alias("reason"),
        F.col(VIOLATIONS).alias("reasons"),
        F.current_timestamp().alias("quarantined_at"),
    )


def ingest(
    lh: Lakehouse,
    table: str,
    path: str,
    fmt: str,
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str = "UTF-8",
    delimiter: str = ",",
) -> IngestReport:
    """Validate an export against ``table``'s contract; upsert valid rows, quarantine the rest."""
    contract = contract_for(lh.conf, table)
    if not contract.keys:
        raise IngestError(f"contract {table} has no keys; ingest needs them to stay idempotent")
    with stage(log, f"read {fmt} {path}") as st:
        raw, corrupt = read_export(lh.spark, path, fmt, encoding=encoding, delimiter=delimiter)
        prepared = _prepare(raw, fmt, path, corrupt)
        mapped = map_columns(prepared, contract, mapping or {})
        checked = validate(mapped, contract, corrupt_col=corrupt).persist()
        counts = checked.agg(
            F.count(F.lit(1)).alias("read"),
            F.sum(F.when(F.size(VIOLATIONS) == 0, 1).otherwise(0)).alias("accepted"),
        ).first()
        st.rows = int(counts["read"])
    try:
        reasons = {
            r["reason"]: int(r["n"])
            for r in checked.where(F.size(VIOLATIONS) > 0)
            .select(F.substring_index(F.element_at(VIOLATIONS, 1), ":", 1).alias("reason"))
            .groupBy("reason").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        report = IngestReport(table, path, int(counts["read"]), int(counts["accepted"] or 0),
                              sum(reasons.values()), reasons)
        if report.accepted + report.quarantined != report.read:
            raise IngestError(
                f"row counts do not reconcile for {path}: accepted {report.accepted} + quarantined "
                f"{report.quarantined} != read {report.read}; nothing was written"
            )
        if report.read == 0:
            log.warning("%s has no data rows; nothing to ingest", path)
            return report
        keep = [c for c in checked.columns if c not in (VIOLATIONS, ROW_ORDER, ROW_NUMBER, RAW)]
        accepted = checked.where(F.size(VIOLATIONS) == 0).select(
            *[F.col(f"`{c}`") for c in keep], F.current_timestamp().alias("_ingested_at")
        )
        with stage(log, f"upsert accepted rows into bronze.{table}") as st:
            lh.upsert(accepted, f"bronze.{table}", list(contract.keys), merge_schema=True)
            st.rows = report.accepted
        if report.quarantined:
            with stage(log, f"quarantine rejected rows into {QUARANTINE_TABLE}") as st:
                lh.upsert(quarantine_rows(checked.where(F.size(VIOLATIONS) > 0), table),
                          QUARANTINE_TABLE, ["quarantine_id"])
                st.rows = report.quarantined
        log.info("%s", report)
        return report
    finally:
        checked.unpersist()
