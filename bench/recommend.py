"""Recommendations: leadlake's Spark ML ALS vs the `implicit` library's ALS, same interactions, same cores, one run.

    python bench/recommend.py [--leads 20000 100000] [--cores 2]

For each demo size, generates the demo's orders (customers with industry and
personal tastes), splits each customer's last 20% of purchases off as the
holdout (leadlake's own time split), and fits on the same recency-decayed
interest with the same rank, iterations and alpha:

- leadlake: ``fit_als`` (Spark ML ALS, implicit prefs) + top-k for every
  customer, in local mode on ``--cores`` cores;
- implicit 0.7.3: ``AlternatingLeastSquares`` (CPU, ``--cores`` threads, the
  same alpha: both weigh an interaction by 1 + alpha * r) on the same user x
  item matrix, + ``recommend`` for every customer.

Prints seconds for fit + recommend-for-all, the time ratio, and NDCG@10 of
both on the same holdout through the same RankingEvaluator code. Spark's
regParam is scaled by each user's number of ratings (ALS-WR) and implicit's
is not, so implicit keeps its own default (0.01); the quality difference is
reported, not assumed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # implicit threads itself; set before numpy loads OpenBLAS

import numpy as np

K = 10


def ensure_implicit() -> None:
    try:
        import implicit  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "implicit==0.7.3"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    ensure_implicit()
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    from leadlake.config import load_conf
    from leadlake.demo import DemoSpec, demo_frames
    from leadlake.lakehouse import Lakehouse
    from leadlake.reco.evaluation import Holdout, SplitData, ranking_metrics
    from leadlake.reco.interactions import ITEM, USER, InteractionColumns, events
    from leadlake.reco.models import AlsParams, fit_als, recommend
    from leadlake.session import get_spark

    tmp = tempfile.mkdtemp(prefix="bench-reco-")
    conf = load_conf(lakehouse=tmp, overrides={"spark": {"master": f"local[{args.cores}]", "conf": {
        "spark.sql.shuffle.partitions": str(2 * args.cores), "spark.driver.memory": "4g"}}})
    spark = get_spark(conf)
    lh = Lakehouse(spark, conf)
    params = conf.section("reco.als", AlsParams)
    repurchasable = [str(x) for x in conf.get("reco.repurchasable")]
    print(f"ALS rank {params.rank}, {params.max_iter} iterations, alpha {params.alpha}, {args.cores} cores, top {K}")
    print(f"{'leads':>8} {'orders':>8} {'users':>7} {'spark s':>8} {'implicit s':>10} {'ratio':>6} "
          f"{'NDCG spark':>10} {'NDCG implicit':>13}")
    for leads in args.leads:
        orders = demo_frames(lh, DemoSpec(leads=leads))["bronze.orders"]
        ev = events(orders, conf.section("reco.interactions", InteractionColumns)).persist()
        n_orders = ev.count()
        split = SplitData.build(ev, conf.section("reco.holdout", Holdout), 180.0, repurchasable)
        train = split.train.persist()
        users = split.train.select(USER).distinct().persist()
        n_users = users.count()

        t0 = time.perf_counter()
        als = fit_als(train, params, split.index)
        spark_recs = recommend(als, users, K, split.exclude).persist()
        spark_recs.count()
        spark_s = time.perf_counter() - t0

        local = split.index.encode(train).select("user_ix", "item_ix", "strength").toPandas()
        n_u, n_i = len(split.index.users.labels), len(split.index.items.labels)  # one JVM call each
        matrix = csr_matrix((local["strength"].to_numpy(),
                             (local["user_ix"].to_numpy(), local["item_ix"].to_numpy())), shape=(n_u, n_i))
        excluded = split.index.encode(split.exclude).select("user_ix", "item_ix").toPandas()
        t0 = time.perf_counter()
        model = AlternatingLeastSquares(factors=params.rank, alpha=params.alpha, iterations=params.max_iter,
                                        num_threads=args.cores, random_state=params.seed)
        model.fit(matrix, show_progress=False)
        wanted = np.unique(local["user_ix"].to_numpy())
        extra = int(excluded.groupby("user_ix").size().max() or 0) if len(excluded) else 0
        ids, scores = model.recommend(wanted, matrix[wanted], N=min(K + extra, n_i),
                                      filter_already_liked_items=False)
        implicit_s = time.perf_counter() - t0

        user_labels, item_labels = list(split.index.users.labels), list(split.index.items.labels)
        skip = set(zip(excluded["user_ix"], excluded["item_ix"], strict=True))
        rows = []
        for u, items, ss in zip(wanted, ids, scores, strict=True):
            kept = [(int(i), float(s)) for i, s in zip(items, ss, strict=True) if (u, i) not in skip][:K]
            rows += [(user_labels[u], item_labels[i], s, r + 1)
                     for r, (i, s) in enumerate(kept)]
        implicit_recs = spark.createDataFrame(rows, f"{USER} string, {ITEM} string, score double, rank int")
        ndcg_spark = ranking_metrics(spark_recs, split.truth, split.index, K)["ndcg_at_k"]
        ndcg_implicit = ranking_metrics(implicit_recs, split.truth, split.index, K)["ndcg_at_k"]
        print(f"{leads:>8,} {n_orders:>8,} {n_users:>7,} {spark_s:>8.2f} {implicit_s:>10.2f} "
              f"{spark_s / implicit_s:>5.1f}x {ndcg_spark:>10.4f} {ndcg_implicit:>13.4f}")
        for df in (spark_recs, train, users, ev):
            df.unpersist()
        split.release()
    spark.stop()


if __name__ == "__main__":
    main()
