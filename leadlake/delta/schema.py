"""Spark <-> Delta <-> Arrow schemas.

Delta's schema string is Spark's own StructType JSON, so converting through
JSON is exact: a ``timestamp`` stays a UTC timestamp, ``timestamp_ntz`` stays
local, decimals keep precision and scale, and strings stay ``string`` (never
Arrow's ``large_string`` or ``string_view``, which Spark cannot take).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa
from deltalake import Schema as DeltaSchema
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import (
    ArrayType,
    DataType,
    MapType,
    StructField,
    StructType,
    UserDefinedType,
)

from leadlake.errors import DeltaError, SchemaMismatch

PARTITION_TYPES = ("string", "long", "integer", "short", "byte", "date", "boolean")


def spark_to_delta(schema: StructType) -> DeltaSchema:
    _reject_udts(schema)
    return DeltaSchema.from_json(as_nullable(schema).json())


def delta_to_spark(schema: DeltaSchema) -> StructType:
    return StructType.fromJson(json.loads(schema.to_json()))


def arrow_schema(schema: StructType) -> pa.Schema:
    """The Arrow schema Spark expects for ``schema`` in Python data source batches."""
    return to_arrow_schema(schema, timezone="UTC")


def as_nullable(schema: StructType) -> StructType:
    """Delta tables created from DataFrames have nullable columns (as delta-spark does)."""
    return StructType.fromJson(_nullable_json(json.loads(schema.json())))


def _nullable_json(node: dict) -> dict:
    if node.get("type") == "struct":
        for f in node["fields"]:
            f["nullable"] = True
            if isinstance(f["type"], dict):
                f["type"] = _nullable_json(f["type"])
    elif node.get("type") == "array":
        node["containsNull"] = True
        if isinstance(node["elementType"], dict):
            node["elementType"] = _nullable_json(node["elementType"])
    elif node.get("type") == "map":
        node["valueContainsNull"] = True
        for k in ("keyType", "valueType"):
            if isinstance(node[k], dict):
                node[k] = _nullable_json(node[k])
    return node


def _reject_udts(schema: StructType) -> None:
    for f in schema.fields:
        if _has_udt(f.dataType):
            raise SchemaMismatch(
                f"column {f.name!r} is a {f.dataType.simpleString()} (a Spark UDT such as an ML "
                "vector); store it as array<double> with pyspark.ml.functions.vector_to_array, "
                "or write through leadlake.delta.write_table, which converts vectors for you"
            )


def _has_udt(dt: DataType) -> bool:
    if isinstance(dt, UserDefinedType):
        return True
    if isinstance(dt, ArrayType):
        return _has_udt(dt.elementType)
    if isinstance(dt, MapType):
        return _has_udt(dt.keyType) or _has_udt(dt.valueType)
    if isinstance(dt, StructType):
        return any(_has_udt(f.dataType) for f in dt.fields)
    return False


def _strip_nullability(dt: DataType) -> str:
    return as_nullable(StructType([StructField("x", dt)])).fields[0].dataType.simpleString()


def check_append(table: StructType, incoming: StructType, *, merge_schema: bool) -> StructType:
    """The table schema after appending ``incoming``, or a SchemaMismatch naming the columns.

    Like delta-spark: columns missing from the incoming data read as null,
    extra columns need ``mergeSchema``, a changed type is always refused.
    """
    by_name = {f.name.lower(): f for f in table.fields}
    extra = [f for f in incoming.fields if f.name.lower() not in by_name]
    changed = [
        f"{f.name} ({by_name[f.name.lower()].dataType.simpleString()} in the table, "
        f"{f.dataType.simpleString()} in the data)"
        for f in incoming.fields
        if f.name.lower() in by_name
        and _strip_nullability(by_name[f.name.lower()].dataType) != _strip_nullability(f.dataType)
    ]
    if changed:
        raise SchemaMismatch("schema mismatch, column types differ: " + "; ".join(changed))
    if extra and not merge_schema:
        raise SchemaMismatch(
            "schema mismatch, columns not in the table: "
            + ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in extra)
            + " (write with mergeSchema=true to add them)"
        )
    return as_nullable(StructType(list(table.fields) + extra))


def check_partition_columns(schema: StructType, partition_by: list[str]) -> None:
    names = {f.name: f for f in schema.fields}
    for col in partition_by:
        if col not in names:
            raise SchemaMismatch(f"partition column {col!r} is not in the data")
        if names[col].dataType.typeName() not in PARTITION_TYPES:
            raise SchemaMismatch(
                f"partition column {col!r} has type {names[col].dataType.simpleString()}; "
                f"partition by one of: {', '.join(PARTITION_TYPES)}"
            )


def select_columns(schema: StructType, columns: Sequence[str]) -> StructType:
    """The fields ``columns`` name, in their order, matched as Delta matches names (ignoring case)."""
    by_name = {f.name.lower(): f for f in schema.fields}
    missing = [c for c in columns if c.lower() not in by_name]
    if missing:
        raise DeltaError(f"columns not in the table: {', '.join(missing)}; "
                         f"the table has {', '.join(f.name for f in schema.fields)}")
    return StructType([by_name[c.lower()] for c in columns])
