"""Lead features, the conversion model, MLflow champion / challenger, and gold.lead_scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import build_lead_features, email_type, seniority
from leadlake.leads.scoring import SCORES_TABLE, score_leads
from leadlake.leads.training import train_leads
from leadlake.ml import tracking
from leadlake.ml.champion import load_champion

from .conftest import FAST_MODELS, make_conf


def test_seniority_and_email_type(spark):
    rows = [("VP of Sales", "ana@acme.io"), ("Founder & CEO", "bo@gmail.com"), ("sales intern", "x@mailinator.com"),
            ("Head of RevOps", "test@test.com"), ("asdf", "not-an-email"), (None, None), ("Data Analyst", "")]
    df = spark.createDataFrame(rows, "title string, email string")
    got = df.select(seniority(F.col("title")).alias("s"),
                    email_type(F.col("email"), ["gmail.com"], ["mailinator.com"]).alias("e")).collect()
    assert [r.s for r in got] == ["vp", "c_level", "student", "director", "unknown", "unknown", "individual"]
    assert [r.e for r in got] == ["corporate", "free", "disposable", "invalid", "invalid", "missing", "missing"]


def test_reason_values_read_as_numbers_not_as_phone_numbers():
    import re

    from leadlake.leads.reasons import readable_value
    from leadlake.text.pii import PHONE

    shown = [readable_value(v) for v in (0.333333, 120.0, 40_000_000.0, 0.000123, -0.5, 1 / 7, 3.0)]
    assert shown == ["0.333", "120", "40,000,000", "1.2e-04", "-0.5", "0.143", "3"]
    assert not any(re.search(PHONE, f"x={s}") for s in shown)
    assert re.search(PHONE, "x=0.333333")  # what the old format printed, and why it changed


def test_a_value_summed_in_another_order_reads_the_same():
    """Durations summed over partitions in another order differ in the last bits; at a half (238.5 seconds) the
    unit printed flipped between runs, and a rerun wrote other reasons than the run before it."""
    from leadlake.leads.reasons import readable_value

    parts = [0.1] * 5 + [238.0]
    forward, backward = sum(parts), sum(reversed(parts))
    assert forward != backward  # the float sums do differ
    assert readable_value(forward) == readable_value(backward)
    assert readable_value(238.49999999999997) == readable_value(238.50000000000003) == "238"
    assert readable_value(0.33349999999999996) == readable_value(0.33350000000000002)


def test_behaviour_counts_only_inside_the_window(spark, tmp_path):
    lh = Lakehouse(spark, make_conf(tmp_path))
    t0 = dt.datetime(2025, 1, 1)
    lh.write(spark.createDataFrame([("L1", t0, "web form", "software", "US", "EMEA", "unknown", 50, "CTO",
                                     "a@acme.io", "Acme", "Ann", None)],
                                   "lead_id string, created_at timestamp, source string, industry string, "
                                   "country string, crm_territory string, crm_budget_band string, company_size int, "
                                   "job_title string, email string, company string, first_name string, phone string"),
             "bronze.leads")
    lh.write(spark.createDataFrame([("L1", "won")], "lead_id string, outcome string"), "bronze.conversions")
    events = [("E1", "L1", t0 + dt.timedelta(days=2), "pricing", 30.0),
              ("E2", "L1", t0 + dt.timedelta(days=45), "pricing", 30.0),
              ("E3", "L1", t0 - dt.timedelta(days=1), "demo_request", 30.0)]
    lh.write(spark.createDataFrame(events, "event_id string, lead_id string, ts timestamp, page string, "
                                           "duration_s double"), "bronze.web_events")
    row = build_lead_features(lh).first()
    assert row.web_visits == 1 and row.web_pricing == 1 and row.web_demo_request == 0
    assert row.label == 1.0 and row.seniority == "c_level" and "msg_count" not in row.asDict()


@pytest.fixture(scope="module")
def trained(demo_copy):
    return demo_copy, train_leads(demo_copy)


def test_model_reads_text_and_is_calibrated(trained):
    _, report = trained
    m, plain = report.metrics, report.without_text
    print(f"\nvalidation ROC-AUC with text {m['roc_auc']:.4f}, without {plain['roc_auc']:.4f}; "
          f"top-decile lift {m['top_decile_lift']:.2f}; ECE {m['ece']:.4f}; true probabilities "
          f"{report.oracle_auc:.4f}, learnable lift captured {report.learnable_lift:.3f}")
    assert m["roc_auc"] > 0.7 and m["top_decile_lift"] > 2.0
    assert m["roc_auc"] > plain["roc_auc"]
    assert m["ece"] < 0.08
    assert report.promoted and report.champion_auc is None
    assert report.prior_rate_by == "source" and 0.45 < report.prior_rate_auc < m["roc_auc"] - 0.05
    # The demo knows each lead's true probability: the best ROC-AUC on these validation leads.
    assert m["roc_auc"] - 0.03 < report.oracle_auc < 1.0
    assert report.learnable_lift == pytest.approx((m["roc_auc"] - 0.5) / (report.oracle_auc - 0.5))
    assert f"captures {100 * report.learnable_lift:.1f}% of the learnable lift" in str(report)


def test_retrain_is_compared_with_the_champion(trained):
    lh, first = trained
    second = train_leads(lh)
    assert second.champion_auc == pytest.approx(first.metrics["roc_auc"], abs=1e-9)
    # Same data, same seed: the same model, which must not replace the champion on a tie.
    assert second.metrics["roc_auc"] == pytest.approx(first.metrics["roc_auc"], abs=1e-9)
    assert not second.promoted


def test_a_champion_is_read_once_per_version_and_a_new_champion_is_served_at_once(trained):
    import mlflow

    lh, _ = trained
    first = load_champion(lh.conf, "leads", "train-leads")
    again = load_champion(lh.conf, "leads", "train-leads")
    assert again.model is first.model and again.version == first.version  # read once, reused
    name = tracking.registered_name(lh.conf, "leads")
    client = mlflow.MlflowClient()
    held = client.get_model_version(name, first.version)
    newer = client.create_model_version(name, held.source, held.run_id)  # what a retrain that wins registers
    client.set_registered_model_alias(name, tracking.CHAMPION, newer.version)
    try:
        served = load_champion(lh.conf, "leads", "train-leads")
        assert served.version == str(newer.version) != first.version and served.model is not first.model
    finally:
        client.set_registered_model_alias(name, tracking.CHAMPION, first.version)
    assert load_champion(lh.conf, "leads", "train-leads").model is first.model


@pytest.fixture(scope="module")
def scored(trained):
    lh, _ = trained
    report = score_leads(lh)
    return lh, report


def test_scores_tiers_and_ranks(scored):
    lh, report = scored
    n = lh.row_count("bronze.leads")
    scores = lh.read(SCORES_TABLE)
    assert report.scored == n == scores.count() == scores.select("lead_id").distinct().count()
    stats = scores.agg(F.min("score"), F.max("score"), F.min("rank"), F.max("rank"),
                       F.countDistinct("rank")).first()
    assert 0 <= stats[0] <= stats[1] <= 100 and (stats[2], stats[3], stats[4]) == (1, n, n)
    segments = {r.segment: r.segment_description for r in scores.select("segment", "segment_description")
                .distinct().collect()}
    print("\nsegments:", segments)
    assert set(segments) == set(range(5)) and all(segments.values())
    outcomes = lh.read("bronze.conversions").where(F.col("outcome") != "open") \
        .select("lead_id", (F.col("outcome") == "won").cast("double").alias("won"))
    rates = {r.tier: r.rate for r in scores.join(outcomes, "lead_id").groupBy("tier")
             .agg(F.avg("won").alias("rate")).collect()}
    print("\nrealised conversion by tier:", rates)
    assert rates["high"] > rates["mid"] > rates["low"]


def test_rescoring_never_duplicates(scored):
    lh, _ = scored
    before = {r.lead_id: r.p_convert for r in lh.read(SCORES_TABLE).collect()}
    again = score_leads(lh, only_new=True)
    assert again.scored == 0 and again.total == len(before)
    score_leads(lh)
    after = {r.lead_id: r.p_convert for r in lh.read(SCORES_TABLE).collect()}
    assert after == before


def test_junk_flags_match_the_hidden_truth(scored):
    lh, _ = scored
    truth = lh.read("eval.lead_truth").select("lead_id", "is_junk").withColumnRenamed("is_junk", "truth")
    got = lh.read(SCORES_TABLE).join(truth, "lead_id").agg(
        F.sum((F.col("is_junk") & F.col("truth")).cast("int")).alias("tp"),
        F.sum(F.col("is_junk").cast("int")).alias("flagged"), F.sum(F.col("truth").cast("int")).alias("junk")).first()
    precision, recall = got.tp / max(got.flagged, 1), got.tp / max(got.junk, 1)
    print(f"\njunk: precision {precision:.2f}, recall {recall:.2f} ({got.junk} junk leads)")
    assert precision > 0.8 and recall > 0.7


def test_outliers_are_a_weak_junk_sign(scored, spark):
    """~1% of leads lie beyond their segment's cut-off; an outlier with one more weak sign is junk, without it not."""
    from leadlake.leads.model import prepared_features
    from leadlake.leads.scoring import load_segments
    from leadlake.leads.segments import assign_segments

    lh, _ = scored
    champion = load_champion(lh.conf, "leads", "train-leads")
    model, run_id = champion.model, champion.run_id
    segments = load_segments(run_id, lh.conf)
    assert segments is not None and set(segments.outlier_distance) == set(segments.descriptions)
    out = assign_segments(prepared_features(model, build_lead_features(lh)), segments)
    share = out.agg(F.avg((F.col("outlier_score") > 1).cast("double"))).first()[0]
    assert 0.002 <= share <= 0.03
    t = dt.datetime(2025, 12, 1)
    leads = spark.createDataFrame(
        [(name, t, "web form", "software", "US", "EMEA", "10k-50k", size, "Head of Sales", f"{name}@acme-corp.io",
          "Acme Corp", "Dana", "000-0000")
         for name, size in (("ODD1", 40_000_000), ("USUAL1", 120))],
        "lead_id string, created_at timestamp, source string, industry string, country string, "
        "crm_territory string, crm_budget_band string, company_size int, job_title string, email string, "
        "company string, first_name string, phone string")
    score_leads(lh.with_conf(make_conf(lh.conf.lakehouse, **FAST_MODELS)), leads=leads)
    got = {r.lead_id: r for r in lh.read(SCORES_TABLE).where(F.col("lead_id").isin("ODD1", "USUAL1")).collect()}
    # A made-up phone alone (0.5) is not junk; with the outlier sign (0.3): 1 - 0.5 * 0.7 = 0.65 is.
    assert got["USUAL1"].junk_score == pytest.approx(0.5) and not got["USUAL1"].is_junk
    assert got["ODD1"].junk_score == pytest.approx(0.65) and got["ODD1"].is_junk


