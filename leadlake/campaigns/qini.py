"""How well a score ranks people by what a campaign changes: Qini curve and coefficient, uplift at the top.

People are ordered by the score (best first) and cut into ``bins`` groups
of equal size by approximate quantiles, so the whole computation is one
aggregation whatever the number of contacts. At each cut the Qini curve is
the incremental responders so far: treated responders minus control
responders scaled to the treated group's size. Random targeting is the
straight line to the same end point. ``qini_coefficient`` is the area
between the curve and that line divided by the number of treated contacts,
so it reads as extra response rate (the area of the uplift curve): 0 for a
random order, positive when the score finds the people the campaign moves,
and the same whatever share of contacts was treated.
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.feature import Bucketizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def _buckets(df: DataFrame, score_col: str, bins: int) -> DataFrame:
    qs = df.approxQuantile(score_col, [i / bins for i in range(1, bins)], 0.001)
    splits = [-float("inf"), *sorted(set(qs)), float("inf")]
    return Bucketizer(splits=splits, inputCol=score_col, outputCol="_bucket", handleInvalid="keep").transform(df)


def qini(df: DataFrame, treatment_col: str, outcome_col: str, score_col: str, bins: int = 100) -> dict:
    """``qini_coefficient``, ``uplift_at_10`` / ``_30`` / ``_50`` (treated minus control response rate among the
    top 10 / 30 / 50 % by score), ``ate`` (the same over everyone), and the ``curve`` as (share targeted,
    incremental responders) points."""
    data = df.select(F.col(score_col).cast("double").alias("_s"), F.col(treatment_col).cast("double").alias("_t"),
                     F.col(outcome_col).cast("double").alias("_y")).dropna()
    per_bucket = _buckets(data, "_s", bins).groupBy("_bucket").agg(
        F.sum("_t").alias("nt"), F.sum(1 - F.col("_t")).alias("nc"),
        F.sum(F.col("_t") * F.col("_y")).alias("yt"), F.sum((1 - F.col("_t")) * F.col("_y")).alias("yc"),
    ).orderBy(F.desc("_bucket")).collect()
    if not per_bucket:
        raise ValueError("no scored contacts with a treatment flag and an outcome")
    a = np.array([[r["nt"], r["nc"], r["yt"], r["yc"]] for r in per_bucket], dtype=float)
    nt, nc, yt, yc = np.cumsum(a, axis=0).T
    n = nt + nc
    if nt[-1] == 0 or nc[-1] == 0:
        raise ValueError("the contacts need both a treated and a control group to measure uplift")
    incremental = yt - np.divide(yc * nt, nc, out=np.zeros_like(yc), where=nc > 0)
    share = n / n[-1]
    x = np.concatenate([[0.0], share])
    curve = np.concatenate([[0.0], incremental])
    random = x * curve[-1]
    area = float(np.sum((x[1:] - x[:-1]) * ((curve[1:] - random[1:]) + (curve[:-1] - random[:-1])) / 2))

    def uplift_at(p: float) -> float:
        i = int(np.searchsorted(share, p - 1e-9))
        i = min(i, len(share) - 1)
        rate_t = yt[i] / nt[i] if nt[i] else 0.0
        rate_c = yc[i] / nc[i] if nc[i] else 0.0
        return float(rate_t - rate_c)

    return {"qini_coefficient": float(area / nt[-1]),
            "uplift_at_10": uplift_at(0.1), "uplift_at_30": uplift_at(0.3), "uplift_at_50": uplift_at(0.5),
            "ate": float(yt[-1] / nt[-1] - yc[-1] / nc[-1]), "contacts": int(n[-1]),
            "curve": [(float(s), float(v)) for s, v in zip(x, curve, strict=True)]}
