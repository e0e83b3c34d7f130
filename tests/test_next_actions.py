"""Next best actions: who gets one, which rule decides, why in a sentence, and a grounded draft."""

from __future__ import annotations

import logging

import pytest

from leadlake.generate.next_actions import TABLE, next_actions
from leadlake.lakehouse import Lakehouse

from .conftest import make_conf
from .test_generate import ChatServer
from .test_privacy import file_texts


def _tables(lh: Lakehouse) -> None:
    spark = lh.spark
    lh.write(spark.createDataFrame([
        ("L1", "high", 91, ["what they wrote (+1.99)", "seniority=vp (+0.47)"], False),
        ("L2", "mid", 55, ["visits to pricing (+0.30)"], False),
        ("L3", "mid", 52, [], False),
        ("L4", "mid", 50, [], True),
        ("L5", "low", 10, [], False),
        ("L6", "high", 88, [], False),
        ("L7", "mid", 49, [], False),
    ], "lead_id string, tier string, score int, top_reasons array<string>, is_junk boolean"), "gold.lead_scores")
    lh.write(spark.createDataFrame([("L6", "won")], "lead_id string, outcome string"), "bronze.conversions")
    lh.write(spark.createDataFrame(
        [(f"L{i}", f"Name{i}", f"Company {i}") for i in range(1, 12)], "lead_id string, first_name string, "
        "company string"), "bronze.leads")
    lh.write(spark.createDataFrame([("W1", "L2", "pricing")], "event_id string, lead_id string, page string"),
             "bronze.web_events")
    lh.write(spark.createDataFrame([("M1", "L3", "support"), ("M2", "L3", "support"), ("M3", "L1", "sales_lead")],
                                   "message_id string, lead_id string, message_class string"), "gold.discovered_leads")
    lh.write(spark.createDataFrame([
        ("C1", "at_risk", "high", 1200.0), ("C2", "champions", "low", 5400.0), ("C3", "occasional", "medium", 300.0),
        ("C4", "occasional", "low", 150.0),
    ], "customer_id string, value_segment string, churn_risk string, clv_12m double"), "gold.customer_clv")
    lh.write(spark.createDataFrame([("C3", "pricing", 2, 30.0, "invoice · charged · twice"),
                                    ("C2", "user_experience", 0, 10.0, "dashboard · fast")],
                                   "customer_id string, need_category string, negative_mentions int, "
                                   "need_priority double, latest_topic string"), "gold.customer_needs")
    lh.write(spark.createDataFrame([("customer", "C2", "P015", 1), ("customer", "C2", "P001", 2)],
                                   "user_kind string, user_id string, product_id string, rank int"),
             "gold.recommendations")
    lh.write(spark.createDataFrame([("P015", "Mobile Field Pack"), ("P001", "Pipeline Insights")],
                                   "product_id string, name string"), "bronze.products")
    lh.write(spark.createDataFrame([(f"C{i}", f"L{i + 7}") for i in range(1, 5)],
                                   "customer_id string, lead_id string"), "bronze.customers")


@pytest.fixture(scope="module")
def planned(spark, tmp_path_factory):
    lh = Lakehouse(spark, make_conf(tmp_path_factory.mktemp("nba") / "lh"))
    _tables(lh)
    return lh, next_actions(lh)


def test_each_rule_picks_its_action_and_nobody_else_gets_one(planned):
    lh, report = planned
    rows = {r.person_id: r for r in lh.read(TABLE).collect()}
    assert {k: (r.action, r.channel, r.owner_role) for k, r in rows.items()} == {
        "L1": ("call now", "phone", "account executive"),
        "L2": ("send pricing", "email", "sales development rep"),
        "L3": ("hand over to support", "email", "support agent"),
        "L7": ("book a demo", "email", "sales development rep"),  # no text, no visits: still an action
        "C1": ("retention offer", "phone", "account manager"),
        "C2": ("upsell", "email", "account manager"),
        "C3": ("resolve their complaint", "phone", "customer success"),
    }  # L4 junk, L5 low tier, L6 already won, C4 neither at risk, valuable nor unhappy: none
    assert report.leads == 4 and report.customers == 3
    assert rows["C2"].product_id == "P015"