def test_reasons_add_up_to_the_model_margin_and_point_the_right_way(scored):
    """The default trainer's reasons (TreeSHAP where xgboost is installed) plus the bias are the model's margin."""
    from leadlake.leads.model import tree_stage
    from leadlake.leads.reasons import margin_contributions

    lh, _ = scored
    model = load_champion(lh.conf, "leads", "train-leads").model
    trees = tree_stage(model)
    rows = model.transform(build_lead_features(lh).limit(50)).select(
        vector_to_array("features").alias("x"), vector_to_array("rawPrediction").alias("raw")).collect()
    x = np.array([r.x for r in rows])
    margin = np.array([r.raw[1] for r in rows])
    contrib = margin_contributions(trees)(x)
    # What is left after the credits is the same for every lead: the bias (log-odds, doubled for Spark's GBT).
    scale = 2.0 if type(trees).__name__ == "GBTClassificationModel" else 1.0
    rest = scale * margin - contrib.sum(axis=1)
    np.testing.assert_allclose(rest, rest[0], atol=1e-4)
    assert np.abs(contrib).sum(axis=1).min() > 0
    reasons = [r for row in lh.read(SCORES_TABLE, columns=["top_reasons"]).collect() for r in row.top_reasons]
    invalid = [r for r in reasons if r.startswith(("email_type=invalid", "junk_invalid_email=1"))]
    assert invalid and all("(-" in r for r in invalid)


