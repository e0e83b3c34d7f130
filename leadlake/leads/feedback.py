"""``feedback``: observed conversions flow back into the tiers and into the retrain decision.

For every scored lead whose deal has closed since, we know whether it
converted. From those outcomes:

- tier cut-offs are re-tuned: ``high`` is the lowest ``p_convert`` at which the
  leads at or above it converted at ``leads.feedback.high_precision`` or better
  (and no more than ``max_high_share`` of leads, when set: sales capacity per
  week divided by leads per week); ``mid``
  likewise for ``mid_precision``. New cut-offs are appended to
  ``gold.tier_thresholds`` as a new version only when they changed.
- realised conversion per tier and the population stability index (PSI) of
  today's scores against the champion's validation scores are reported, and a
  retrain is flagged when PSI exceeds ``psi_limit`` or the high tier converts
  below ``min_high_precision``.

Outcomes are binned in Spark (1,000 bins of p_convert), so tuning costs the
same for a thousand leads or a hundred million.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.config import Conf
from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import LeadSchema
from leadlake.leads.scoring import SCORES_TABLE, THRESHOLDS_TABLE, thresholds

log = logging.getLogger("leadlake.leads")

BINS = 1000
PSI_BINS = 10
# The champion's validation p_convert histogram, logged with every training run.
SCORE_HISTOGRAM = "score_histogram.json"


@dataclass(frozen=True)
class FeedbackReport:
    outcomes: int
    old: tuple[float, float]
    new: tuple[float, float]
    version: int
    changed: bool
    precision_by_tier: dict[str, float]
    psi: float | None
    retrain: bool
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        tiers = ", ".join(f"{t} {p:.1%}" for t, p in self.precision_by_tier.items())
        psi = "n/a" if self.psi is None else f"{self.psi:.3f}"
        move = (f"thresholds high {self.old[0]:.3f} -> {self.new[0]:.3f}, mid {self.old[1]:.3f} -> {self.new[1]:.3f} "
                f"(version {self.version})" if self.changed else f"thresholds unchanged (version {self.version})")
        retrain = "retrain recommended: " + "; ".join(self.reasons) if self.retrain else "no retrain needed"
        return f"{self.outcomes:,} closed leads: conversion by tier {tiers}; {move}; score PSI {psi}; {retrain}"


def closed_outcomes(lh: Lakehouse) -> DataFrame:
    """(lead_id, p_convert, tier, won) for scored leads whose outcome is known."""
    conf = lh.conf
    s = LeadSchema.from_conf(conf)
    o = s.outcome
    table = o.get("table") or s.table
    value = F.lower(F.col(o["column"]).cast("string"))
    positive = [str(v).lower() for v in o.get("positive", ["won"])]
    negative = [str(v).lower() for v in o.get("negative", ["lost"])]
    outcomes = lh.read(table).select(F.col(s.id).cast("string").alias("lead_id"),
                                     F.when(value.isin(*positive), 1.0).when(value.isin(*negative), 0.0).alias("won"))
    return lh.read(SCORES_TABLE, columns=["lead_id", "p_convert", "tier"]).join(
        outcomes.where(F.col("won").isNotNull()), "lead_id")


def cutoff_for_precision(bins: np.ndarray, won: np.ndarray, n: np.ndarray, target: float, min_support: int,
                         max_count: float | None = None) -> float | None:
    """Lowest bin edge whose leads at or above it convert at >= target (None when no edge does)."""
    cum_n = np.cumsum(n[::-1])[::-1]
    cum_won = np.cumsum(won[::-1])[::-1]
    best = None
    for i in range(len(bins) - 1, -1, -1):
        if cum_n[i] < min_support:
            continue
        if max_count is not None and cum_n[i] > max_count:
            break
        if cum_won[i] / cum_n[i] >= target:
            best = float(bins[i])
    return best


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected / max(expected.sum(), 1), 1e-4, None)
    a = np.clip(actual / max(actual.sum(), 1), 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def score_histogram(df: DataFrame, col: str = "p_convert") -> np.ndarray:
    rows = df.groupBy(F.least(F.floor(F.col(col) * PSI_BINS), F.lit(PSI_BINS - 1)).alias("b")).count().collect()
    out = np.zeros(PSI_BINS)
    for r in rows:
        if r["b"] is not None:
            out[int(r["b"])] = r["count"]
    return out


@dataclass(frozen=True)
class FeedbackSettings:
    """``leads.feedback`` in conf."""

    high_precision: float
    mid_precision: float
    max_high_share: float | None
    min_support: int
    psi_limit: float
    min_high_precision: float


def run_feedback(lh: Lakehouse, reference: np.ndarray | None = None) -> FeedbackReport:
    conf = lh.conf
    f = conf.section("leads.feedback", FeedbackSettings)
    high_target, mid_target, min_support = f.high_precision, f.mid_precision, f.min_support
    old_high, old_mid = thresholds(lh)
    closed = closed_outcomes(lh).persist()
    try:
        binned = closed.groupBy(F.least(F.floor(F.col("p_convert") * BINS), F.lit(BINS - 1)).alias("b")).agg(
            F.count(F.lit(1)).alias("n"), F.sum("won").alias("won")).collect()
        n = np.zeros(BINS)
        won = np.zeros(BINS)
        for r in binned:
            n[int(r["b"])], won[int(r["b"])] = r["n"], r["won"]
        edges = np.arange(BINS) / BINS
        max_high = f.max_high_share * n.sum() if f.max_high_share else None
        high = cutoff_for_precision(edges, won, n, high_target, min_support, max_high)
        mid = cutoff_for_precision(edges, won, n, mid_target, min_support)
        new_high = round(high, 3) if high is not None else old_high
        new_mid = round(min(mid, new_high), 3) if mid is not None else min(old_mid, new_high)
        by_tier = {r["tier"]: float(r["rate"]) for r in closed.groupBy("tier").agg(F.avg("won").alias("rate"))
                   .collect()}
        precision = {t: by_tier[t] for t in ("high", "mid", "low") if t in by_tier}
        outcomes = int(n.sum())
    finally:
        closed.unpersist()
    drift = psi(reference, score_histogram(lh.read(SCORES_TABLE, columns=["p_convert"]))) \
        if reference is not None else None
    reasons = []
    if drift is not None and drift > f.psi_limit:
        reasons.append(f"score PSI {drift:.3f} > {f.psi_limit}")
    min_high = f.min_high_precision
    if "high" in precision and precision["high"] < min_high:
        reasons.append(f"high tier converts at {precision['high']:.1%} < {min_high:.0%}")
    changed = (new_high, new_mid) != (old_high, old_mid)
    version = 0
    if lh.exists(THRESHOLDS_TABLE):
        version = int(lh.read(THRESHOLDS_TABLE).agg(F.max("version")).first()[0] or 0)
    if changed or version == 0:
        version += 1
        row = lh.spark.createDataFrame(
            [(version, float(new_high), float(new_mid), high_target, mid_target, outcomes,
              precision.get("high"), precision.get("mid"), precision.get("low"), drift, bool(reasons))],
            "version int, high double, mid double, high_precision_target double, mid_precision_target double, "
            "outcomes long, realised_high double, realised_mid double, realised_low double, psi double, "
            "retrain_recommended boolean").withColumn("created_at", F.current_timestamp())
        lh.upsert(row, THRESHOLDS_TABLE, ["version"])
    return FeedbackReport(outcomes, (old_high, old_mid), (new_high, new_mid), version, changed, precision, drift,
                          bool(reasons), tuple(reasons))


def champion_histogram(conf: Conf) -> np.ndarray | None:
    """The champion run's validation score histogram (None when there is no champion or no histogram)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from leadlake.ml import tracking

    tracking.start(conf, "leads")
    version = tracking.champion_version(tracking.registered_name(conf, "leads"))
    if version is None:
        return None
    try:
        data = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/{SCORE_HISTOGRAM}")
    except (MlflowException, OSError):
        log.warning("champion v%s has no %s; PSI not computed", version.version, SCORE_HISTOGRAM)
        return None
    return np.asarray(data["p_convert_histogram"], dtype=float)