def test_why_is_one_sentence_and_the_draft_uses_only_the_facts(planned):
    lh, _ = planned
    rows = {r.person_id: r for r in lh.read(TABLE).collect()}
    assert rows["L1"].why == "High-tier lead, score 91: what they wrote, seniority=vp."
    assert rows["C3"].why == ("Occasional customer, churn risk medium, expected 12-month value 300; raised a "
                              "complaint about pricing.")
    assert rows["C2"].draft == ("Hi Name9, teams like Company 9 get a lot from Mobile Field Pack. Would you like "
                                "to hear how?")
    assert rows["C3"].draft.startswith("Hi Name10, I saw your note about pricing")
    assert all(r.generator == "template" and r.grounded for r in rows.values())


def test_rerunning_changes_nothing_and_an_endpoint_writes_grounded_drafts(planned, spark, tmp_path, monkeypatch,
                                                                         caplog):
    lh, _ = planned
    cols = ["person_kind", "person_id", "action", "why", "draft"]
    before = {tuple(r) for r in lh.read(TABLE).select(*cols).collect()}
    next_actions(lh)
    assert {tuple(r) for r in lh.read(TABLE).select(*cols).collect()} == before

    server = ChatServer()
    secret = "sk-fake-0123456789abcdef"  # the endpoint's key comes from the environment, and goes nowhere else
    monkeypatch.setenv("LEADLAKE_TEST_LLM_KEY", secret)
    ours = logging.getLogger("leadlake")
    level = ours.level
    ours.addHandler(caplog.handler)
    ours.setLevel(logging.INFO)
    try:
        other = Lakehouse(spark, make_conf(tmp_path / "lh", generate={"generator": "openai", "openai": {
            "base_url": server.url, "model": "demo-llm", "timeout_s": 5, "max_retries": 0,
            "api_key_env": "LEADLAKE_TEST_LLM_KEY"}}))
        _tables(other)
        # The test server answers "Hello <first_name>, <product> fits your team." from the facts it was sent.
        report = next_actions(other)
        rows = {r.person_id: r for r in other.read(TABLE).collect()}
        assert server.count() == 7 and "7 written now" in report.generation
        assert rows["C2"].generator == "openai" and rows["C2"].grounded
        assert rows["C2"].draft == "Hello Name9, Mobile Field Pack fits your team."
        assert other.read("silver.generations").count() == 7
        sent = " ".join(str(r["body"]) for r in server.requests)
        assert "retention offer" in sent and "Company 9" in sent  # the facts, and only them, went out
        assert {r["auth"] for r in server.requests} == {f"Bearer {secret}"}
        files = list(file_texts(tmp_path / "lh"))
        assert len(files) > 10 and not [path for path, text in files if secret in text]
        assert "generator" in caplog.text and secret not in caplog.text + str(report) + repr(other.conf)
    finally:
        ours.removeHandler(caplog.handler)
        ours.setLevel(level)
        server.httpd.shutdown()


def test_a_lakehouse_without_scores_is_told_what_to_run(spark, tmp_path):
    from leadlake.errors import ConfError

    with pytest.raises(ConfError, match="run score-leads or score-clv first"):
        next_actions(Lakehouse(spark, make_conf(tmp_path / "empty")))


def test_a_rule_on_an_unknown_column_is_refused_by_name(planned):
    from leadlake.errors import ConfError

    lh, _ = planned
    bad = lh.with_conf(lh.conf.with_overrides({"next_actions": {"lead_rules": [
        {"when": {"budget_min": 5}, "action": "x", "channel": "y", "owner": "z"}]}}))
    with pytest.raises(ConfError, match="'budget_min' names no known column"):
        next_actions(bad)
