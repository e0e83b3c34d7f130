"""Small DataFrame idioms shared by the jobs."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf


def as_of_day(orders: DataFrame | None, conf: Conf, ts: str | None) -> dt.date | None:
    """The day order-based stages (CLV, campaign audiences) describe customers at: conf ``clv.as_of``, else the
    newest order's day (None without orders), so both read one clock and a stale export is not a year idle."""
    fixed = conf.get("clv.as_of")
    if fixed:
        return dt.date.fromisoformat(str(fixed))
    if orders is None or ts is None:
        return None
    return orders.agg(F.max(F.to_date(ts))).first()[0]


def with_overall(df: DataFrame, *aggs: Column) -> DataFrame:
    """``df`` with aggregates over all of its rows (e.g. a maximum to scale by) on every row.

    A window with no ``partitionBy`` computes the same by moving every row into
    one task, and Spark warns about it on each query; a one-row aggregate,
    broadcast and cross-joined, keeps the rows where they are. ``df``'s plan
    appears on both sides; the optimizer prunes the aggregate side to the
    columns it reads (a median of a scored table reads the cached features,
    not the model), so cache ``df`` only when those columns are costly.
    """
    return df.crossJoin(F.broadcast(df.agg(*aggs)))


def reason_label(reason: Column) -> Column:
    """A lead's top reason without its weight ("seniority=vp (+0.47)" -> "seniority=vp"), for people to read."""
    return F.regexp_replace(reason, r"\s*\([+-]?\d+(?:\.\d+)?\)\s*$", "")