def test_leads_with_missing_fields_still_get_a_score(scored, spark):
    lh, _ = scored
    blank = spark.createDataFrame(
        [("NEW1", dt.datetime(2025, 12, 1), None, None, None, None, None, None, None, None, None, None, None)],
        "lead_id string, created_at timestamp, source string, industry string, country string, "
        "crm_territory string, crm_budget_band string, company_size int, job_title string, email string, "
        "company string, first_name string, phone string")
    report = score_leads(lh.with_conf(make_conf(lh.conf.lakehouse, **FAST_MODELS)), leads=blank)
    row = lh.read(SCORES_TABLE).where(F.col("lead_id") == "NEW1").first()
    assert report.scored == 1 and 0 <= row.p_convert <= 1 and row.tier in ("high", "mid", "low")


def test_feedback_moves_thresholds_when_outcomes_say_so(spark, tmp_path):
    from leadlake.leads.feedback import PSI_BINS, run_feedback, score_histogram
    from leadlake.leads.scoring import THRESHOLDS_TABLE

    lh = Lakehouse(spark, make_conf(tmp_path))
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 4000)
    won = rng.uniform(0, 1, 4000) < p ** 2  # the model is over-confident below the top
    ids = [f"L{i:05d}" for i in range(len(p))]
    tier = np.where(p >= 0.5, "high", np.where(p >= 0.15, "mid", "low"))
    lh.write(spark.createDataFrame(list(zip(ids, p.tolist(), tier.tolist(), strict=True)),
                                   "lead_id string, p_convert double, tier string"), SCORES_TABLE)
    lh.write(spark.createDataFrame([(i, "won" if w else "lost") for i, w in zip(ids, won, strict=True)],
                                   "lead_id string, outcome string"), "bronze.conversions")
    lh = lh.with_conf(make_conf(tmp_path, leads={"feedback": {"high_precision": 0.5, "mid_precision": 0.35}}))
    same = score_histogram(lh.read(SCORES_TABLE))
    first = run_feedback(lh, same)
    print("\n", first)
    # Leads at or above t convert at (1 + t + t^2) / 3: 0.5 from t = 0.366, 0.35 from t = 0.
    assert first.changed and first.version == 1
    assert first.new[0] == pytest.approx(0.366, abs=0.05) and first.new[1] < first.new[0]
    assert first.psi == pytest.approx(0.0, abs=1e-9) and not first.retrain
    again = run_feedback(lh, same)
    assert not again.changed and again.version == 1 and lh.row_count(THRESHOLDS_TABLE) == 1
    # Trained when most leads scored low; today's scores are spread evenly: drift.
    trained_on = same.sum() * np.array([0.5, 0.3, 0.1, 0.05, 0.05] + [0.0] * (PSI_BINS - 5))
    drifted = run_feedback(lh, trained_on)
    assert drifted.psi > 0.2 and drifted.retrain


