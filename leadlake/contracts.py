"""Data contracts of the bronze tables and the row-level checks they imply.

Contracts live in ``conf/contracts.yaml`` (overridable under ``contracts:`` in a
job's conf). :func:`validate` turns any input DataFrame, typed or all-string,
into the contract's typed columns plus a ``_violations`` array of
``reason:column`` codes, so a bad row is never dropped silently: it is either
accepted or quarantined with its reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from leadlake.config import Conf, conf_dir, deep_merge, read_yaml
from leadlake.errors import ConfError

TYPES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "integer": T.IntegerType(),
    "long": T.LongType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
}

# Reason codes, in the order a row reports them.
REASONS = (
    "malformed_row",
    "invalid_utf8",
    "missing_required",
    "bad_type",
    "bad_date",
    "unknown_enum",
    "negative_amount",
    "out_of_range",
    "text_too_long",
    "bad_format",
    "duplicate_key",
)
VIOLATIONS = "_violations"
ROW_ORDER = "_row_order"


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    normalize: str | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    description: str = ""

    @property
    def spark_type(self) -> T.DataType:
        return TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    table: str
    keys: tuple[str, ...]
    columns: tuple[ColumnRule, ...]
    extra_columns: str = "keep"
    description: str = ""
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(c.name for c in self.columns))

    @property
    def schema(self) -> T.StructType:
        """The contract's columns as Spark types (what the demo generator writes)."""
        return T.StructType([T.StructField(c.name, c.spark_type, True) for c in self.columns])

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _rule(table: str, name: str, spec: dict[str, Any]) -> ColumnRule:
    unknown = set(spec) - set(ColumnRule.__dataclass_fields__) - {"name"}
    if unknown:
        raise ConfError(f"contract {table}.{name}: unknown keys {', '.join(sorted(unknown))}")
    typ = spec.get("type", "string")
    if typ not in TYPES:
        raise ConfError(f"contract {table}.{name}: type {typ!r} is not one of {', '.join(TYPES)}")
    if spec.get("pattern"):
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            raise ConfError(f"contract {table}.{name}: bad pattern ({exc})") from None
    allowed = spec.get("allowed")
    return ColumnRule(
        name=name,
        type=typ,
        required=bool(spec.get("required", False)),
        allowed=tuple(str(a) for a in allowed) if allowed else None,
        normalize=spec.get("normalize"),
        min=spec.get("min"),
        max=spec.get("max"),
        max_length=spec.get("max_length"),
        pattern=spec.get("pattern"),
        format=spec.get("format"),
        description=str(spec.get("description", "")),
    )


def load_contracts(conf: Conf | None = None) -> dict[str, Contract]:
    """Every bronze table's contract: conf/contracts.yaml with the job conf's ``contracts`` over it."""
    data = read_yaml(conf_dir() / "contracts.yaml")
    if conf is not None and conf.get("contracts"):
        data = deep_merge(data, conf.get("contracts"))
    out: dict[str, Contract] = {}
    for table, spec in data.items():
        cols = spec.get("columns") or {}
        if not cols:
            raise ConfError(f"contract {table} has no columns")
        contract = Contract(
            table=table,
            keys=tuple(spec.get("keys") or ()),
            columns=tuple(_rule(table, n, c or {}) for n, c in cols.items()),
            extra_columns=spec.get("extra_columns", "keep"),
            description=str(spec.get("description", "")),
        )
        missing_keys = [k for k in contract.keys if k not in contract.names]
        if missing_keys:
            raise ConfError(f"contract {table}: keys {missing_keys} are not columns")
        out[table] = contract
    return out


def contract_for(conf: Conf | None, table: str) -> Contract:
    contracts = load_contracts(conf)
    if table not in contracts:
        raise ConfError(f"no data contract for table {table!r}; known: {', '.join(sorted(contracts))}")
    return contracts[table]


def _normalized(rule: ColumnRule, raw: Column, raw_type: T.DataType) -> Column:
    """Text as users export it: trimmed, empty meaning missing, optionally case-folded."""
    if not isinstance(raw_type, T.StringType):
        return raw
    col = F.trim(raw)
    col = F.when(col == "", None).otherwise(col)
    if rule.normalize == "lower":
        col = F.lower(col)
    elif rule.normalize == "upper":
        col = F.upper(col)
    return col


