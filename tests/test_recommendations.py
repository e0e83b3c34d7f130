"""Product recommendations: ALS against the popularity baseline, content for cold starts, gold.recommendations."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from leadlake.demo.crm import products_frame
from leadlake.reco import evaluate_recommenders, fit_als, recommend
from leadlake.reco.evaluation import SplitData, evaluate_split
from leadlake.reco.interactions import InteractionColumns, events, interest, time_split
from leadlake.reco.models import recommend_by_content
from leadlake.reco.recommend import TABLE, recommend_products
from leadlake.text import embed, encoder_spec

K = 10


SEARCH = {"enabled": True, "sample": 0.8, "rank": [8, 16], "reg_param": [1.0], "alpha": [10.0]}


@pytest.fixture(scope="module")
def recommended(demo_copy):
    lh = demo_copy.with_conf(demo_copy.conf.with_overrides({"reco": {"search": SEARCH}}))
    return lh, recommend_products(lh, encoder_spec(lh.conf))


def test_als_beats_popularity_on_the_time_holdout_and_is_what_is_served(recommended):
    _, report = recommended
    als, popular, content = (report.metrics[m] for m in ("als", "popularity", "content"))
    assert als["users"] >= 50  # customers with 5+ purchases, last 20% of each held out
    assert als["ndcg_at_k"] > popular["ndcg_at_k"] > 0
    assert all(0 <= m[key] <= 1 for m in (als, popular, content) for key in ("precision_at_k", "recall_at_k",
                                                                            "ndcg_at_k", "map_at_k"))
    assert report.serves == "als" and "NDCG@10" in str(report)


def test_the_searched_parameters_are_the_ones_served(recommended):
    import mlflow

    _, report = recommended
    assert [p["rank"] for p, _ in report.search] == SEARCH["rank"]
    assert all(0 < ndcg <= 1 for _, ndcg in report.search)
    best = max(report.search, key=lambda t: t[1])[0]
    assert report.als["rank"] == best["rank"] and report.als["reg_param"] == 1.0
    run = mlflow.search_runs(filter_string="attributes.run_name = 'recommend'", order_by=["start_time DESC"],
                             max_results=1, output_format="list")[0]
    assert run.data.params["als.rank"] == str(best["rank"])
    logged = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/als_search.json")
    assert [p["ndcg_at_k"] for p in logged["points"]] == pytest.approx([n for _, n in report.search])
    assert "ALS parameters searched" in str(report)


def test_every_customer_and_open_lead_gets_k_products_never_one_they_hold(recommended):
    lh, report = recommended
    recs = lh.read(TABLE).persist()
    held = (lh.read("bronze.orders").groupBy("customer_id", "product_id").agg(F.sum(F.signum("quantity")).alias("n"))
            .where("n > 0 and product_id not in ('P007', 'P008', 'P011')"))
    clash = recs.join(held.withColumnRenamed("customer_id", "user_id"), ["user_id", "product_id"])
    assert clash.count() == 0
    # k products each, or every product left when someone already holds all but a few.
    left = lh.read("bronze.products").count() - F.coalesce(F.col("held"), F.lit(0))
    holdings = held.groupBy(F.col("customer_id").alias("user_id")).agg(F.count(F.lit(1)).alias("held"))
    per_user = recs.groupBy("user_kind", "user_id").agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct("product_id").alias("distinct")).join(holdings, "user_id", "left")
    assert per_user.where((F.col("n") != F.least(F.lit(K), left)) | (F.col("distinct") != F.col("n"))).count() == 0
    assert per_user.where("n = 10").count() > 0.9 * per_user.count()
    assert per_user.where("user_kind = 'customer'").count() == lh.read("bronze.customers").count()
    open_leads = lh.read("bronze.conversions").where("outcome = 'open'").count()
    assert per_user.where("user_kind = 'lead'").count() == open_leads == report.leads
    assert {r.source for r in recs.select("source").distinct().collect()} <= {"als", "content", "popularity"}
    assert recs.where("user_kind = 'lead' and source = 'als'").count() == 0  # leads bought nothing
    recs.unpersist()


def test_rerunning_recommend_changes_nothing(recommended):
    lh, _ = recommended
    cols = ["user_kind", "user_id", "rank", "product_id", "source", "model_version"]
    before = {tuple(r) for r in lh.read(TABLE).select(*cols, F.round("score", 4)).collect()}
    recommend_products(lh, encoder_spec(lh.conf))
    after = {tuple(r) for r in lh.read(TABLE).select(*cols, F.round("score", 4)).collect()}
    assert after == before and len(after) == lh.read(TABLE).count()


def test_a_customer_with_no_purchases_gets_the_product_they_wrote_about(spark):
    spec = encoder_spec(_conf())
    products = spark.createDataFrame(products_frame())
    items = embed(products.select(F.col("product_id").alias("item"),
                                  F.concat_ws(". ", "name", "description").alias("text")), spec=spec)
    wrote = spark.createDataFrame([
        ("new-1", "Can your app work offline on mobile? Our sales team visits customers in rural areas."),
        ("new-2", "Our auditors want single sign-on and two-factor login for every user."),
    ], "user string, text string")
    users = embed(wrote, spec=spec)
    recs = recommend_by_content(users.select("user", F.col("embedding").alias("vector")),
                                items.select("item", F.col("embedding").alias("vector")), 3)
    top = {r.user: r.item for r in recs.where("rank = 1").collect()}
    assert top["new-1"] == "P015"  # Mobile Field Pack
    names = dict(zip(products_frame().product_id, products_frame().category, strict=True))
    assert names[top["new-2"]] == "security"
    assert recs.count() == 6


def test_the_library_evaluates_and_recommends_on_any_dataframe(spark):
    rows, day = [], dt.datetime(2025, 1, 1)
    # Two tastes: users 0-39 buy a*, users 40-79 buy b*; everyone buys the popular "x".
    for u in range(80):
        mine = [f"a{i}" for i in range(6)] if u < 40 else [f"b{i}" for i in range(6)]
        picks = ["x", *[mine[(u + j) % 6] for j in range(5)]]
        rows += [(f"u{u}", item, day + dt.timedelta(days=7 * j + u % 5)) for j, item in enumerate(picks)]
    orders = spark.createDataFrame(rows, "customer string, product string, bought timestamp")
    metrics = evaluate_recommenders(orders, "customer", "product", "bought", k=3)
    assert set(metrics) == {"als", "popularity"}
    assert set(metrics["als"]) >= {"precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"}
    assert metrics["als"]["ndcg_at_k"] > metrics["popularity"]["ndcg_at_k"]
    model = fit_als(orders, "customer", "product")
    recs = recommend(model, spark.createDataFrame([("u1",), ("u41",), ("stranger",)], "id string"), k=2)
    got = {r.user: r.item for r in recs.where("rank = 1").collect()}
    assert set(got) == {"u1", "u41"}  # ALS knows nothing of a stranger: content or popularity serves them
    assert got["u1"][0] in "ax" and got["u41"][0] in "bx"


def test_refunds_take_interest_away_and_the_holdout_is_by_time(spark):
    cols = InteractionColumns("orders", "customer_id", "product_id", "ts", None, "amount")
    d = dt.datetime
    raw = spark.createDataFrame([
        ("c1", "P1", d(2025, 1, 1), 10.0), ("c1", "P1", d(2025, 1, 5), -10.0), ("c1", "P2", d(2025, 2, 1), 5.0),
        (None, "P3", d(2025, 1, 1), 3.0), *[("c2", f"P{i}", d(2025, 1, i + 1), 1.0) for i in range(10)],
    ], "customer_id string, product_id string, ts timestamp, amount double")
    ev = events(raw, cols)
    held = {(r.user, r.item) for r in interest(ev, 180).collect()}
    assert ("c1", "P1") not in held and ("c1", "P2") in held  # bought and returned: no interest
    train, test = time_split(ev, 0.2, 5)
    assert {r.item for r in test.collect()} == {"P8", "P9"}  # c2's last 20%; c1 has too few purchases
    assert train.where("user = 'c2'").agg(F.max("ts")).first()[0] < d(2025, 1, 9)
    split = SplitData.build(ev, _holdout(), 180, [])
    assert split.users.count() == 1
    split.release()
    with pytest.raises(ValueError, match="nothing to evaluate"):
        empty = SplitData.build(ev.where("user = 'c1'"), _holdout(), 180, [])
        evaluate_split(empty, _als(), 3)


def _conf():
    from leadlake.config import load_conf

    return load_conf()


def _holdout():
    from leadlake.reco.evaluation import Holdout

    return Holdout(0.2, 5)


def _als():
    from leadlake.reco.models import AlsParams

    return AlsParams(4, 1.0, 10.0, 5, 7)


def test_the_parameter_search_tries_every_grid_point_on_the_training_period_only(spark):
    from leadlake.reco.evaluation import search_als

    rows, day = [], dt.datetime(2025, 1, 1)
    for u in range(60):
        mine = [f"a{i}" for i in range(6)] if u < 30 else [f"b{i}" for i in range(6)]
        rows += [(f"u{u}", item, day + dt.timedelta(days=7 * j)) for j, item in
                 enumerate(["x", *[mine[(u + j) % 6] for j in range(6)]])]
    ev = events(spark.createDataFrame(rows, "customer_id string, product_id string, ts timestamp"),
                InteractionColumns("orders", "customer_id", "product_id", "ts"))
    train, _ = time_split(ev, 0.2, 5)
    best, tried = search_als(train, _holdout(), 180, [], _als(), {"rank": [2, 4], "reg_param": [0.1, 1.0]}, 3)
    assert len(tried) == 4 and {tuple(sorted(p.items())) for p, _ in tried} == {
        (("rank", r), ("reg_param", g)) for r in (2, 4) for g in (0.1, 1.0)}
    top = max(tried, key=lambda t: t[1])
    assert (best.rank, best.reg_param) == (top[0]["rank"], top[0]["reg_param"]) and best.alpha == _als().alpha
    assert train.agg(F.max("ts")).first()[0] < ev.agg(F.max("ts")).first()[0]  # the holdout never reaches it