def _own_crm(spark, tmp_path, categorical=("channel", "plan_interest"), **model) -> Lakehouse:
    """A CRM with other column names, the outcome inside the leads table, no web or text data: conf only."""
    rng = np.random.default_rng(5)
    n = 800
    plan = rng.choice(["free", "team", "enterprise"], n, p=[0.5, 0.35, 0.15])
    employees = rng.lognormal(4, 1.2, n).round()
    logit = -2.2 + 1.4 * (plan == "team") + 2.6 * (plan == "enterprise") + 0.3 * np.log(employees)
    converted = rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit + 1.2))
    start = dt.datetime(2025, 1, 1)
    rows = [(f"acct-{i}", start + dt.timedelta(hours=6 * i), str(rng.choice(["ads", "seo", "partner"])),
             str(plan[i]), float(employees[i]), "yes" if converted[i] else "no") for i in range(n)]
    lh = Lakehouse(spark, make_conf(tmp_path))
    lh.write(spark.createDataFrame(rows, "id string, signup_time timestamp, channel string, plan_interest string, "
                                         "employees double, converted string"), "bronze.my_leads")
    mine = {"leads": {
        "table": "bronze.my_leads", "id": "id", "created_at": "signup_time",
        "outcome": {"table": None, "column": "converted", "positive": ["yes"], "negative": ["no"]},
        "categorical": list(categorical), "numeric": ["employees"],
        "job_title": None, "email": None, "company": None, "first_name": None, "phone": None,
        "web_events": {"table": None}, "interactions": {"table": None}, "text_pca_k": 0,
        "model": {"max_iter": 20, "max_depth": 3, **model},
    }}
    return lh.with_conf(make_conf(tmp_path, **mine))


