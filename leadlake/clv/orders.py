"""Which order lines the CLV jobs may use, and what "today" is for them.

Order tables that did not come through ``leadlake ingest`` (a warehouse
table, a partner feed) can hold lines no CLV model should see. The rules,
one reason code each:

- ``missing_customer`` / ``missing_ts`` / ``missing_amount``: the line says
  nothing usable (a NaN amount counts as missing).
- ``future_date``: dated after today (UTC) plus one day of clock skew. Such a
  line is a data error, not a purchase the customer will make.
- ``refund_without_purchase``: a refund (negative line) of a customer with no
  purchase on or before its day; the purchase it refunds is not in the table.

Those lines go to ``bronze.quarantine`` (source ``leadlake clv``) and the
check reconciles: accepted + quarantined = read. The other edge cases are
kept and handled by documented rules: same-day lines are one purchase, a
zero-amount line is a purchase of no value, refunds are returns (features
and net revenue, never purchases), and a single-order customer has
frequency 0 (BG/NBD and Gamma-Gamma both define that case).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import LeadlakeError
from leadlake.frames import as_of_day
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage

log = logging.getLogger("leadlake.clv")

REASONS = ("missing_customer", "missing_ts", "missing_amount", "future_date", "refund_without_purchase")
QUARANTINE_SOURCE = "leadlake clv"


class NoOrders(LeadlakeError):
    """CLV needs purchases."""


@dataclass(frozen=True)
class OrderColumns:
    """Where the orders are and what their columns are called (conf ``clv.orders``)."""

    table: str = "bronze.orders"
    customer: str = "customer_id"
    ts: str = "ts"
    amount: str = "amount"
    product: str = "product_id"

    @classmethod
    def from_conf(cls, conf: Conf) -> OrderColumns:
        return cls(**{k: str(v) for k, v in (conf.get("clv.orders") or {}).items()})


@dataclass(frozen=True)
class OrderCheck:
    read: int
    accepted: int
    quarantined: dict[str, int]

    def __str__(self) -> str:
        why = ", ".join(f"{k} {v:,}" for k, v in self.quarantined.items() if v)
        total = sum(self.quarantined.values())
        return f"order lines: read {self.read:,}, accepted {self.accepted:,}, quarantined {total:,}" + (
            f" ({why})" if why else "")


def _reason(cols: OrderColumns, today: dt.date) -> Column:
    amount = F.col(cols.amount).cast("double")
    day = F.to_date(cols.ts)
    first_purchase = F.min(F.when(amount >= 0, day)).over(Window.partitionBy(cols.customer))
    return (F.when(F.col(cols.customer).isNull() | (F.trim(F.col(cols.customer).cast("string")) == ""),
                   "missing_customer")
            .when(F.col(cols.ts).isNull(), "missing_ts")
            .when(amount.isNull() | F.isnan(amount), "missing_amount")
            .when(day > F.date_add(F.lit(today), 1), "future_date")
            .when((amount < 0) & (first_purchase.isNull() | (first_purchase > day)), "refund_without_purchase"))


def check_orders(orders: DataFrame, cols: OrderColumns, today: dt.date) -> tuple[DataFrame, DataFrame]:
    """(accepted lines, rejected lines with ``reason``): lazily, from one pass's reason column."""
    missing = [c for c in (cols.customer, cols.ts, cols.amount) if c not in orders.columns]
    if missing:
        raise NoOrders(f"the orders table lacks {', '.join(missing)} (it has {', '.join(orders.columns)}); "
                       "name the columns in conf clv.orders")
    checked = orders.withColumn("_reason", _reason(cols, today))
    return (checked.where(F.col("_reason").isNull()).drop("_reason"),
            checked.where(F.col("_reason").isNotNull()).withColumnRenamed("_reason", "reason"))


def quarantine_rows(rejected: DataFrame, table: str) -> DataFrame:
    """Rejected lines in the shape of bronze.quarantine, keyed so a re-run adds nothing."""
    raw = F.to_json(F.struct(*[F.col(c) for c in rejected.columns if c != "reason"]))
    return rejected.select(
        F.sha2(F.concat_ws("|", F.lit(QUARANTINE_SOURCE), F.lit(table), raw), 256).alias("quarantine_id"),
        F.lit(table).alias("table"), F.lit(QUARANTINE_SOURCE).alias("source_file"),
        F.lit(None).cast("long").alias("row_number"), raw.alias("raw_record"), F.col("reason"),
        F.array(F.col("reason")).alias("reasons"), F.current_timestamp().alias("quarantined_at"))


def usable_orders(lh: Lakehouse, today: dt.date | None = None) -> tuple[DataFrame, OrderCheck]:
    """The accepted order lines (persisted: every CLV stage reads them), after quarantining the rest."""
    conf = lh.conf
    cols = OrderColumns.from_conf(conf)
    if not lh.exists(cols.table):
        raise NoOrders(f"no orders table {cols.table} in {conf.lakehouse}: ingest orders first")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    with stage(log, f"check {cols.table}") as st:
        source = lh.read(cols.table)
        accepted, rejected = check_orders(source, cols, today)
        accepted = accepted.persist()
        rejected = rejected.persist()
        counts = {r["reason"]: r["count"] for r in rejected.groupBy("reason").count().collect()}
        report = OrderCheck(source.count(), accepted.count(), {k: counts.get(k, 0) for k in REASONS})
        st.rows, st.detail = report.read, str(report)
        if report.accepted + sum(counts.values()) != report.read:
            raise LeadlakeError(f"order lines do not reconcile: {report}")
        if sum(counts.values()):
            lh.upsert(quarantine_rows(rejected, cols.table), catalog.QUARANTINE, ["quarantine_id"])
        rejected.unpersist()
    if report.accepted == 0:
        raise NoOrders(f"{cols.table} has no usable order lines ({report})")
    return accepted, report


def resolve_as_of(accepted: DataFrame, conf: Conf, cols: OrderColumns) -> dt.date:
    """The day CLV is computed for: conf ``clv.as_of``, else the newest accepted order's day."""
    return as_of_day(accepted, conf, cols.ts)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later (earlier for negative), clamped to the month's last day like Spark's add_months."""
    import calendar

    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
