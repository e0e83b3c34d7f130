"""BTYD fit: leadlake (Spark summary -> distinct triples -> MLE) vs the `lifetimes` reference, in one run.

    python bench/clv.py [--customers 10000 100000 1000000]

For each N, generates N customers from the BG/NBD and Gamma-Gamma processes
themselves (CDNOW's published parameters, a 12-week acquisition cohort, 39
weeks of calibration, purchase times on whole days), then fits BG/NBD and
Gamma-Gamma on the same customers:

- leadlake: ``fit_bgnbd`` / ``fit_gamma_gamma`` on a cached Spark DataFrame
  of per-customer (frequency, recency, T, monetary_value): a Spark
  aggregation to distinct triples with counts, then a weighted MLE;
- lifetimes 0.11.3: ``BetaGeoFitter`` / ``GammaGammaFitter`` on one row per
  customer (pandas, autograd gradients).

Prints seconds, the ratio, how each grows from one N to the next, the number
of distinct triples, and the largest relative difference of the fitted
parameters (both are maximum-likelihood fits of the same data: they should
agree).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def simulate(n: int, seed: int = 7) -> pd.DataFrame:
    """BG/NBD customers: Poisson purchases at a Gamma rate, dropping out after a purchase with a Beta chance."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(BG["r"], 1.0 / BG["alpha"], n)
    p_drop = rng.beta(BG["a"], BG["b"], n)
    big_t = 39.0 - np.floor(rng.uniform(0, 12, n) * 7) / 7  # weeks from first purchase to the end
    t, x, t_x = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)  # BG/NBD: dropout follows repeat purchases only
    while active.any():
        idx = np.flatnonzero(active)
        step = rng.exponential(1.0 / np.maximum(lam[idx], 1e-12))
        nxt = t[idx] + step
        inside = nxt <= big_t[idx]
        buy = idx[inside]
        t[buy] = nxt[inside]
        day = np.floor(t[buy] * 7) / 7  # purchases land on whole days
        new_day = day > t_x[buy] + 1e-9
        x[buy[new_day]] += 1
        t_x[buy] = np.where(new_day, day, t_x[buy])
        active[idx[~inside]] = False
        active[buy[rng.random(len(buy)) < p_drop[buy]]] = False
    nu = rng.gamma(GG["q"], 1.0 / GG["v"], n)
    spend = _mean_spend(rng, x, nu)
    return pd.DataFrame({"frequency": x, "recency": np.round(t_x, 6), "T": np.round(big_t, 6),
                         "monetary_value": np.round(spend, 2)})


def _mean_spend(rng: np.random.Generator, x: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Mean of k Gamma(p, nu) draws is Gamma(k p, k nu): one draw per customer, no loop."""
    k = np.maximum(x, 1)
    return np.where(x > 0, rng.gamma(GG["p"] * k, 1.0 / (nu * k)), 0.0)


def _ensure_lifetimes() -> None:
    try:
        import lifetimes  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "lifetimes==0.11.3"], check=True)


def _rel_diff(ours: dict, theirs: dict) -> float:
    return max(abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    _ensure_lifetimes()
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    from leadlake.clv.btyd import fit_bgnbd, fit_gamma_gamma
    from leadlake.config import load_conf
    from leadlake.progress import setup_logging
    from leadlake.session import get_spark

    setup_logging("WARNING")
    spark = get_spark(load_conf(lakehouse="/tmp/leadlake-bench-clv"))
    cores = spark.sparkContext.defaultParallelism
    print(f"BTYD fit (BG/NBD + Gamma-Gamma): Spark local mode, {os.cpu_count()} cores, parallelism {cores}, "
          "vs lifetimes 0.11.3 (one process)")
    print(f"{'customers':>10} {'triples':>9} {'leadlake s':>11} {'lifetimes s':>12} {'ratio':>7} "
          f"{'growth ours':>12} {'growth ref':>11} {'max param diff':>15}")
    before = None
    for n in args.customers:
        data = simulate(n)
        df = spark.createDataFrame(data).repartition(cores * 2).cache()
        df.count()
        triples = df.select("frequency", "recency", "T").distinct().count()
        t0 = time.perf_counter()
        bg, gg = fit_bgnbd(df), fit_gamma_gamma(df)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref_bg = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
        repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
        ref_gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
        ref = time.perf_counter() - t0
        diff = max(_rel_diff(bg.params, ref_bg.params_.to_dict()),
                   _rel_diff(gg.params, ref_gg.params_.to_dict()))
        growth = ("", "") if before is None else (f"{ours / before[1]:.1f}x", f"{ref / before[2]:.1f}x")
        print(f"{n:>10,} {triples:>9,} {ours:>11.2f} {ref:>12.2f} {ref / ours:>6.1f}x {growth[0]:>12} "
              f"{growth[1]:>11} {diff:>15.2%}")
        print(f"{'':>10} leadlake {({k: round(v, 4) for k, v in {**bg.params, **gg.params}.items()})}")
        print(f"{'':>10} lifetimes {({k: round(v, 4) for k, v in {**ref_bg.params_, **ref_gg.params_}.items()})}")
        df.unpersist()
        before = (n, ours, ref)
    spark.stop()


if __name__ == "__main__":
    main()