@pytest.mark.parametrize("trainer", ["gbt", "xgboost"])
def test_bring_your_own_crm_through_conf_alone_with_each_trainer(spark, tmp_path, trainer):
    """Other column names, conf only. Each trainer fits, calibrates, registers and scores the same way;
    reasons plus bias are its margin
    (path attributions through the trees logged beside a Spark GBT, which a Connect client reads; TreeSHAP
    for xgboost) and point the way the data was made."""
    import json

    from leadlake.leads.model import tree_stage
    from leadlake.leads.reasons import contributions, read_trees, trees_document, trees_from_document

    if trainer == "xgboost":
        pytest.importorskip("xgboost", reason="xgboost not installed (pip install 'leadlake[xgboost]')")
    lh = _own_crm(spark, tmp_path, trainer=trainer)
    report = train_leads(lh)
    print(f"\nown CRM, {trainer}: validation ROC-AUC {report.metrics['roc_auc']:.3f}, "
          f"ECE {report.metrics['ece']:.3f}")
    assert report.metrics["roc_auc"] > 0.65 and report.promoted and report.metrics["ece"] < 0.1
    assert report.oracle_auc is None and "learnable lift" not in str(report), "no true probabilities here"
    scored = score_leads(lh)
    assert scored.scored == lh.row_count("bronze.my_leads") == lh.row_count(SCORES_TABLE)
    top = lh.read(SCORES_TABLE).orderBy("rank").first()
    assert any(r.startswith(("plan_interest=", "employees=")) for r in top.top_reasons)
    model = load_champion(lh.conf, "leads", "train-leads").model
    trees = tree_stage(model)
    rows = model.transform(build_lead_features(lh).limit(40)).select(
        vector_to_array("features").alias("x"), vector_to_array("rawPrediction").alias("raw")).collect()
    x = np.array([r.x for r in rows])
    margin = np.array([r.raw[1] for r in rows])
    if trainer == "gbt":
        assert type(trees).__name__ == "GBTClassificationModel"
        trees_read, weights = read_trees(trees)
        contrib, bias = contributions(x, trees_read, weights)
        np.testing.assert_allclose(bias + contrib.sum(axis=1), margin, atol=1e-6)
        logged_trees, logged_weights = trees_from_document(json.loads(json.dumps(trees_document(trees))))
        logged, logged_bias = contributions(x, logged_trees, logged_weights)
        np.testing.assert_array_equal(logged, contrib)
        assert logged_bias == bias
    else:
        import xgboost

        from leadlake.leads.reasons import margin_contributions

        assert type(trees).__name__ == "BoostedTreesModel"
        bias = trees.get_booster().predict(xgboost.DMatrix(x, missing=np.nan), pred_contribs=True)[:, -1]
        np.testing.assert_allclose(bias + margin_contributions(trees)(x).sum(axis=1), margin, rtol=1e-4, atol=1e-4)
    reasons = lh.read(SCORES_TABLE).where(F.col("tier") != "low").select("top_reasons").collect()
    enterprise = [r for row in reasons for r in row.top_reasons if r.startswith("plan_interest=enterprise")]
    assert enterprise and all("(+" in r for r in enterprise)


def test_a_lead_model_that_loses_to_the_prior_rate_is_not_promoted(spark, tmp_path):
    """Constructed: one depth-1 tree splits the plans in two; the plan's past conversion rate ranks three ways."""
    lh = _own_crm(spark, tmp_path, categorical=("plan_interest", "channel"), max_iter=1, max_depth=1)
    report = train_leads(lh)
    print("\n", report)
    assert report.prior_rate_by == "plan_interest" and "baseline, conversion rate by plan_interest" in str(report)
    assert report.metrics["roc_auc"] < report.prior_rate_auc and not report.promoted
    assert tracking.champion_version(lh.conf.get("leads.mlflow.registered_model")) is None


def test_unknown_trainer_is_a_conf_error(spark, tmp_path):
    from leadlake.errors import ConfError

    lh = _own_crm(spark, tmp_path, trainer="lightgbm")
    with pytest.raises(ConfError, match=r"leads\.model\.trainer must be one of auto, gbt, xgboost"):
        train_leads(lh)
