"""What counts as a customer's interest in a product, from any table conf maps to (user, item, time, weight).

Orders are the default: one row per order line, so buying the same seat
three times is three times the interest. A refund line (the conf's
``refund`` column below zero) takes its interest away again, so a product
bought and returned is no interest at all. Older purchases count less: each
row's weight halves every ``half_life_days`` before the newest row.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake.errors import ConfError

USER, ITEM, TS, WEIGHT = "user", "item", "ts", "weight"


@dataclass(frozen=True)
class InteractionColumns:
    """``reco.interactions`` in conf: where interest is recorded and what its columns are called."""

    table: str
    user: str
    item: str
    ts: str
    weight: str | None = None
    refund: str | None = None


def events(df: DataFrame, cols: InteractionColumns) -> DataFrame:
    """(user, item, ts, weight) per row, string ids, refunds as negative weight; rows without a user, item or time
    are left out (they say nothing about anyone's interest)."""
    missing = [c for c in (cols.user, cols.item, cols.ts, cols.weight, cols.refund) if c and c not in df.columns]
    if missing:
        raise ConfError(f"reco.interactions names columns {', '.join(missing)} that {cols.table} does not have "
                        f"(it has: {', '.join(df.columns)})")
    weight: Column = F.abs(F.col(cols.weight).cast("double")) if cols.weight else F.lit(1.0)
    sign = F.when(F.col(cols.refund).cast("double") < 0, -1.0).otherwise(1.0) if cols.refund else F.lit(1.0)
    return df.select(
        F.col(cols.user).cast("string").alias(USER), F.col(cols.item).cast("string").alias(ITEM),
        F.col(cols.ts).cast("timestamp").alias(TS), (sign * F.coalesce(weight, F.lit(1.0))).alias(WEIGHT),
    ).where(F.col(USER).isNotNull() & F.col(ITEM).isNotNull() & F.col(TS).isNotNull())


def interest(events_df: DataFrame, half_life_days: float) -> DataFrame:
    """(user, item, strength, interactions): recency-decayed net interest; net refunds and zero interest dropped."""
    newest = F.max(TS).over(Window.partitionBy())
    age_days = (F.col(TS).cast("double") - newest.cast("double")) / -86400.0
    decayed = F.col(WEIGHT) * F.pow(F.lit(0.5), age_days / float(half_life_days))
    return (events_df.withColumn("_w", decayed).groupBy(USER, ITEM)
            .agg(F.sum("_w").alias("strength"), F.sum(F.signum(WEIGHT)).alias("interactions"))
            .where((F.col("strength") > 1e-9) & (F.col("interactions") > 0)))


def owned(events_df: DataFrame) -> DataFrame:
    """(user, item) pairs a user holds: bought more often than returned."""
    return events_df.groupBy(USER, ITEM).agg(F.sum(F.signum(WEIGHT)).alias("_net")).where("_net > 0").select(USER, ITEM)


def time_split(events_df: DataFrame, share: float, min_interactions: int,
               split_at: str | None = None) -> tuple[DataFrame, DataFrame]:
    """(train, test) events: each user's last ``share`` of purchases (users with ``min_interactions`` or more), or
    everything from ``split_at`` on. Refunds stay with the purchase period they fall in."""
    if split_at:
        cut = F.lit(split_at).cast("timestamp")
        return events_df.where(F.col(TS) < cut), events_df.where(F.col(TS) >= cut)
    if not 0 < share < 1:
        raise ConfError(f"reco.holdout.share must be between 0 and 1, got {share}")
    by_user = Window.partitionBy(USER)
    ranked = (events_df.withColumn("_n", F.sum((F.col(WEIGHT) > 0).cast("int")).over(by_user))
              .withColumn("_pos", F.percent_rank().over(by_user.orderBy(TS, ITEM))))
    is_test = (F.col("_n") >= min_interactions) & (F.col("_pos") >= 1.0 - share)
    ranked = ranked.withColumn("_test", is_test)
    return ranked.where(~F.col("_test")).drop("_n", "_pos", "_test"), ranked.where("_test").drop("_n", "_pos", "_test")