def _typed(rule: ColumnRule, value: Column, raw_type: T.DataType) -> Column:
    if isinstance(raw_type, T.StringType) and rule.format and rule.type in ("date", "timestamp"):
        parse = F.try_to_timestamp(value, F.lit(rule.format))
        return parse.cast("date") if rule.type == "date" else parse
    if isinstance(raw_type, T.StringType) and rule.type == "boolean":
        low = F.lower(value)
        return F.when(low.isin("true", "t", "yes", "y", "1"), True).when(
            low.isin("false", "f", "no", "n", "0"), False
        )
    if isinstance(raw_type, T.StringType) and rule.type in ("integer", "long"):
        # "12.0" from spreadsheets is a whole number; "12.5" is not.
        as_dec = value.try_cast(T.DecimalType(38, 6))
        whole = as_dec == F.floor(as_dec)
        return F.when(whole, as_dec.try_cast(rule.spark_type))
    return value.try_cast(rule.spark_type)


def _sql_ref(col: Column) -> str:
    return col._jc.toString()


def validate(df: DataFrame, contract: Contract, *, corrupt_col: str | None = None) -> DataFrame:
    """Typed contract columns, extra columns, and ``_violations`` (empty when the row is valid).

    Columns of the contract missing from ``df`` must be optional (the caller checks
    required ones exist); they come out null. ``df`` must carry ``_row_order``
    so that, among rows sharing a key, the first one is kept and later ones are
    reported as ``duplicate_key``.
    """
    in_types = {f.name: f.dataType for f in df.schema.fields}
    typed_cols: list[Column] = []
    checks: list[Column] = []
    if corrupt_col and corrupt_col in in_types:
        checks.append(F.when(F.col(corrupt_col).isNotNull(), F.lit("malformed_row:")))
    for rule in contract.columns:
        if rule.name not in in_types:
            typed_cols.append(F.lit(None).cast(rule.spark_type).alias(rule.name))
            continue
        raw_type = in_types[rule.name]
        raw = F.col(f"`{rule.name}`")
        value = _normalized(rule, raw, raw_type)
        typed = _typed(rule, value, raw_type)
        typed_cols.append(typed.alias(rule.name))
        tag = rule.name
        if isinstance(raw_type, T.StringType):
            checks.append(F.when(F.contains(raw, F.lit("\ufffd")), F.lit(f"invalid_utf8:{tag}")))
        if rule.required:
            checks.append(F.when(value.isNull(), F.lit(f"missing_required:{tag}")))
        bad_kind = "bad_date" if rule.type in ("date", "timestamp") else "bad_type"
        checks.append(F.when(value.isNotNull() & typed.isNull(), F.lit(f"{bad_kind}:{tag}")))
        if rule.allowed:
            checks.append(F.when(typed.isNotNull() & ~typed.isin(*rule.allowed), F.lit(f"unknown_enum:{tag}")))
        if rule.min is not None:
            below = typed < F.lit(rule.min)
            code = "negative_amount" if rule.min == 0 else "out_of_range"
            checks.append(F.when(typed.isNotNull() & below, F.lit(f"{code}:{tag}")))
        if rule.max is not None:
            checks.append(F.when(typed.isNotNull() & (typed > F.lit(rule.max)), F.lit(f"out_of_range:{tag}")))
        if rule.max_length is not None and rule.type == "string":
            checks.append(
                F.when(F.length(typed) > rule.max_length, F.lit(f"text_too_long:{tag}"))
            )
        if rule.pattern:
            checks.append(F.when(typed.isNotNull() & ~typed.rlike(rule.pattern), F.lit(f"bad_format:{tag}")))
    extra = [
        F.col(f"`{c}`")
        for c in df.columns
        if c not in contract.names and not c.startswith("_") and contract.extra_columns == "keep"
    ]
    passthrough = [F.col(c) for c in df.columns if c.startswith("_") and c != corrupt_col]
    out = df.select(*typed_cols, *extra, *passthrough, F.array_compact(F.array(*checks)).alias(VIOLATIONS))
    return _flag_duplicate_keys(out, contract)


def _flag_duplicate_keys(df: DataFrame, contract: Contract) -> DataFrame:
    if not contract.keys:
        return df
    clean = F.size(VIOLATIONS) == 0
    order = F.col(ROW_ORDER) if ROW_ORDER in df.columns else F.monotonically_increasing_id()
    rank = F.row_number().over(Window.partitionBy(*contract.keys, clean).orderBy(order))
    dup = clean & (rank > 1)
    return df.withColumn(
        VIOLATIONS,
        F.when(dup, F.array(F.lit(f"duplicate_key:{','.join(contract.keys)}"))).otherwise(F.col(VIOLATIONS)),
    )
