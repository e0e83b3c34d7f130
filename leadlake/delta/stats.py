"""Per-file statistics: written into each ``add`` action, read back to skip files.

Delta readers (delta-spark, delta-rs, Databricks) skip files whose min/max and
null counts prove a filter cannot match; we write those statistics for every
file we add and use them, with partition values, when planning a read.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql.datasource import (
    EqualNullSafe,
    EqualTo,
    Filter,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNotNull,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    StringStartsWith,
)

# delta-spark truncates string statistics to 32 characters; a truncated max is
# no upper bound, so longer strings simply get no statistics.
MAX_STRING_STAT = 32
_MS = dt.timedelta(milliseconds=1)


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """Delta stats JSON (numRecords, minValues, maxValues, nullCount) from a Parquet footer."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    top_level = {f.name: f.type for f in schema}
    columns: dict[str, list[pq.Statistics | None]] = {}
    for rg in range(metadata.num_row_groups):
        group = metadata.row_group(rg)
        for i in range(group.num_columns):
            col = group.column(i)
            if col.path_in_schema in top_level:
                columns.setdefault(col.path_in_schema, []).append(col.statistics)
    for name, stats_list in columns.items():
        if all(s is not None and s.has_null_count for s in stats_list):
            nulls[name] = int(sum(s.null_count for s in stats_list))
        usable = [s for s in stats_list if s is not None and s.has_min_max]
        if len(usable) != len(stats_list) or not usable:
            continue
        lo = _json_stat(min(s.min for s in usable), top_level[name], upper=False)
        hi = _json_stat(max(s.max for s in usable), top_level[name], upper=True)
        if lo is not None and hi is not None:
            mins[name], maxs[name] = lo, hi
    return json.dumps(
        {"numRecords": metadata.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}
    )


def _json_stat(value: Any, typ: pa.DataType, *, upper: bool) -> Any:
    if pa.types.is_integer(typ):
        return int(value)
    if pa.types.is_floating(typ):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return value if isinstance(value, str) and len(value) <= MAX_STRING_STAT else None
    if pa.types.is_date(typ):
        return value.isoformat()
    if pa.types.is_timestamp(typ) and typ.tz is not None and isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc)
        # Millisecond precision as in delta-spark; round outward so bounds stay bounds.
        trimmed = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if upper and trimmed != value:
            trimmed += _MS
        return trimmed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{trimmed.microsecond // 1000:03d}Z"
    return None


# ---- read side -------------------------------------------------------------


def may_match(
    filters: list[Filter],
    action: dict[str, Any],
    partition_columns: set[str],
) -> bool:
    """False only when the file's partition values or statistics rule out every filter row."""
    return all(_may_match(f, action, partition_columns) for f in filters)


def _column(f: Filter) -> str | None:
    attr = getattr(f, "attribute", None)
    return attr[0] if isinstance(attr, tuple) and len(attr) == 1 else None


def _may_match(f: Filter, action: dict[str, Any], partition_columns: set[str]) -> bool:
    try:
        col = _column(f) if not isinstance(f, Not) else _column(f.child)
        if col is None:
            return True
        if col in partition_columns:
            return _eval_exact(f, action.get(f"partition.{col}"))
        return _eval_range(
            f,
            action.get(f"min.{col}"),
            action.get(f"max.{col}"),
            action.get(f"null_count.{col}"),
            action.get("num_records"),
        )
    except (TypeError, ValueError, AttributeError):
        return True


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _eval_exact(f: Filter, value: Any) -> bool:
    """Partition columns hold one known value per file: evaluate the filter on it."""
    value = _norm(value)
    if isinstance(f, Not):
        inner = _eval_exact(f.child, value)
        return True if value is None and not isinstance(f.child, (IsNull, IsNotNull)) else not inner
    if isinstance(f, IsNull):
        return value is None
    if isinstance(f, IsNotNull):
        return value is not None
    if isinstance(f, EqualNullSafe):
        return value == _norm(f.value)
    if value is None:
        return False
    if isinstance(f, EqualTo):
        return value == _norm(f.value)
    if isinstance(f, In):
        return any(value == _norm(v) for v in f.value)
    if isinstance(f, GreaterThan):
        return value > _norm(f.value)
    if isinstance(f, GreaterThanOrEqual):
        return value >= _norm(f.value)
    if isinstance(f, LessThan):
        return value < _norm(f.value)
    if isinstance(f, LessThanOrEqual):
        return value <= _norm(f.value)
    if isinstance(f, StringStartsWith):
        return str(value).startswith(f.value)
    return True


def _eval_range(f: Filter, lo: Any, hi: Any, nulls: Any, rows: Any) -> bool:
    """Data columns: a file matches unless min/max or null counts exclude it."""
    if isinstance(f, IsNull):
        return nulls is None or nulls > 0
    if isinstance(f, IsNotNull):
        return nulls is None or rows is None or nulls < rows
    all_null = nulls is not None and rows is not None and nulls == rows
    if isinstance(f, (EqualTo, In, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual)):
        if all_null:
            return False
    else:
        return True
    if lo is None or hi is None:
        return True
    lo, hi = _norm(lo), _norm(hi)
    if isinstance(hi, dt.datetime):
        hi = hi + _MS
    if isinstance(f, EqualTo):
        v = _norm(f.value)
        return v is not None and lo <= v <= hi
    if isinstance(f, In):
        return any(v is not None and lo <= _norm(v) <= hi for v in f.value)
    v = _norm(f.value)
    if isinstance(f, GreaterThan):
        return hi > v
    if isinstance(f, GreaterThanOrEqual):
        return hi >= v
    if isinstance(f, LessThan):
        return lo < v
    return lo <= v
