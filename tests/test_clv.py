"""Customer lifetime value: order rules, customer features, CLV and churn models, gold.customer_clv."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from pyspark.sql import functions as F

from leadlake.clv.btyd import BetaGeoModel, GammaGammaModel, discounted_clv, periods_per_month
from leadlake.clv.features import customer_features
from leadlake.clv.model import value_metrics
from leadlake.clv.orders import OrderColumns, resolve_as_of, usable_orders
from leadlake.clv.scoring import CLV_TABLE, SEGMENTS, score_clv
from leadlake.clv.training import train_clv
from leadlake.ingest import QUARANTINE_TABLE
from leadlake.lakehouse import Lakehouse

from .conftest import make_conf

D = dt.datetime


def _orders(spark):
    rows = [
        ("o1", "single", D(2025, 1, 10), 100.0, "P1", 1),
        ("o2", "zero", D(2025, 1, 5), 0.0, "P1", 1),
        ("o3", "zero", D(2025, 2, 5), 0.0, "P1", 1),
        ("o4", "sameday", D(2025, 1, 10, 9), 50.0, "P1", 1),
        ("o5", "sameday", D(2025, 1, 10, 17), 30.0, "P2", 1),
        ("o6", "sameday", D(2025, 3, 1), 20.0, "P2", 1),
        ("o7", "refund", D(2025, 1, 1), 200.0, "P1", 2),
        ("o8", "refund", D(2025, 1, 15), -200.0, "P1", -2),
        ("o9", "future", D(2025, 2, 1), 40.0, "P1", 1),
        ("o10", "future", D(2099, 1, 1), 40.0, "P1", 1),
        ("o11", "orphan_refund", D(2025, 2, 1), -15.0, "P1", -1),
        ("o12", None, D(2025, 2, 1), 15.0, "P1", 1),
        ("o13", "nan", D(2025, 2, 1), float("nan"), "P1", 1),
        ("o14", "late", D(2025, 7, 1), 60.0, "P1", 1),
    ]
    return spark.createDataFrame(rows, "order_id string, customer_id string, ts timestamp, amount double, "
                                       "product_id string, quantity int")


def test_order_edge_cases_are_quarantined_or_follow_the_documented_rules(lakehouse):
    lakehouse.write(_orders(lakehouse.spark), "bronze.orders")
    accepted, check = usable_orders(lakehouse, today=dt.date(2025, 7, 1))
    assert check.read == 14 and check.accepted + sum(check.quarantined.values()) == check.read
    assert {k: v for k, v in check.quarantined.items() if v} == {
        "missing_customer": 1, "missing_amount": 1, "future_date": 1, "refund_without_purchase": 1}
    quarantined = lakehouse.read(QUARANTINE_TABLE).where(F.col("source_file") == "leadlake clv")
    assert sorted(r.reason for r in quarantined.collect()) == sorted(
        ["missing_customer", "missing_amount", "future_date", "refund_without_purchase"])
    assert '"order_id":"o10"' in quarantined.where(F.col("reason") == "future_date").first().raw_record
    usable_orders(lakehouse, today=dt.date(2025, 7, 1))  # a re-run quarantines nothing twice
    assert lakehouse.read(QUARANTINE_TABLE).count() == 4
    assert resolve_as_of(accepted, lakehouse.conf, OrderColumns()) == dt.date(2025, 7, 1)

    rows = {r.customer_id: r for r in customer_features(
        lakehouse, accepted, dt.date(2025, 6, 1), dt.date(2025, 7, 1)).collect()}
    assert set(rows) == {"single", "zero", "sameday", "refund", "future"}  # "late" bought after the cut-off
    single = rows["single"]
    assert (single.frequency, single.recency, single.monetary_value) == (0.0, 0.0, 0.0)
    weeks_to_cutoff = single["T"]
    assert weeks_to_cutoff == pytest.approx((dt.date(2025, 6, 1) - dt.date(2025, 1, 10)).days / 7)
    assert single.ipt_mean_days is None and single.spend_holdout == 0.0 and single.churned == 1.0
    assert (rows["zero"].frequency, rows["zero"].monetary_value, rows["zero"].gross_spend) == (1.0, 0.0, 0.0)
    assert rows["zero"].return_rate is None
    same = rows["sameday"]  # two lines on 10 Jan are one purchase of 80
    assert (same.frequency, same.monetary_value, same.max_day_spend, same.ipt_mean_days) == (1.0, 20.0, 80.0, 50.0)
    refund = rows["refund"]  # a refund is a return, not a purchase
    assert (refund.frequency, refund.gross_spend, refund.refund_amount, refund.return_rate) == (0.0, 200.0, 200.0, 1.0)
    assert rows["future"].frequency == 0.0  # its 2099 line never reached the features


def test_discounted_clv_telescopes_to_purchases_times_spend_without_discount():
    bg, gg = BetaGeoModel(0.243, 4.414, 0.793, 2.426, 0), GammaGammaModel(6.25, 3.74, 15.44, 0)
    x, t_x, t, m = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.4, 35.0]), np.array([38.9, 38.9, 38.9]), \
        np.array([0.0, 35.0, 50.0])
    undiscounted = discounted_clv(bg, gg, 12, 0.0, "W", x, t_x, t, m)
    expected = bg.expected_purchases(12 * periods_per_month("W"), x, t_x, t) * gg.expected_spend(x, m)
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-9)
    discounted = discounted_clv(bg, gg, 12, 0.01, "W", x, t_x, t, m)
    assert np.all(discounted < undiscounted) and np.all(discounted > undiscounted / 1.01 ** 12)


def test_value_metrics_match_numpy_and_scipy_with_ties(spark):
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    y = np.where(rng.random(200) < 0.5, 0.0, rng.gamma(2.0, 100.0, 200).round(0))
    p = np.maximum(y * 0.5 + rng.normal(0, 60, 200), 0).round(0)
    df = spark.createDataFrame([(f"c{i:03d}", float(a), float(b)) for i, (a, b) in enumerate(zip(p, y, strict=True))],
                               "customer_id string, p double, spend_holdout double")
    got = value_metrics(df, "p")
    assert got["spearman"] == pytest.approx(spearmanr(p, y).statistic, abs=1e-9)
    assert got["rmse"] == pytest.approx(math.sqrt(np.mean((p - y) ** 2)))
    assert got["mae"] == pytest.approx(np.mean(np.abs(p - y)))
    order = sorted(range(200), key=lambda i: (-p[i], f"c{i:03d}"))[:40]
    assert got["top20_capture"] == pytest.approx(y[order].sum() / y.sum())
    assert got["top20_capture"] <= got["top20_capture_best"] == pytest.approx(np.sort(y)[-40:].sum() / y.sum())


@pytest.fixture(scope="module")
def trained_clv(demo_copy):
    return demo_copy, train_clv(demo_copy)


def test_customer_features_never_see_after_the_cutoff(trained_clv):
    lh, report = trained_clv
    orders, _ = usable_orders(lh)
    full = customer_features(lh, orders, report.cutoff)
    cut = customer_features(lh, orders.where(F.to_date("ts") <= F.lit(report.cutoff)), report.cutoff)
    cols = [c for c in full.columns if c not in ("customer_id", "cutoff", "text_embedding")]
    assert full.count() == cut.count() > 50
    assert full.select("customer_id", *cols).exceptAll(cut.select("customer_id", *cols)).count() == 0
    stored = lh.read("silver.customer_features").where(F.col("cutoff") == F.lit(report.cutoff))
    buyers = orders.where((F.to_date("ts") <= F.lit(report.cutoff)) & (F.col("amount") >= 0)) \
        .select("customer_id").distinct().count()
    assert stored.count() == buyers
    assert stored.where(F.col("fb_sentiment").isNotNull() & F.col("text_embedding").isNotNull()).count() > 0
    orders.unpersist()


def test_train_clv_measures_the_model_beside_btyd_and_logs_it(trained_clv):
    import mlflow

    lh, report = trained_clv
    print("\n", report)
    # as_of defaults to the newest order's day; the holdout is the 12 months before it.
    newest = lh.read("bronze.orders").where("amount > 0").agg(F.max("ts")).first()[0].date()
    assert report.as_of == newest and report.cutoff == newest.replace(year=newest.year - 1)
    for metrics in (report.model, report.btyd):
        assert 0.0 <= metrics["top20_capture"] <= metrics["top20_capture_best"] <= 1.0
        assert metrics["n"] == report.test_rows
    # Both rank customers far better than chance on customers neither saw.
    assert report.model["spearman"] > 0.2 and report.btyd["spearman"] > 0.2
    assert report.churn_auc > 0.55 and report.churn_btyd_auc > 0.55  # 1 - P(alive) is only reported
    assert report.promoted
    client = mlflow.MlflowClient()
    run = client.get_run(report.run_id)
    assert {"test_spearman", "btyd_spearman", "test_top20_capture", "btyd_top20_capture", "test_rmse",
            "btyd_rmse", "churn_roc_auc"} <= set(run.data.metrics)
    assert float(run.data.params["btyd.r"]) > 0
    assert "plots/decile_calibration.png" in [f.path for f in client.list_artifacts(report.run_id, "plots")]


def test_score_clv_writes_one_row_per_customer_with_documented_segments(trained_clv):
    lh, _ = trained_clv
    first = score_clv(lh)
    before = {r.customer_id: r for r in lh.read(CLV_TABLE).collect()}
    again = score_clv(lh)
    after = {r.customer_id: r for r in lh.read(CLV_TABLE).collect()}
    assert first.total == again.total == len(after) == first.scored
    assert all(after[c].clv_12m == before[c].clv_12m and after[c].value_segment == before[c].value_segment
               for c in after)
    rows = list(after.values())
    assert {r.value_segment for r in rows} <= set(SEGMENTS)
    assert all(r.clv_12m >= 0 and 0 <= r.p_alive <= 1 and 0 <= r.p_churn <= 1 for r in rows)
    assert all((r.churn_risk == "high") == (r.p_churn >= 0.6) for r in rows)
    assert all(r.churn_risk == "high" for r in rows if r.value_segment in ("at_risk", "hibernating"))
    by = {s: [r.clv_12m for r in rows if r.value_segment == s] for s in ("champions", "loyal", "occasional")}
    assert by["champions"] and min(by["champions"]) >= max(by["loyal"], default=0) >= max(by["occasional"], default=0)
    assert sum(n for _, n, _ in first.segments) == first.total

    from leadlake.needs.mining import customer_values

    by_clv = Lakehouse(lh.spark, lh.conf.with_overrides({"needs": {"priority": {"value_source": "clv"}}}))
    values = {r.customer_id: r.customer_value for r in customer_values(by_clv).collect()}
    assert values == {c: float(r.clv_12m) for c, r in after.items()}
    # The default, net spend, does not depend on whether score-clv ran.
    spend = customer_values(lh)
    assert spend.count() == lh.read("bronze.orders").select("customer_id").distinct().count()


def test_a_clv_model_that_loses_to_btyd_is_not_what_score_clv_serves(trained_clv):
    """Constructed: one depth-1 tree per model ranks customers in a few ties, below BTYD; BTYD is served."""
    lh, _ = trained_clv
    weak = lh.with_conf(lh.conf.with_overrides({"clv": {
        "text_pca_k": 0, "model": {"max_iter": 1, "max_depth": 1},
        "mlflow": {"registered_model": "weak_clv_test"}}}))
    report = train_clv(weak)
    print("\n", report)
    assert report.model["spearman"] < report.btyd["spearman"]
    assert report.serves == "btyd" and "serves the BTYD baseline" in str(report)
    assert report.promoted  # no champion of this name yet: the version is champion, serving its baseline
    scored = score_clv(weak)
    assert "the BTYD baseline of CLV model" in str(scored)
    rows = lh.read(CLV_TABLE).collect()
    assert rows and all(r.clv_12m == r.clv_btyd_12m for r in rows)


def test_clv_jobs_fail_in_one_line_without_orders_or_champion(spark, tmp_path, capsys):
    from leadlake.cli import main

    root = str(tmp_path / "empty")
    assert main(["train-clv", "--lakehouse", root]) == 2
    assert main(["score-clv", "--lakehouse", root]) == 2
    err = capsys.readouterr().err
    assert "no orders table bronze.orders" in err and "run train-clv first" in err
    assert "Traceback" not in err


def test_churn_source_is_the_best_on_held_out_customers_unless_set(spark):
    from leadlake.clv.model import churn_probability
    from leadlake.clv.training import choose_churn_source
    from leadlake.errors import ConfError

    conf = make_conf("/tmp/unused")
    assert choose_churn_source(conf, {"gbt": 0.79, "p_no_purchase": 0.81, "not_alive": 0.67}) == "p_no_purchase"
    assert choose_churn_source(conf, {"gbt": 0.84, "p_no_purchase": 0.81, "not_alive": 0.67}) == "gbt"
    assert choose_churn_source(conf, {"gbt": 0.81, "p_no_purchase": 0.81, "not_alive": 0.81}) == "not_alive"
    pinned = make_conf("/tmp/unused", clv={"churn": {"source": "not_alive"}})
    assert choose_churn_source(pinned, {"gbt": 0.9, "p_no_purchase": 0.8, "not_alive": 0.5}) == "not_alive"
    with pytest.raises(ConfError, match=r"clv\.churn\.source must be auto or one of gbt, p_no_purchase, not_alive"):
        choose_churn_source(make_conf("/tmp/unused", clv={"churn": {"source": "lasso"}}), {})
    df = spark.createDataFrame([(0.25, 0.9, 0.4)], "p_churn double, p_alive double, p_no_purchase double")
    got = df.select(*[churn_probability(s).alias(s) for s in ("gbt", "p_no_purchase", "not_alive", "bgnbd")]).first()
    assert (got.gbt, got.p_no_purchase, got.bgnbd) == (0.25, 0.4, 0.4) and got.not_alive == pytest.approx(0.1)
